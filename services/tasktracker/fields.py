"""Field types shared by several domains' schemas."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

MAX_LABELS = 20
MAX_LABEL_LENGTH = 50
# Row ids are INTEGER columns: 32-bit on PostgreSQL. A larger id can name no row, and binding it
# fails in the driver (a 500), so requests are checked against this bound instead.
MAX_ID = 2**31 - 1


def clean_labels(value: list[str]) -> list[str]:
    """Trimmed, non-empty, at most 50 characters each, duplicates dropped (first order kept)."""
    seen: dict[str, None] = {}
    for label in value:
        label = label.strip()
        if not label:
            raise ValueError("labels must not be empty strings")
        if len(label) > MAX_LABEL_LENGTH:
            raise ValueError(f"a label is at most {MAX_LABEL_LENGTH} characters")
        seen.setdefault(label, None)
    return list(seen)


Labels = Annotated[list[str], Field(max_length=MAX_LABELS), AfterValidator(clean_labels)]


def _blank_is_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


# An empty assignee means "nobody", stored as NULL, so the "unassigned" filter finds it.
Assignee = Annotated[str | None, Field(max_length=200), AfterValidator(_blank_is_none)]


def _number_as_text(value: object) -> object:
    """Senders often give message ids as numbers (`{"id": 42}`); they are stored as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _as_utc(value: datetime | None) -> datetime | None:
    """In UTC; a timestamp without an offset is taken as UTC. One whose UTC time falls outside
    years 1..9999 (`0001-01-01T00:00:00+14:00`) cannot be stored: a validation error, not a 500."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


ExternalId = Annotated[
    Annotated[str, Field(max_length=200)] | None,
    BeforeValidator(_number_as_text),
    # Documented as taken: a number, stored as its text.
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 200}, {"type": "integer"}, {"type": "null"}]}),
]
SentAt = Annotated[datetime | None, AfterValidator(_as_utc)]
