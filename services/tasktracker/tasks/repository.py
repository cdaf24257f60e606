"""SQL for tasks, their activity and the corrections people make."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.classification.schemas import PRIORITY_RANK
from tasktracker.db import contains_words, insert_ignoring_conflicts
from tasktracker.models import Correction, Task, TaskActivity, TaskExport, TaskStatus
from tasktracker.pagination import SortSpec, after_cursor, encode_cursor, order_by

PRIORITY_RANK_SQL = case(
    *((Task.priority == p.value, rank) for p, rank in PRIORITY_RANK.items()),  # type: ignore[arg-type]
    else_=-1,
)

SORTS: dict[str, SortSpec] = {
    "-created_at": SortSpec(Task.created_at, Task.id, True, "datetime"),  # type: ignore[arg-type]
    "created_at": SortSpec(Task.created_at, Task.id, False, "datetime"),  # type: ignore[arg-type]
    "-updated_at": SortSpec(Task.updated_at, Task.id, True, "datetime"),  # type: ignore[arg-type]
    "updated_at": SortSpec(Task.updated_at, Task.id, False, "datetime"),  # type: ignore[arg-type]
    "-priority": SortSpec(PRIORITY_RANK_SQL, Task.id, True, "int"),  # type: ignore[arg-type]
    "priority": SortSpec(PRIORITY_RANK_SQL, Task.id, False, "int"),  # type: ignore[arg-type]
}


@dataclass
class TaskFilters:
    status: Sequence[str] = ()
    category: Sequence[str] = ()
    priority: Sequence[str] = ()
    channel_ids: Sequence[int] = ()
    assignee: str | None = None
    needs_review: bool | None = None
    q: str | None = None


async def get(session: AsyncSession, task_id: int) -> Task | None:
    return await session.get(Task, task_id)


async def get_by_source_message(session: AsyncSession, message_id: int) -> Task | None:
    return (
        await session.execute(select(Task).where(Task.source_message_id == message_id))
    ).scalar_one_or_none()


async def insert_for_message(session: AsyncSession, values: dict[str, Any]) -> tuple[Task, bool]:
    """Create the task of a message; a second attempt for the same message returns the first task."""
    stmt = insert_ignoring_conflicts(
        session.bind.dialect.name,
        Task.__table__,
        values,
        ["source_message_id"],  # type: ignore[union-attr]
    )
    created = bool((await session.execute(stmt)).rowcount)
    task = await get_by_source_message(session, values["source_message_id"])
    assert task is not None
    return task, created


async def list_page(
    session: AsyncSession, filters: TaskFilters, sort: str, limit: int, cursor: str | None
) -> tuple[list[Task], str | None]:
    spec = SORTS[sort]
    stmt = select(Task)
    if filters.status:
        stmt = stmt.where(Task.status.in_(filters.status))  # type: ignore[attr-defined]
    if filters.category:
        stmt = stmt.where(Task.category.in_(filters.category))  # type: ignore[attr-defined]
    if filters.priority:
        stmt = stmt.where(Task.priority.in_(filters.priority))  # type: ignore[attr-defined]
    if filters.channel_ids:
        stmt = stmt.where(Task.channel_id.in_(filters.channel_ids))  # type: ignore[union-attr]
    if filters.assignee is not None:
        stmt = (
            stmt.where(Task.assignee == filters.assignee)
            if filters.assignee
            else stmt.where(Task.assignee.is_(None))
        )  # type: ignore[union-attr]
    if filters.needs_review is not None:
        stmt = stmt.where(Task.needs_review == filters.needs_review)
    if filters.q:
        stmt = stmt.where(contains_words([Task.title, Task.description], filters.q))
    if cursor:
        stmt = stmt.where(after_cursor(spec, cursor))
    stmt = stmt.order_by(*order_by(spec)).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key = PRIORITY_RANK.get(last.priority, -1) if spec.kind == "int" else getattr(last, sort.lstrip("-"))  # type: ignore[call-overload]
        next_cursor = encode_cursor(key, last.id)  # type: ignore[arg-type]
    return rows, next_cursor


async def open_candidates(
    session: AsyncSession, channel_id: int | None, category: str, since: datetime, limit: int = 200
) -> list[tuple[int, str]]:
    """(id, text) of open tasks of a channel and category created recently: where a repeat belongs.

    Only two columns are read: this runs for every actionable message.
    """
    stmt = select(Task.id, Task.description, Task.title).where(
        Task.status.in_([TaskStatus.open, TaskStatus.in_progress]),  # type: ignore[attr-defined]
        Task.category == category,
        Task.created_at >= since,
        Task.merged_into_id.is_(None),  # type: ignore[union-attr]
    )
    stmt = stmt.where(Task.channel_id == channel_id) if channel_id is not None else stmt
    stmt = stmt.order_by(Task.created_at.desc()).limit(limit)  # type: ignore[attr-defined]
    return [(row.id, row.description or row.title) for row in await session.execute(stmt)]


async def add_activity(
    session: AsyncSession,
    task_id: int,
    kind: str,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    session.add(TaskActivity(task_id=task_id, kind=kind, data=data or {}, actor=actor))


async def activity(session: AsyncSession, task_id: int) -> list[TaskActivity]:
    rows = await session.execute(
        select(TaskActivity).where(TaskActivity.task_id == task_id).order_by(TaskActivity.id)  # type: ignore[arg-type]
    )
    return list(rows.scalars())


async def exports(session: AsyncSession, task_id: int) -> list[TaskExport]:
    rows = await session.execute(
        select(TaskExport).where(TaskExport.task_id == task_id).order_by(TaskExport.id)
    )  # type: ignore[arg-type]
    return list(rows.scalars())


async def add_correction(session: AsyncSession, correction: Correction) -> None:
    session.add(correction)


async def corrections(session: AsyncSession) -> list[Correction]:
    return list((await session.execute(select(Correction).order_by(Correction.id))).scalars())  # type: ignore[arg-type]


async def count_corrections(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Correction))).scalar_one())
