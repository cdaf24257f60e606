"""Dashboard numbers: counts by category/priority/status, messages per day, model mix, latency.

Task, message and classification counts come from `task_counts`, `message_day_counts` and
`issue_day_counts`, which triggers keep in the writing transaction (migration 0005): a few hundred rows
to sum instead of a million to count. Days are whole UTC days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.classification.schemas import Category, Priority
from tasktracker.db import utcnow
from tasktracker.models import OPEN_STATUSES, Issue, IssueDayCount, MessageDayCount, TaskCount, TaskStatus
from tasktracker.stats.schemas import DayCount, Latency, StatsPublic


def _counts(rows: list[tuple[Any, ...]], position: int, keys: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for row in rows:
        key = str(row[position])
        counts[key] = counts.get(key, 0) + int(row[-1])
    return counts


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return round(values[index], 2)


async def stats(session: AsyncSession, days: int = 30) -> StatsPublic:
    since = utcnow() - timedelta(days=days)
    # Whole UTC days: the first day of the window counts from its midnight.
    per_day = await session.execute(
        select(col(MessageDayCount.day), func.sum(col(MessageDayCount.n)))
        .where(col(MessageDayCount.day) >= since.date())
        .group_by(col(MessageDayCount.day))
        .having(func.sum(col(MessageDayCount.n)) != 0)
        .order_by(col(MessageDayCount.day))
    )
    models = await session.execute(
        select(col(IssueDayCount.model), func.sum(col(IssueDayCount.n)))
        .where(col(IssueDayCount.day) >= since.date())
        .group_by(col(IssueDayCount.model))
        .having(func.sum(col(IssueDayCount.n)) != 0)
    )
    latencies = [
        float(v)
        for v in (
            await session.execute(
                select(col(Issue.latency_ms))
                .where(col(Issue.created_at) >= since)
                .order_by(col(Issue.id).desc())
                .limit(5000)
            )
        ).scalars()
    ]
    key = (
        col(TaskCount.category),
        col(TaskCount.priority),
        col(TaskCount.status),
        col(TaskCount.needs_review),
    )
    task_rows = [
        tuple(row) for row in await session.execute(select(*key, func.sum(col(TaskCount.n))).group_by(*key))
    ]
    by_category = _counts(task_rows, 0, [c.value for c in Category])
    by_priority = _counts(task_rows, 1, [p.value for p in Priority])
    by_status = _counts(task_rows, 2, [s.value for s in TaskStatus])
    needs_review = sum(int(n) for _, _, status, review, n in task_rows if review and status in OPEN_STATUSES)
    total_messages = (await session.execute(select(func.sum(col(MessageDayCount.n))))).scalar_one() or 0
    return StatsPublic(
        by_category=by_category,
        by_priority=by_priority,
        by_status=by_status,
        messages_per_day=[DayCount(day=str(d), count=int(n)) for d, n in per_day.all()],
        models={str(m): int(n) for m, n in models.all()},
        latency_ms=Latency(p50=_percentile(latencies, 0.5), p95=_percentile(latencies, 0.95)),
        needs_review=int(needs_review),
        total_tasks=sum(by_status.values()),
        total_messages=int(total_messages),
    )
