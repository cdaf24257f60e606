"""Query parameters shared by list endpoints."""

from typing import Annotated

from fastapi import Path, Query

from tasktracker.fields import MAX_ID

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1..200).")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]
SearchQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Search: every word (up to 8) must begin a word of the text, in any case (`check` finds "
        "'Checkout').",
    ),
]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ChannelNames = Annotated[list[str], Query(description="Channel name or id; may repeat.")]
