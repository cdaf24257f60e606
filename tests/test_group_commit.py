"""Issue 13's hot-path mechanics: the group commit, the background job sender, the channel cache.

Group commit: concurrent callers' items share one unit and one commit; each caller is answered only
after that commit; a unit that fails fails every caller in it and stores nothing of the group; an item
the handler refuses fails alone. The job sender: jobs follow the commit without the caller waiting,
and what is queued at stop is still sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker

from tasktracker.api.app import create_app
from tasktracker.broker import CLASSIFY_MESSAGE
from tasktracker.channels import service as channels_service
from tasktracker.config import Settings
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.events.bus import InProcessBus
from tasktracker.migrations import upgrade
from tasktracker.models import Channel, Message
from tasktracker.runtime import Role
from tasktracker.unit_of_work import GroupCommit, JobSender, UnitOfWork
from tests.support.app import ScriptedClassifier, serve


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus
    broker: AsyncBroker
    jobs: list[int] = field(default_factory=list)

    def broker_connected(self) -> bool:
        return True


@pytest.fixture
async def resources(make_settings) -> AsyncIterator[Resources]:
    settings = make_settings()
    engine = create_engine(settings)
    await upgrade(engine)
    broker = InMemoryBroker()
    res = Resources(settings, engine, create_sessionmaker(engine), InProcessBus(), broker)

    async def classify(message_id: int) -> None:
        res.jobs.append(message_id)

    broker.register_task(classify, task_name=CLASSIFY_MESSAGE)
    await broker.startup()
    try:
        yield res
    finally:
        await broker.shutdown()
        await engine.dispose()


async def channel_names(res: Resources) -> list[str]:
    async with res.sessions() as session:
        return sorted((await session.scalars(select(Channel.name))).all())


def add_channels(gate: asyncio.Event | None = None) -> Any:
    """A handler that stores one channel per item (named by the item); refuses items starting 'bad'."""

    async def handle(uow: UnitOfWork, items: list[str]) -> list[str | Exception]:
        if gate is not None:
            await gate.wait()
        results: list[str | Exception] = []
        for name in items:
            if name.startswith("bad"):
                results.append(ValueError(f"refused {name}"))
                continue
            uow.session.add(Channel(kind="api", name=name, settings={}))
            results.append(name)
        await uow.session.flush()
        return results

    return handle


async def test_concurrent_items_share_a_unit_and_each_caller_sees_its_own_commit(resources) -> None:
    gate = asyncio.Event()
    group: GroupCommit[str, str] = GroupCommit(resources, add_channels(gate), max_units=1)
    callers = [asyncio.create_task(group.submit("c0"))]
    await asyncio.sleep(0.05)  # a unit is open for the first item, held at the gate
    callers += [asyncio.create_task(group.submit(f"c{i}")) for i in range(1, 10)]
    await asyncio.sleep(0.05)
    assert not any(c.done() for c in callers)  # nobody is answered before the commit
    assert await channel_names(resources) == []
    gate.set()
    assert sorted(await asyncio.gather(*callers)) == sorted(f"c{i}" for i in range(10))
    # The first item opened a unit at once; the nine that came while it was open went in one more.
    assert group.groups == 2
    assert await channel_names(resources) == sorted(f"c{i}" for i in range(10))


async def test_a_refused_item_fails_alone(resources) -> None:
    gate = asyncio.Event()
    group: GroupCommit[str, str] = GroupCommit(resources, add_channels(gate), max_units=1)
    first = asyncio.create_task(group.submit("first"))
    await asyncio.sleep(0.01)
    callers = [asyncio.create_task(group.submit(name)) for name in ("a", "bad-one", "b")]
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(first, *callers, return_exceptions=True)
    assert results[0] == "first" and results[1] == "a" and results[3] == "b"
    assert isinstance(results[2], ValueError)
    assert await channel_names(resources) == ["a", "b", "first"]


async def test_a_failed_unit_fails_every_caller_and_stores_nothing_of_the_group(resources) -> None:
    """The handler wrote the group's rows, then the unit failed before its commit: every caller gets
    the error, no row of the group is stored, and the next group works."""
    gate = asyncio.Event()
    store = add_channels(gate)

    async def store_then_fail(uow: UnitOfWork, items: list[str]) -> list[str | Exception]:
        await store(uow, items)
        raise RuntimeError("failed after writing")

    group: GroupCommit[str, str] = GroupCommit(resources, store_then_fail, max_units=1)
    callers = [asyncio.create_task(group.submit(f"lost{i}")) for i in range(5)]
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results), results
    assert await channel_names(resources) == []
    group.handle = add_channels()
    assert await group.submit("after") == "after"
    assert await channel_names(resources) == ["after"]


async def test_a_commit_that_fails_on_a_lost_connection_answers_every_caller_unavailable(resources) -> None:
    """PostgreSQL: the unit's connection dies before COMMIT. Every caller gets an error the API answers
    503 `database_unavailable`, and nothing of the group is stored."""
    if resources.engine.dialect.name != "postgresql":
        pytest.skip("needs a server connection to kill")
    import asyncpg

    from tasktracker.db import database_unavailable

    store = add_channels()
    dsn = resources.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def store_then_lose_the_connection(uow: UnitOfWork, items: list[str]) -> list[str | Exception]:
        results = await store(uow, items)
        pid = (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        return results

    group: GroupCommit[str, str] = GroupCommit(resources, store_then_lose_the_connection, max_units=1)
    results = await asyncio.gather(*(group.submit(f"cut{i}") for i in range(4)), return_exceptions=True)
    assert all(isinstance(r, Exception) and database_unavailable(r) for r in results), results
    assert await channel_names(resources) == []


async def test_jobs_go_out_in_the_background_and_what_is_queued_at_stop_is_sent(resources) -> None:
    sender = JobSender(resources)
    sender.start()
    sender.submit([1, 2, 3])
    sender.submit([4])
    await sender.stop()
    await asyncio.sleep(0.05)  # the in-memory broker runs each job as a task of its own
    assert sorted(resources.jobs) == [1, 2, 3, 4]
    assert not sender.running


async def test_jobs_are_left_to_the_sweep_while_the_broker_is_down(resources, caplog) -> None:
    down = Resources(
        resources.settings, resources.engine, resources.sessions, resources.bus, resources.broker
    )
    down.broker_connected = lambda: False  # type: ignore[method-assign]
    sender = JobSender(down)
    sender.start()
    sender.submit([7])
    await asyncio.sleep(0.05)  # the sender tried
    await sender.stop()
    assert resources.jobs == []
    assert "left for the sweep" in caplog.text


async def count_messages(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(Message))).scalar_one())


async def test_concurrent_posts_are_stored_once_each_and_grouped(make_settings) -> None:
    """Over HTTP: every concurrent POST is answered 202 with its own stored message, a repeat of one in
    the same burst answers 200 with the same row, and (on PostgreSQL) they went in fewer commits."""
    app = create_app(make_settings(), role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await client.post("/api/messages", json={"content": "warm", "channel": "burst"})

        async def post(i: int) -> httpx.Response:
            body = {"content": f"task: item {i}", "external_id": f"e{i % 30}", "channel": "burst"}
            return await client.post("/api/messages", json=body)

        responses = await asyncio.gather(*(post(i) for i in range(40)))
        runtime = app.state.runtime
        stored = await count_messages(runtime.engine)
        intake = getattr(app.state, "intake", None)
    assert sorted(r.status_code for r in responses) == [200] * 10 + [202] * 30
    by_external: dict[str, set[int]] = {}
    for r in responses:
        by_external.setdefault(r.json()["external_id"], set()).add(r.json()["id"])
    assert all(len(ids) == 1 for ids in by_external.values())  # a repeat gets the stored row
    assert stored == 31
    if intake is not None:  # PostgreSQL
        assert intake.groups < 31


async def test_a_channel_disabled_elsewhere_refuses_messages_once_the_cache_expires(
    make_settings, monkeypatch
) -> None:
    """The channel cache: a change through this process counts at once; one made by another process
    (here: straight in the database) within the cache's time to live."""
    monkeypatch.setattr(channels_service, "CACHE_TTL_S", 0.3)
    app = create_app(make_settings(), role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        for n in range(2):  # made, then found and cached
            r = await client.post("/api/messages", json={"content": f"task {n}", "channel": "ops"})
            assert r.status_code == 202, r.text
        channel_id = r.json()["channel"]["id"]
        async with app.state.runtime.engine.begin() as conn:
            await conn.execute(text("UPDATE channels SET enabled = false WHERE id = :id"), {"id": channel_id})
        await asyncio.sleep(0.4)
        refused = await client.post("/api/messages", json={"content": "task late", "channel": "ops"})
        assert refused.status_code == 409 and refused.json()["code"] == "channel_disabled", refused.text
        # Enabled again through this process's API: at once.
        r = await client.patch(f"/api/channels/{channel_id}", json={"enabled": True})
        assert r.status_code == 200, r.text
        again = await client.post("/api/messages", json={"content": "task again", "channel": "ops"})
        assert again.status_code == 202, again.text
