"""The unit of work: one commit, and what it queued is sent only after that commit succeeded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker

from tasktracker.broker import CLASSIFY_MESSAGE
from tasktracker.config import Settings
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.events import schemas as events
from tasktracker.events.bus import InProcessBus
from tasktracker.migrations import upgrade
from tasktracker.models import Channel
from tasktracker.unit_of_work import unit_of_work


@dataclass
class Resources:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus
    broker: AsyncBroker
    jobs: list[int] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def broker_connected(self) -> bool:
        return True


@pytest.fixture
async def resources(make_settings) -> AsyncIterator[Resources]:
    settings = make_settings()
    engine = create_engine(settings)
    await upgrade(engine)
    broker = InMemoryBroker()
    res = Resources(settings, create_sessionmaker(engine), InProcessBus(), broker)

    async def classify(message_id: int) -> None:
        res.jobs.append(message_id)

    broker.register_task(classify, task_name=CLASSIFY_MESSAGE)
    await broker.startup()

    async def listen() -> None:
        async for event in res.bus.subscribe():
            res.seen.append(event.type.value)

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0)  # subscribed
    try:
        yield res
    finally:
        listener.cancel()
        await broker.shutdown()
        await engine.dispose()


async def _channels(res: Resources) -> int:
    async with res.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Channel))).scalar_one())


async def _settle() -> None:
    for _ in range(5):  # the in-memory broker and bus deliver on the next turns of the loop
        await asyncio.sleep(0.01)


async def test_effects_are_sent_after_the_commit(resources: Resources) -> None:
    async with unit_of_work(resources) as uow:
        uow.session.add(Channel(kind="api", name="one"))
        uow.queue_event(events.task_deleted(7))
        uow.queue_classification([41])
        await _settle()
        assert resources.seen == [] and resources.jobs == []  # nothing leaves before the commit
    await _settle()
    assert await _channels(resources) == 1
    assert resources.seen == ["task.deleted"] and resources.jobs == [41]


async def test_a_failed_unit_is_rolled_back_and_sends_nothing(resources: Resources) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(resources) as uow:
            uow.session.add(Channel(kind="api", name="two"))
            await uow.session.flush()
            uow.queue_event(events.task_deleted(7))
            uow.queue_classification([42])
            raise RuntimeError("the handler failed")
    async with unit_of_work(resources) as uow:
        uow.session.add(Channel(kind="api", name="three"))
        uow.queue_event(events.task_deleted(8))
        uow.discard()  # e.g. another delivery of the job won
    await _settle()
    assert await _channels(resources) == 0
    assert resources.seen == [] and resources.jobs == []


async def test_a_failed_commit_sends_nothing(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing_commit(self: AsyncSession) -> None:
        raise ConnectionError("the database went away at commit")

    monkeypatch.setattr(AsyncSession, "commit", failing_commit)  # a lost connection cannot be staged here
    with pytest.raises(ConnectionError):
        async with unit_of_work(resources) as uow:
            uow.session.add(Channel(kind="api", name="four"))
            uow.queue_event(events.task_deleted(9))
            uow.queue_classification([43])
    await _settle()
    assert resources.seen == [] and resources.jobs == []
    monkeypatch.undo()
    assert await _channels(resources) == 0
