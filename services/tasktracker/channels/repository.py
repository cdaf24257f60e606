"""SQL for channels."""

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.db import insert_ignoring_conflicts, table_of, utcnow
from tasktracker.errors import Conflict
from tasktracker.models import Channel, Message, Task


async def get_by_name(session: AsyncSession, name: str) -> Channel | None:
    return (await session.execute(select(Channel).where(col(Channel.name) == name))).scalar_one_or_none()


async def get_or_create(
    session: AsyncSession, *, kind: str, name: str, external_id: str | None = None
) -> Channel:
    """Race-free get-or-create on the unique channel name."""
    channel = await get_by_name(session, name)
    if channel is not None:
        return channel
    values: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "external_id": external_id,
        "enabled": True,
        "settings": {},
    }
    stmt = insert_ignoring_conflicts(session.bind.dialect.name, table_of(Channel), values, ["name"])
    await session.execute(stmt)
    channel = await get_by_name(session, name)
    assert channel is not None
    return channel


async def list_all(session: AsyncSession) -> list[Channel]:
    return list((await session.execute(select(Channel).order_by(col(Channel.name)))).scalars())


async def by_ids(session: AsyncSession, ids: set[int]) -> dict[int, Channel]:
    if not ids:
        return {}
    rows = await session.execute(select(Channel).where(col(Channel.id).in_(ids)))
    return {channel.id: channel for channel in rows.scalars() if channel.id is not None}


# Channel rows keyed by the source's own id (Telegram chat, Slack channel) -------------------------------


async def get(session: AsyncSession, channel_id: int) -> Channel | None:
    return await session.get(Channel, channel_id)


async def get_by_external(session: AsyncSession, kind: str, external_id: str) -> Channel | None:
    stmt = select(Channel).where(col(Channel.kind) == kind, col(Channel.external_id) == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_or_create_external(
    session: AsyncSession, *, kind: str, external_id: str, name: str, settings: dict[str, Any] | None = None
) -> Channel:
    """Race-free get-or-create on (kind, external id). A name taken by another channel gets the id appended."""
    channel = await get_by_external(session, kind, external_id)
    if channel is not None:
        return channel
    for candidate in (name, f"{name} ({external_id})"[:200]):
        values = {
            "kind": kind,
            "name": candidate,
            "external_id": external_id,
            "enabled": True,
            "settings": settings or {},
            "created_at": utcnow(),
        }
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        await session.execute(dialect.insert(table_of(Channel)).values(**values).on_conflict_do_nothing())
        channel = await get_by_external(session, kind, external_id)
        if channel is not None:
            return channel
    raise Conflict(f"channel name {name!r} is taken by another channel", code="channel_name_taken")


async def add(session: AsyncSession, channel: Channel) -> Channel:
    session.add(channel)
    await session.flush()
    return channel


async def delete(session: AsyncSession, channel: Channel) -> None:
    await session.delete(channel)
    await session.flush()


async def count_messages(session: AsyncSession, channel_id: int) -> int:
    stmt = select(func.count()).select_from(Message).where(col(Message.channel_id) == channel_id)
    return int((await session.execute(stmt)).scalar_one())


async def move_content(session: AsyncSession, from_id: int, to_id: int) -> None:
    """Re-home one channel's messages and tasks on another (a Telegram group became a supergroup)."""
    await session.execute(update(Message).where(col(Message.channel_id) == from_id).values(channel_id=to_id))
    await session.execute(update(Task).where(col(Task.channel_id) == from_id).values(channel_id=to_id))


async def message_status_counts(session: AsyncSession, channel_id: int | None = None) -> dict[str, int]:
    stmt = select(col(Message.status), func.count()).group_by(col(Message.status))
    if channel_id is not None:
        stmt = stmt.where(col(Message.channel_id) == channel_id)
    return {str(status): int(n) for status, n in (await session.execute(stmt)).all()}
