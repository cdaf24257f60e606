from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.db import insert_ignoring_conflicts
from tasktracker.models import Channel


async def get_by_name(session: AsyncSession, name: str) -> Channel | None:
    return (await session.execute(select(Channel).where(Channel.name == name))).scalar_one_or_none()


async def get_or_create(
    session: AsyncSession, *, kind: str, name: str, external_id: str | None = None
) -> Channel:
    """Race-free get-or-create on the unique channel name."""
    channel = await get_by_name(session, name)
    if channel is not None:
        return channel
    values = {"kind": kind, "name": name, "external_id": external_id, "enabled": True, "settings": {}}
    stmt = insert_ignoring_conflicts(session.bind.dialect.name, Channel.__table__, values, ["name"])  # type: ignore[union-attr]
    await session.execute(stmt)
    channel = await get_by_name(session, name)
    assert channel is not None
    return channel


async def list_all(session: AsyncSession) -> list[Channel]:
    return list((await session.execute(select(Channel).order_by(Channel.name))).scalars())


async def by_ids(session: AsyncSession, ids: set[int]) -> dict[int, Channel]:
    if not ids:
        return {}
    rows = await session.execute(select(Channel).where(Channel.id.in_(ids)))  # type: ignore[union-attr]
    return {channel.id: channel for channel in rows.scalars() if channel.id is not None}
