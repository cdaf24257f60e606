"""Keyset (cursor) pagination over `(sort key, id)`: stable under inserts, O(limit) per page."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, SQLColumnExpression, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.errors import Invalid
from tasktracker.fields import MAX_ID

Row = TypeVar("Row")


@dataclass(frozen=True)
class SortSpec:
    key: SQLColumnExpression[Any]  # a column, `col(Model.field)`, or an expression such as CASE
    id: SQLColumnExpression[Any]
    descending: bool
    kind: str  # "datetime" | "int"


def encode_cursor(value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, row_id = json.loads(raw)
        if not isinstance(row_id, int) or not 0 < row_id <= MAX_ID:
            raise ValueError
        if kind == "datetime":
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:  # we write UTC offsets; a naive one cannot be bound (a 500)
                raise ValueError
            value = value.astimezone(UTC)  # OverflowError past year 1 or 9999
        elif not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_ID:
            raise ValueError
    except (ValueError, TypeError, OverflowError, json.JSONDecodeError):
        raise Invalid(
            "cursor is not valid; pass the next_cursor of a previous page", code="bad_cursor"
        ) from None
    return value, row_id


def after_cursor(spec: SortSpec, cursor: str) -> ColumnElement[bool]:
    """Rows past the cursor's (key, id), as one row-value comparison: an index on (key, id) starts the
    next page where the last one ended (`a < x OR (a = x AND b < y)` would read it from the start)."""
    value, row_id = decode_cursor(cursor, spec.kind)
    key_type = getattr(spec.key, "type", None)  # a column's or an expression's SQL type
    last = tuple_(literal(value, key_type), literal(row_id, Integer()))
    if spec.descending:
        return tuple_(spec.key, spec.id) < last
    return tuple_(spec.key, spec.id) > last


def order_by(spec: SortSpec) -> list[ColumnElement[Any]]:
    if spec.descending:
        return [spec.key.desc(), spec.id.desc()]
    return [spec.key.asc(), spec.id.asc()]


async def page(
    session: AsyncSession,
    stmt: Select[tuple[Row]],
    spec: SortSpec,
    limit: int,
    cursor: str | None,
    key_of: Callable[[Row], Any],
) -> tuple[list[Row], str | None]:
    """One page of `stmt`'s rows after `cursor`, and the cursor of the next page (None on the last).

    One row more than asked for is read: it tells whether a next page exists. `key_of` gives a row's
    sort key as the cursor stores it."""
    if cursor:
        stmt = stmt.where(after_cursor(spec, cursor))
    rows = list((await session.execute(stmt.order_by(*order_by(spec)).limit(limit + 1))).scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    row_id = getattr(last, "id", None)
    assert isinstance(row_id, int)  # a stored row
    return rows, encode_cursor(key_of(last), row_id)
