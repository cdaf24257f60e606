"""Recording classifications: what concurrent jobs (several workers on PostgreSQL) leave in the database."""

from __future__ import annotations

import asyncio

from tasktracker.classification.schemas import Category, Classification, Priority
from tasktracker.classification.service import record
from tasktracker.db import create_engine, create_sessionmaker, utcnow
from tasktracker.migrations import upgrade
from tasktracker.models import Channel, Message, Task

TEXT = "bug: the export button does nothing"


async def test_concurrent_repeats_of_a_request_all_count_on_its_task(make_settings) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            channel = Channel(kind="api", name="dup")
            session.add(channel)
            await session.flush()
            assert channel.id is not None
            messages = [Message(channel_id=channel.id, external_id=f"m{i}", content=TEXT) for i in range(4)]
            session.add_all(messages)
            await session.flush()
            now = utcnow()
            task = Task(
                title="export",
                description=TEXT,
                category=Category.bug,
                priority=Priority.medium,
                source_message_id=messages[0].id,
                channel_id=channel.id,
                message_count=1,
                created_at=now,
                updated_at=now,
            )
            session.add(task)
            await session.commit()
        result = Classification(
            category=Category.bug,
            priority=Priority.medium,
            actionable=True,
            title="export",
            summary=TEXT,
            confidence=0.9,
            model="scripted",
            latency_ms=1.0,
        )

        async def job(message_id: int) -> int | None:
            async with sessions() as session:
                outcome = await record(session, settings, message_id, result)
                await session.commit()
            return outcome.duplicate_of

        linked = await asyncio.gather(*(job(m.id) for m in messages[1:] if m.id is not None))
        assert linked == [task.id] * 3
        async with sessions() as session:
            stored = await session.get(Task, task.id)
            assert stored is not None and stored.message_count == 4  # no increment lost
    finally:
        await engine.dispose()
