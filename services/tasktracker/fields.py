"""Field types shared by several domains' schemas."""

from typing import Annotated

from pydantic import AfterValidator, Field

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
