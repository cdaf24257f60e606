"""SQL for tasks, their activity and the corrections people make."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Result, Select, bindparam, func, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.db import (
    driver_fetch,
    execute_dml,
    insert_new,
    insert_new_rows,
    on_postgresql,
    search,
    search_document,
    table_of,
    utcnow,
)
from tasktracker.models import OPEN_STATUSES, Correction, ExportTarget, Task, TaskActivity, TaskExport
from tasktracker.models.task import PRIORITY_RANK_BY_VALUE, priority_rank
from tasktracker.pagination import SortSpec, page

PRIORITY_RANK_SQL = priority_rank(col(Task.priority))
SEARCH_DOCUMENT = search_document(col(Task.title), col(Task.description))  # as search_vector has it

SORTS: dict[str, SortSpec] = {
    "-created_at": SortSpec(col(Task.created_at), col(Task.id), True, "datetime"),
    "created_at": SortSpec(col(Task.created_at), col(Task.id), False, "datetime"),
    "-updated_at": SortSpec(col(Task.updated_at), col(Task.id), True, "datetime"),
    "updated_at": SortSpec(col(Task.updated_at), col(Task.id), False, "datetime"),
    "-priority": SortSpec(PRIORITY_RANK_SQL, col(Task.id), True, "int"),
    "priority": SortSpec(PRIORITY_RANK_SQL, col(Task.id), False, "int"),
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


async def lock(session: AsyncSession, task_ids: Sequence[int]) -> dict[int, Task]:
    """The tasks, locked until the transaction ends (PostgreSQL; SQLite has one writer anyway).

    Locked in id order, so two transactions locking the same tasks cannot deadlock, and read afresh,
    so a check made after the lock sees what a concurrent transaction committed.
    """
    stmt = (
        select(Task)
        .where(col(Task.id).in_(task_ids))
        .order_by(col(Task.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {task.id: task for task in (await session.execute(stmt)).scalars() if task.id is not None}


async def get_by_source_message(session: AsyncSession, message_id: int) -> Task | None:
    return (
        await session.execute(select(Task).where(col(Task.source_message_id) == message_id))
    ).scalar_one_or_none()


async def insert_for_message(session: AsyncSession, values: dict[str, Any]) -> tuple[Task, bool]:
    """Create the task of a message; a second attempt for the same message returns the first task."""
    new = await insert_new(session, Task, values, ["source_message_id"])
    if new is not None:
        return new, True
    task = await get_by_source_message(session, values["source_message_id"])
    assert task is not None  # the conflict was with this message's task
    return task, False


async def insert_for_messages(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> list[tuple[Task, bool]]:
    """`insert_for_message` for many messages in one INSERT: in the order given, each message's task
    and whether this call made it (a message whose task exists already gets that task).

    On PostgreSQL the INSERT is `insert_new_rows`' unnest form, prepared once per connection: the
    dialect's `INSERT ... ON CONFLICT` is never cached by SQLAlchemy (`inherit_cache = False`), so it
    was compiled afresh for every group, ~5 ms of a worker's CPU each time (measured). The new tasks
    come back detached, as plain rows; nothing changes them afterwards."""
    new = {t.source_message_id: t for t in await insert_new_rows(session, Task, rows, ["source_message_id"])}
    missing = [row["source_message_id"] for row in rows if row["source_message_id"] not in new]
    known: dict[int | None, Task] = {}
    if missing:
        stmt = select(Task).where(col(Task.source_message_id).in_(missing))
        known = {t.source_message_id: t for t in (await session.scalars(stmt)).all()}
    return [
        (new[key], True) if key in new else (known[key], False)
        for key in (row["source_message_id"] for row in rows)
    ]


async def add_message(session: AsyncSession, task_id: int, now: datetime) -> Task | None:
    """Count one more message on a task, in SQL so that concurrent jobs lose no increment.

    Returns the task as stored after the change, or None when it no longer exists.
    """
    result = await execute_dml(
        session,
        update(Task)
        .where(col(Task.id) == task_id)
        .values(message_count=col(Task.message_count) + 1, updated_at=now),
    )
    if not result.rowcount:
        return None
    return await session.get(Task, task_id, populate_existing=True)


def _filtered(stmt: Select[Any], filters: TaskFilters) -> Select[Any]:
    if filters.status:
        stmt = stmt.where(col(Task.status).in_(filters.status))
    if filters.category:
        stmt = stmt.where(col(Task.category).in_(filters.category))
    if filters.priority:
        stmt = stmt.where(col(Task.priority).in_(filters.priority))
    if filters.channel_ids:
        stmt = stmt.where(col(Task.channel_id).in_(filters.channel_ids))
    if filters.assignee is not None:
        stmt = (
            stmt.where(col(Task.assignee) == filters.assignee)
            if filters.assignee
            else stmt.where(col(Task.assignee).is_(None))
        )
    if filters.needs_review is not None:
        stmt = stmt.where(col(Task.needs_review) == filters.needs_review)
    if filters.q:
        stmt = stmt.where(search("tasks", SEARCH_DOCUMENT, filters.q))
    return stmt


async def count(session: AsyncSession, filters: TaskFilters) -> int:
    stmt = _filtered(select(func.count()).select_from(Task), filters)
    return int((await session.execute(stmt)).scalar_one())


async def list_page(
    session: AsyncSession, filters: TaskFilters, sort: str, limit: int, cursor: str | None
) -> tuple[list[Task], str | None]:
    spec = SORTS[sort]

    def key_of(task: Task) -> Any:
        return (
            PRIORITY_RANK_BY_VALUE.get(task.priority, -1)
            if spec.kind == "int"
            else getattr(task, sort.lstrip("-"))
        )

    return await page(session, _filtered(select(Task), filters), spec, limit, cursor, key_of)


# The reads of duplicate candidates, built once and run as Core on the session's connection (the ORM
# form costs ~1 ms of Python more per group, measured; see messages.repository). One filter for both
# the plain matcher's candidates (`open_candidates`) and the worker's listing (`open_candidate_versions`).
_tasks = table_of(Task)


def _candidates(columns: Sequence[Any], by_channel: bool) -> Select[Any]:
    stmt = select(*columns).where(
        _tasks.c.status.in_([status.value for status in OPEN_STATUSES]),
        _tasks.c.category.in_(bindparam("categories", expanding=True)),
        _tasks.c.created_at >= bindparam("since"),
        _tasks.c.merged_into_id.is_(None),
    )
    if by_channel:
        stmt = stmt.where(_tasks.c.channel_id == bindparam("channel_id"))
    return stmt.order_by(_tasks.c.created_at.desc()).limit(bindparam("limit"))


_TEXT_COLUMNS = (_tasks.c.id, _tasks.c.description, _tasks.c.title)
_OPEN_CANDIDATES = {by_channel: _candidates(_TEXT_COLUMNS, by_channel) for by_channel in (False, True)}
_CANDIDATE_VERSIONS = {
    by_channel: _candidates((_tasks.c.id, _tasks.c.updated_at), by_channel) for by_channel in (False, True)
}
_CANDIDATE_TEXTS = select(*_TEXT_COLUMNS).where(_tasks.c.id.in_(bindparam("ids", expanding=True)))


# On PostgreSQL a channel's listing (what a worker reads for every group) and the texts it lacks go to
# the session's asyncpg connection directly (`driver_fetch`): the same filter, arrays for the lists.
_PG_OPEN = ", ".join(f"'{status.value}'" for status in OPEN_STATUSES)
_PG_CANDIDATE_VERSIONS = (
    f"SELECT id, updated_at FROM tasks WHERE status IN ({_PG_OPEN}) AND category = ANY($1::varchar[]) "
    "AND created_at >= $2 AND merged_into_id IS NULL AND channel_id = $3 "
    "ORDER BY created_at DESC LIMIT $4"
)
_PG_CANDIDATE_TEXTS = "SELECT id, description, title FROM tasks WHERE id = ANY($1::integer[])"


async def _candidate_rows(
    session: AsyncSession,
    statements: dict[bool, Select[Any]],
    channel_id: int | None,
    categories: Sequence[str],
    since: datetime,
    limit: int,
) -> Result[Any]:
    """One of the candidate reads (`_candidates`), on the session's connection."""
    params = {"categories": list(categories), "since": since, "limit": limit, "channel_id": channel_id}
    connection = await session.connection()
    return await connection.execute(statements[channel_id is not None], params)


async def open_candidates(
    session: AsyncSession,
    channel_id: int | None,
    categories: Sequence[str],
    since: datetime,
    limit: int = 200,
) -> list[tuple[int, str]]:
    """(id, text) of open tasks of a channel in `categories` created recently: where a repeat belongs.

    Only three columns are read: this runs for every actionable message.
    """
    rows = await _candidate_rows(session, _OPEN_CANDIDATES, channel_id, categories, since, limit)
    return [(task_id, description or title) for task_id, description, title in rows if task_id is not None]


async def open_candidate_versions(
    session: AsyncSession,
    channel_id: int | None,
    categories: Sequence[str],
    since: datetime,
    limit: int = 200,
) -> list[tuple[int, datetime]]:
    """The same tasks as `open_candidates`, in the same order, as (id, updated_at) only: a worker that
    holds their texts already reads just what changed (`candidate_texts`)."""
    if channel_id is not None and on_postgresql(session):
        records = await driver_fetch(
            session, _PG_CANDIDATE_VERSIONS, list(categories), since, channel_id, limit
        )
        return [(record["id"], record["updated_at"]) for record in records]
    rows = await _candidate_rows(session, _CANDIDATE_VERSIONS, channel_id, categories, since, limit)
    return [(task_id, updated_at) for task_id, updated_at in rows if task_id is not None]


async def candidate_texts(session: AsyncSession, task_ids: Sequence[int]) -> dict[int, str]:
    """The text duplicate matching compares, by task id (description, else title)."""
    if not task_ids:
        return {}
    if on_postgresql(session):
        rows = await driver_fetch(session, _PG_CANDIDATE_TEXTS, list(task_ids))
    else:
        rows = list(await (await session.connection()).execute(_CANDIDATE_TEXTS, {"ids": list(task_ids)}))
    return {task_id: description or title for task_id, description, title in rows}


async def add_activity(
    session: AsyncSession,
    task_id: int,
    kind: str,
    data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    session.add(TaskActivity(task_id=task_id, kind=kind, data=data or {}, actor=actor))


_activity = table_of(TaskActivity)
_INSERT_ACTIVITY = sql_insert(_activity)


async def add_activities(
    session: AsyncSession, rows: Sequence[tuple[int, str, dict[str, Any], str | None]]
) -> None:
    """(task id, kind, data, actor) rows of activity in one statement, in order, as Core: the worker
    records a group's in one go (an ORM object and a flush each cost more than the INSERT)."""
    if rows:
        now = utcnow()
        values = [
            {"task_id": task_id, "kind": kind, "data": data, "actor": actor, "created_at": now}
            for task_id, kind, data, actor in rows
        ]
        if on_postgresql(session):
            await insert_new_rows(session, TaskActivity, values, ())
        else:
            await (await session.connection()).execute(_INSERT_ACTIVITY, values)


async def activity(session: AsyncSession, task_id: int) -> list[TaskActivity]:
    rows = await session.execute(
        select(TaskActivity).where(col(TaskActivity.task_id) == task_id).order_by(col(TaskActivity.id))
    )
    return list(rows.scalars())


async def exports(session: AsyncSession, task_id: int) -> list[tuple[TaskExport, str | None]]:
    """The task's exports with their target's name."""
    rows = await session.execute(
        select(TaskExport, col(ExportTarget.name))
        .outerjoin(ExportTarget, col(ExportTarget.id) == col(TaskExport.target_id))
        .where(col(TaskExport.task_id) == task_id)
        .order_by(col(TaskExport.id))
    )
    return [(export, name) for export, name in rows.all()]


async def add_correction(session: AsyncSession, correction: Correction) -> None:
    session.add(correction)


async def corrections(session: AsyncSession) -> list[Correction]:
    return list((await session.execute(select(Correction).order_by(col(Correction.id)))).scalars())


async def count_corrections(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Correction))).scalar_one())
