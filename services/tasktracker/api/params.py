"""Query parameters shared by list endpoints."""

from typing import Annotated

from fastapi import Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.channels import repository as channels
from tasktracker.fields import MAX_ID

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1..200).")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]
SearchQuery = Annotated[
    str | None, Query(max_length=200, description="Full-text search (all words must match).")
]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ChannelNames = Annotated[list[str], Query(description="Channel name or id; may repeat.")]


async def channel_ids(session: AsyncSession, names: list[str]) -> list[int] | None:
    """Resolve channel names or ids. None means: a named channel does not exist, so nothing matches."""
    if not names:
        return []
    by_name = {c.name: c.id for c in await channels.list_all(session) if c.id is not None}
    ids: list[int] = []
    for name in names:
        if name in by_name:
            ids.append(by_name[name])
        elif name.isascii() and name.isdigit() and len(name) <= 10 and 0 < int(name) <= MAX_ID:
            ids.append(int(name))
    return ids or None
