"""Task triage at the service layer, where concurrent requests (several API replicas) meet."""

from __future__ import annotations

import asyncio

from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.errors import Conflict
from tasktracker.migrations import upgrade
from tasktracker.models import Task
from tasktracker.tasks import service
from tasktracker.tasks.schemas import TaskCreate


async def test_crossed_merges_cannot_make_a_cycle(make_settings) -> None:
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            a, _ = await service.create(session, TaskCreate(title="A"), "test")
            b, _ = await service.create(session, TaskCreate(title="B"), "test")
            await session.commit()
        assert a.id is not None and b.id is not None

        async def merge(source: int, into: int) -> str:
            async with sessions() as session:
                try:
                    await service.merge(session, source, into, "test")
                except Conflict as exc:
                    return exc.code
                await session.commit()
                return "merged"

        results = await asyncio.gather(merge(a.id, b.id), merge(b.id, a.id))
        assert sorted(results) == ["merge_target_merged", "merged"]
        async with sessions() as session:
            rows = [await session.get(Task, i) for i in (a.id, b.id)]
            assert sum(t is not None and t.merged_into_id is not None for t in rows) == 1
    finally:
        await engine.dispose()
