"""SQL for export targets, routing rules and task exports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.db import driver_fetch, execute_dml, insert_new, on_postgresql, table_of
from tasktracker.models import (
    CLOSED_STATUSES,
    ExportRule,
    ExportState,
    ExportTarget,
    Task,
    TaskExport,
)

CLOSED = [s.value for s in CLOSED_STATUSES]

# Targets -----------------------------------------------------------------------------------------------


async def targets(session: AsyncSession) -> list[ExportTarget]:
    return list((await session.execute(select(ExportTarget).order_by(col(ExportTarget.name)))).scalars())


async def targets_of_kind(session: AsyncSession, kind: str) -> list[ExportTarget]:
    stmt = select(ExportTarget).where(col(ExportTarget.kind) == kind).order_by(col(ExportTarget.id))
    return list((await session.execute(stmt)).scalars())


async def target(session: AsyncSession, target_id: int) -> ExportTarget | None:
    return await session.get(ExportTarget, target_id)


async def target_by_name(session: AsyncSession, name: str) -> ExportTarget | None:
    stmt = select(ExportTarget).where(col(ExportTarget.name) == name)
    return (await session.execute(stmt)).scalar_one_or_none()


async def export_counts(session: AsyncSession) -> dict[int, int]:
    stmt = select(col(TaskExport.target_id), func.count()).group_by(col(TaskExport.target_id))
    return {int(t): int(n) for t, n in (await session.execute(stmt)).all() if t is not None}


async def add(session: AsyncSession, row: ExportTarget | ExportRule | TaskExport) -> None:
    session.add(row)
    await session.flush()


async def delete(session: AsyncSession, row: ExportTarget | ExportRule) -> None:
    await session.delete(row)
    await session.flush()


# Rules -------------------------------------------------------------------------------------------------


async def rules(session: AsyncSession) -> list[ExportRule]:
    return list((await session.execute(select(ExportRule).order_by(col(ExportRule.id)))).scalars())


async def rule(session: AsyncSession, rule_id: int) -> ExportRule | None:
    return await session.get(ExportRule, rule_id)


async def matching_targets(
    session: AsyncSession, channel_id: int | None, category: str, priority: str
) -> list[int]:
    """Enabled targets with an enabled rule whose every set condition holds for such a task."""
    stmt = (
        select(col(ExportRule.target_id))
        .join(ExportTarget, col(ExportTarget.id) == col(ExportRule.target_id))
        .where(
            col(ExportRule.enabled),
            col(ExportTarget.enabled),
            or_(col(ExportRule.channel_id).is_(None), col(ExportRule.channel_id) == channel_id),
            or_(col(ExportRule.category).is_(None), col(ExportRule.category) == category),
            or_(col(ExportRule.priority).is_(None), col(ExportRule.priority) == priority),
        )
        .distinct()
    )
    return sorted(int(t) for t in (await session.execute(stmt)).scalars())


_rules, _targets = table_of(ExportRule), table_of(ExportTarget)
# Read for every group a worker records: built once and run as Core (see messages.repository).
_ENABLED_RULES = (
    select(_rules.c.target_id, _rules.c.channel_id, _rules.c.category, _rules.c.priority)
    .join(_targets, _targets.c.id == _rules.c.target_id)
    .where(_rules.c.enabled, _targets.c.enabled)
)
_PG_ENABLED_RULES = str(_ENABLED_RULES.compile(dialect=postgresql.dialect()))  # no parameters: the same text


async def enabled_rules(session: AsyncSession) -> list[tuple[int, int | None, str | None, str | None]]:
    """(target id, channel id, category, priority) of every enabled rule of an enabled target: what
    `matching_targets` filters, read once for many tasks."""
    if on_postgresql(session):
        rows = await driver_fetch(session, _PG_ENABLED_RULES)
    else:
        rows = list(await (await session.connection()).execute(_ENABLED_RULES))
    return [(int(t), c, cat, p) for t, c, cat, p in rows]


# Exports -----------------------------------------------------------------------------------------------


async def export(session: AsyncSession, export_id: int) -> TaskExport | None:
    return await session.get(TaskExport, export_id)


async def of_task(session: AsyncSession, task_id: int) -> list[TaskExport]:
    stmt = select(TaskExport).where(col(TaskExport.task_id) == task_id).order_by(col(TaskExport.id))
    return list((await session.execute(stmt)).scalars())


async def by_external(session: AsyncSession, target_id: int, external_id: str) -> TaskExport | None:
    stmt = select(TaskExport).where(
        col(TaskExport.target_id) == target_id, col(TaskExport.external_id) == external_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert(
    session: AsyncSession, task_id: int, target_id: int, tracker: str, now: datetime, due_at: datetime
) -> TaskExport | None:
    """The new export row, or None when the task has one for this target already (race-free)."""
    values = {
        "task_id": task_id,
        "target_id": target_id,
        "tracker": tracker,
        "status": ExportState.pending,
        "attempts": 0,
        "next_attempt_at": due_at,
        "created_at": now,
        "updated_at": now,
    }
    return await insert_new(session, TaskExport, values, ["task_id", "target_id"])


async def by_task_and_target(session: AsyncSession, task_id: int, target_id: int) -> TaskExport | None:
    stmt = select(TaskExport).where(
        col(TaskExport.task_id) == task_id, col(TaskExport.target_id) == target_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock(session: AsyncSession, export_id: int, now: datetime, until: datetime) -> bool:
    """Take the row for one job run unless another run holds it; a conditional UPDATE, so two
    deliveries of one job never both get it."""
    stmt = (
        update(TaskExport)
        .where(
            col(TaskExport.id) == export_id,
            col(TaskExport.status) != ExportState.failed,
            or_(col(TaskExport.locked_until).is_(None), col(TaskExport.locked_until) < now),
        )
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return (await execute_dml(session, stmt)).rowcount == 1


def _out_of_step() -> object:
    """The task's open/closed differs from the state last agreed with the tracker."""
    task_closed = col(Task.status).in_(CLOSED)
    return or_(
        and_(col(TaskExport.remote_state) == "closed", ~task_closed),
        and_(col(TaskExport.remote_state) == "open", task_closed),
    )


async def due(session: AsyncSession, now: datetime, check_before: datetime, limit: int) -> list[int]:
    """Exports a job should run for now: not yet in the tracker, a status to push, or not re-read
    since `check_before` (the reconcile that catches missed webhooks)."""
    stmt = (
        select(col(TaskExport.id))
        .join(Task, col(Task.id) == col(TaskExport.task_id))
        .join(ExportTarget, col(ExportTarget.id) == col(TaskExport.target_id))
        .where(
            col(ExportTarget.enabled),
            col(TaskExport.status) != ExportState.failed,
            or_(col(TaskExport.locked_until).is_(None), col(TaskExport.locked_until) < now),
            or_(col(TaskExport.next_attempt_at).is_(None), col(TaskExport.next_attempt_at) <= now),
            or_(
                col(TaskExport.status).in_([ExportState.pending, ExportState.retrying]),
                col(TaskExport.next_attempt_at).is_not(None),  # a failed status push, now due again
                _out_of_step(),  # type: ignore[arg-type]
                and_(
                    col(ExportTarget.kind) != "webhook",
                    or_(col(TaskExport.checked_at).is_(None), col(TaskExport.checked_at) < check_before),
                ),
            ),
        )
        .order_by(
            col(TaskExport.next_attempt_at).is_(None), col(TaskExport.next_attempt_at), col(TaskExport.id)
        )
        .limit(limit)
    )
    return [int(i) for i in (await session.execute(stmt)).scalars() if i is not None]


async def postpone(session: AsyncSession, ids: Sequence[int], until: datetime) -> None:
    """Not due again before `until` (a job for them is on its way)."""
    if ids:
        await session.execute(
            update(TaskExport)
            .where(col(TaskExport.id).in_(list(ids)))
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )


async def exported_of_task(session: AsyncSession, task_id: int) -> list[TaskExport]:
    stmt = select(TaskExport).where(
        col(TaskExport.task_id) == task_id, col(TaskExport.status) == ExportState.exported
    )
    return list((await session.execute(stmt)).scalars())


async def with_secrets(session: AsyncSession) -> list[ExportTarget]:
    stmt = select(ExportTarget).where(
        or_(col(ExportTarget.secret).is_not(None), col(ExportTarget.webhook_secret).is_not(None))
    )
    return list((await session.execute(stmt)).scalars())
