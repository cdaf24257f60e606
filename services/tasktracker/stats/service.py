"""Dashboard numbers: counts by category/priority/status, messages per day, model mix, latency."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.classification.schemas import Category, Priority
from tasktracker.db import utc_date, utcnow
from tasktracker.models import OPEN_STATUSES, Issue, Message, Task, TaskStatus
from tasktracker.stats.schemas import DayCount, Latency, StatsPublic


async def _counts(session: AsyncSession, column: SQLColumnExpression[Any], keys: list[str]) -> dict[str, int]:
    rows = await session.execute(select(column, func.count()).group_by(column))
    counts = dict.fromkeys(keys, 0)
    counts.update({str(key): int(n) for key, n in rows.all()})
    return counts


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return round(values[index], 2)


async def stats(session: AsyncSession, days: int = 30) -> StatsPublic:
    since = utcnow() - timedelta(days=days)
    day = utc_date(col(Message.received_at))
    per_day = await session.execute(
        select(day.label("day"), func.count())
        .where(col(Message.received_at) >= since)
        .group_by("day")
        .order_by("day")
    )
    models = await session.execute(
        select(col(Issue.model), func.count())
        .where(col(Issue.created_at) >= since)
        .group_by(col(Issue.model))
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
    by_category = await _counts(session, col(Task.category), [c.value for c in Category])
    by_priority = await _counts(session, col(Task.priority), [p.value for p in Priority])
    by_status = await _counts(session, col(Task.status), [s.value for s in TaskStatus])
    needs_review = (
        await session.execute(
            select(func.count())
            .select_from(Task)
            .where(
                col(Task.needs_review).is_(True),
                col(Task.status).in_(OPEN_STATUSES),
            )
        )
    ).scalar_one()
    total_messages = (await session.execute(select(func.count()).select_from(Message))).scalar_one()
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
