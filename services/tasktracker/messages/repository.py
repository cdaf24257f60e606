"""SQL for messages and their classification runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.db import contains_words, insert_ignoring_conflicts, utcnow
from tasktracker.models import Issue, Message, MessageStatus
from tasktracker.pagination import SortSpec, after_cursor, encode_cursor, order_by


@dataclass
class MessageFilters:
    status: Sequence[str] = ()
    category: Sequence[str] = ()
    channel_ids: Sequence[int] = ()
    task_id: int | None = None
    q: str | None = None


MESSAGE_SORT = SortSpec(key=Message.received_at, id=Message.id, descending=True, kind="datetime")  # type: ignore[arg-type]


async def insert(session: AsyncSession, values: dict[str, Any]) -> tuple[Message, bool]:
    """Insert unless (channel, external id) is known; return the stored row and whether it is new."""
    stmt = insert_ignoring_conflicts(
        session.bind.dialect.name,  # type: ignore[union-attr]
        Message.__table__,
        values,
        ["channel_id", "external_id"],
    )
    result = await session.execute(stmt)
    created = bool(result.rowcount)
    row = (
        await session.execute(
            select(Message).where(
                Message.channel_id == values["channel_id"], Message.external_id == values["external_id"]
            )
        )
    ).scalar_one()
    return row, created


async def get(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def list_page(
    session: AsyncSession, filters: MessageFilters, limit: int, cursor: str | None
) -> tuple[list[Message], str | None]:
    stmt = select(Message)
    if filters.status:
        stmt = stmt.where(Message.status.in_(filters.status))  # type: ignore[attr-defined]
    if filters.channel_ids:
        stmt = stmt.where(Message.channel_id.in_(filters.channel_ids))  # type: ignore[attr-defined]
    if filters.task_id is not None:
        stmt = stmt.where(Message.task_id == filters.task_id)
    if filters.q:
        stmt = stmt.where(contains_words(Message.content, filters.q))
    if filters.category:
        latest = _latest_issue_ids().subquery()
        stmt = stmt.where(
            Message.id.in_(  # type: ignore[union-attr]
                select(Issue.message_id).where(
                    Issue.id.in_(select(latest.c.id)),
                    Issue.category.in_(filters.category),  # type: ignore[union-attr,attr-defined]
                )
            )
        )
    if cursor:
        stmt = stmt.where(after_cursor(MESSAGE_SORT, cursor))
    stmt = stmt.order_by(*order_by(MESSAGE_SORT)).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.received_at, last.id)  # type: ignore[arg-type]
    return rows, next_cursor


def _latest_issue_ids() -> Any:
    return select(func.max(Issue.id).label("id")).group_by(Issue.message_id)


async def latest_issues(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, Issue]:
    if not message_ids:
        return {}
    ids = select(func.max(Issue.id)).where(Issue.message_id.in_(message_ids)).group_by(Issue.message_id)  # type: ignore[attr-defined]
    rows = await session.execute(select(Issue).where(Issue.id.in_(ids)))  # type: ignore[union-attr]
    return {issue.message_id: issue for issue in rows.scalars()}


async def issues_for(session: AsyncSession, message_ids: Sequence[int]) -> list[Issue]:
    if not message_ids:
        return []
    rows = await session.execute(
        select(Issue).where(Issue.message_id.in_(message_ids)).order_by(Issue.id)  # type: ignore[attr-defined]
    )
    return list(rows.scalars())


async def claim(session: AsyncSession, message_id: int) -> bool:
    """Mark a message as being classified unless it is done already. Returns False when there is nothing to do."""
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status != MessageStatus.classified)  # type: ignore[arg-type]
        .values(status=MessageStatus.classifying, attempts=Message.attempts + 1, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def finish(session: AsyncSession, message_id: int, task_id: int | None) -> bool:
    """Mark classified exactly once: the run that flips the status owns the side effects."""
    result = await session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status != MessageStatus.classified)  # type: ignore[arg-type]
        .values(status=MessageStatus.classified, task_id=task_id, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def set_status(session: AsyncSession, message_id: int, status: MessageStatus) -> None:
    await session.execute(
        update(Message).where(Message.id == message_id).values(status=status, updated_at=utcnow())  # type: ignore[arg-type]
    )


async def stuck(session: AsyncSession, older_than: datetime, limit: int = 500) -> list[int]:
    rows = await session.execute(
        select(Message.id)
        .where(
            Message.status.in_([MessageStatus.received, MessageStatus.classifying]),  # type: ignore[attr-defined]
            Message.updated_at < older_than,
        )
        .order_by(Message.updated_at)
        .limit(limit)
    )
    return [row for row in rows.scalars()]


async def touch(session: AsyncSession, message_ids: Sequence[int]) -> None:
    if message_ids:
        await session.execute(
            update(Message).where(Message.id.in_(message_ids)).values(updated_at=utcnow())  # type: ignore[attr-defined]
        )


async def attach_to_task(session: AsyncSession, message_ids: Sequence[int], task_id: int) -> None:
    if message_ids:
        await session.execute(
            update(Message).where(Message.id.in_(message_ids)).values(task_id=task_id)  # type: ignore[attr-defined]
        )


async def for_task(session: AsyncSession, task_id: int) -> list[Message]:
    rows = await session.execute(select(Message).where(Message.task_id == task_id).order_by(Message.id))
    return list(rows.scalars())


async def count_for_task(session: AsyncSession, task_id: int) -> int:
    return int(
        (
            await session.execute(select(func.count()).select_from(Message).where(Message.task_id == task_id))
        ).scalar_one()
    )
