"""Dashboard statistics computed by the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tasktracker.classification.schemas import Category, Priority
from tasktracker.db import create_engine, create_sessionmaker, utcnow
from tasktracker.errors import Conflict, Invalid, NotFound
from tasktracker.migrations import upgrade
from tasktracker.models import Channel, Issue, Message, TaskStatus
from tasktracker.stats import service as stats_service
from tasktracker.tasks import service as tasks_service
from tasktracker.tasks.schemas import TaskCreate, TaskUpdate


async def test_messages_per_day_are_utc_days_whatever_the_session_time_zone(make_settings) -> None:
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        late = (utcnow() - timedelta(days=2)).replace(hour=23, minute=30)  # 08:30 next day in Tokyo
        async with sessions() as session:
            channel = Channel(kind="api", name="tz")
            session.add(channel)
            await session.flush()
            assert channel.id is not None
            session.add(
                Message(
                    channel_id=channel.id, external_id="late", content="x", received_at=late, sent_at=late
                )
            )
            await session.commit()
        async with sessions() as session:
            if engine.dialect.name == "postgresql":  # a server (or role) configured with a local zone
                await session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
            stats = await stats_service.stats(session)
        assert [(d.day, d.count) for d in stats.messages_per_day] == [(late.date(), 1)]
    finally:
        await engine.dispose()


async def _fresh_counts(session: Any) -> dict[str, Any]:
    """What the statistics must say, counted afresh from the rows."""

    async def grouped(column: str) -> dict[str, int]:
        rows = await session.execute(text(f"SELECT {column}, count(*) FROM tasks GROUP BY {column}"))
        return {str(k): int(n) for k, n in rows.all()}

    review = await session.execute(
        text("SELECT count(*) FROM tasks WHERE needs_review AND status IN ('open', 'in_progress')")
    )
    messages = await session.execute(text("SELECT count(*) FROM messages"))
    return {
        "by_category": await grouped("category"),
        "by_priority": await grouped("priority"),
        "by_status": await grouped("status"),
        "needs_review": int(review.scalar_one()),
        "total_messages": int(messages.scalar_one()),
        "total_tasks": int((await session.execute(text("SELECT count(*) FROM tasks"))).scalar_one()),
    }


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


async def test_counts_equal_a_fresh_count_after_a_random_mix_of_concurrent_writes(make_settings) -> None:
    """Creates, triage (status, category, priority, review), merges, deletes, single and batch message
    inserts and rolled-back transactions, from several concurrent sessions (connections) at once."""
    engine = create_engine(make_settings(database_pool_size=6))
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            channel = Channel(kind="api", name="mix")
            session.add(channel)
            await session.commit()
        assert channel.id is not None
        channel_id = channel.id
        concurrent = engine.dialect.name == "postgresql"  # SQLite: one connection, writes in turn
        rng = random.Random(13)
        categories, priorities = [c.value for c in Category], [p.value for p in Priority]
        statuses = [s.value for s in TaskStatus]

        async def writer(worker: int) -> None:
            local = random.Random(rng.random())
            for step in range(40):
                async with sessions() as session:
                    ids = [i for i in (await session.execute(text("SELECT id FROM tasks"))).scalars().all()]
                    op = local.choice(["create", "create", "update", "update", "merge", "delete", "message"])
                    try:
                        if op == "create" or not ids:
                            await tasks_service.create(
                                session,
                                TaskCreate(
                                    title=f"t{worker}-{step}",
                                    category=local.choice(categories),
                                    priority=local.choice(priorities),
                                ),
                                "test",
                            )
                        elif op == "update":
                            change: dict[str, Any] = local.choice(
                                [
                                    {"status": local.choice(statuses)},
                                    {"category": local.choice(categories)},
                                    {
                                        "priority": local.choice(priorities),
                                        "needs_review": local.random() < 0.5,
                                    },
                                    {"needs_review": local.random() < 0.5},
                                    {"title": f"renamed {step}"},  # counts nothing
                                ]
                            )
                            await tasks_service.update(
                                session, local.choice(ids), TaskUpdate(**change), "test"
                            )
                        elif op == "merge" and len(ids) > 1:
                            source, into = local.sample(ids, 2)
                            await tasks_service.merge(session, source, into, "test")
                        elif op == "delete":
                            await tasks_service.delete(session, local.choice(ids))
                        else:
                            for n in range(local.choice([1, 1, 5])):
                                when = utcnow() - timedelta(
                                    days=local.randrange(40), minutes=local.randrange(900)
                                )
                                session.add(
                                    Message(
                                        channel_id=channel_id,
                                        external_id=f"{worker}-{step}-{n}",
                                        content="m",
                                        received_at=when,
                                        sent_at=when,
                                    )
                                )
                            await session.flush()
                            message_ids = (
                                (await session.execute(text("SELECT id FROM messages"))).scalars().all()
                            )
                            for message_id in local.sample(list(message_ids), min(3, len(message_ids))):
                                when = utcnow() - timedelta(
                                    days=local.randrange(40), minutes=local.randrange(900)
                                )
                                session.add(
                                    Issue(
                                        message_id=message_id,
                                        category="bug",
                                        priority="low",
                                        actionable=True,
                                        title="t",
                                        confidence=0.5,
                                        model=local.choice(["builtin", "ollama:qwen"]),
                                        latency_ms=1.0,
                                        created_at=when,
                                    )
                                )
                            if local.random() < 0.2 and message_ids:  # issues go with their message
                                await session.execute(
                                    text("DELETE FROM messages WHERE id = :id"),
                                    {"id": local.choice(message_ids)},
                                )
                            await session.flush()
                        if local.random() < 0.15:
                            await session.rollback()  # a failed request: nothing of it may count
                        else:
                            await session.commit()
                    except (NotFound, Conflict, Invalid):
                        await session.rollback()  # lost a race with another writer: as a request would
                    except DBAPIError as exc:
                        # The counts' row locks must never deadlock; other races between writers (an
                        # update's activity row for a task deleted meanwhile) end the transaction.
                        assert "deadlock" not in str(exc), exc
                        await session.rollback()

        if concurrent:
            await asyncio.gather(*(writer(w) for w in range(5)))
        else:
            for w in range(5):
                await writer(w)

        async with sessions() as session:
            stats = await stats_service.stats(session, days=400)
            fresh = await _fresh_counts(session)
            per_day = await session.execute(text("SELECT received_at FROM messages"))
            days: dict[Any, int] = {}
            for (received_at,) in per_day.all():
                day = (
                    received_at if isinstance(received_at, datetime) else datetime.fromisoformat(received_at)
                )
                key = (day.astimezone(UTC) if day.tzinfo else day).date()
                days[key] = days.get(key, 0) + 1
        # the mix did happen (how much of it depends on which writers lose races, i.e. on timing)
        assert fresh["total_tasks"] >= 10 and fresh["total_messages"] >= 10
        assert _nonzero(stats.by_category) == fresh["by_category"]
        assert _nonzero(stats.by_priority) == fresh["by_priority"]
        assert _nonzero(stats.by_status) == fresh["by_status"]
        assert stats.needs_review == fresh["needs_review"]
        assert stats.total_tasks == fresh["total_tasks"]
        assert stats.total_messages == fresh["total_messages"]
        assert {d.day: d.count for d in stats.messages_per_day} == days
        async with sessions() as session:
            since = (utcnow() - timedelta(days=400)).date()
            issues = await session.execute(text("SELECT model, created_at FROM issues"))
            models: dict[str, int] = {}
            for model, created_at in issues.all():
                at = created_at if isinstance(created_at, datetime) else datetime.fromisoformat(created_at)
                if (at.astimezone(UTC) if at.tzinfo else at).date() >= since:
                    models[model] = models.get(model, 0) + 1
        assert sum(models.values()) > 10
        assert stats.models == models
    finally:
        await engine.dispose()


async def test_latency_percentiles_are_the_nearest_ranks_of_the_latest_runs(make_settings) -> None:
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        latencies = [float(v) for v in random.Random(3).sample(range(1, 1000), 37)]
        async with sessions() as session:
            assert (await stats_service.stats(session)).latency_ms.p50 is None
            channel = Channel(kind="api", name="lat")
            session.add(channel)
            await session.flush()
            assert channel.id is not None
            session.add(Message(channel_id=channel.id, external_id="m", content="x"))
            await session.flush()
            old = utcnow() - timedelta(days=90)  # outside the window: not in the sample
            for i, latency in enumerate([5000.0, *latencies]):
                session.add(
                    Issue(
                        message_id=1,
                        category="bug",
                        priority="low",
                        actionable=True,
                        title="t",
                        confidence=0.5,
                        model="m",
                        latency_ms=latency,
                        created_at=old if i == 0 else utcnow(),
                    )
                )
            await session.commit()
            stats = await stats_service.stats(session)
        ordered = sorted(latencies)
        assert stats.latency_ms.p50 == ordered[round(0.5 * 36)]
        assert stats.latency_ms.p95 == ordered[round(0.95 * 36)]
    finally:
        await engine.dispose()
