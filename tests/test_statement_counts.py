"""How many SQL statements one message costs: ingested over HTTP, and classified by its job.

Counted with SQLAlchemy's `before_cursor_execute` hook on the process's own engine, so every
statement the code sends is seen (transaction control included). The budgets are today's counts:
a change that adds a round trip per message fails here and has to say why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tasktracker import db
from tasktracker.api.app import create_app
from tasktracker.db import Autocommit
from tasktracker.runtime import Role, build_runtime
from tests.support.app import ScriptedClassifier, serve

# Statements per message (SELECTs, INSERTs, UPDATEs, and the COMMIT/ROLLBACK the driver is sent).
# Before the unit of work and RETURNING (issue 9): 4, 3.2, 13 and 12. Issue 13: the channel comes from
# the process's cache (ingest one: 3 -> 2, the INSERT and its COMMIT) and a batch is one multi-row
# INSERT (2.15 -> 0.2: SELECT channel, INSERT, SELECT issues of repeats, COMMIT for 20 messages); then
# the answer is made from the rows and channels in hand, the classifications looked up for repeats only
# (0.2 -> 0.1: the INSERT and the COMMIT for 20 new messages). On PostgreSQL a lone POST's group is one
# statement that commits on its own, the INSERT with the repeats' lookup in it (`db.Autocommit`): 2 -> 1.
INGEST_ONE_BUDGET = {"postgresql": 1, "sqlite": 2}
INGEST_BATCH_BUDGET = 0.1
# Classifying: the channel (routing defaults, the events) comes from the worker's cache (one SELECT
# less); a new task also reads the export rules (`exports.route_new_task`, issue 11): new task 11,
# duplicate 11 -> 10.
CLASSIFY_NEW_TASK_BUDGET = 11
CLASSIFY_DUPLICATE_BUDGET = 10

# A worker's group of jobs (`worker/batch.py`, issue 13): claimed, classified and recorded together. For a
# group of 20 messages (new requests, a repeat within the group, noise): the claim (UPDATE, COMMIT) and the
# record (UPDATE finishing them, INSERT issues, the channel's open-task listing and the new texts, INSERT
# tasks, UPDATE messages' category and task, INSERT activity, the export rules, COMMIT) — a fixed number
# for the group, where one job at a time took 10-11 each (200+). On SQLite (the embedded mode) the ORM
# inserts the issue and activity rows one at a time (no multi-row RETURNING there): 48.
CLASSIFY_GROUP_BUDGET = {"postgresql": 14, "sqlite": 50}
# With a classifier that answers in process (the built-in model), the claim and the record are one unit:
# its COMMIT is the only one, and the UPDATE finishing the messages is the one writing their results (the
# unit's own claim keeps every other delivery out): two less.

BATCH = 20


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement.split(None, 1)[0].upper())

    def reset(self) -> None:
        self.statements.clear()

    def __len__(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def counting(engine: AsyncEngine, direct: Autocommit | None = None) -> Iterator[StatementCounter]:
    """Count what `engine` is sent, what goes past SQLAlchemy through `direct` (the group commit's
    statements that commit on their own, on PostgreSQL), and what `db.driver_fetch` sends."""
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    if direct is not None:
        fetch = direct.fetch

        async def counted(sql: str, *args: Any) -> list[dict[str, Any]]:
            counter(None, None, sql)
            return await fetch(sql, *args)

        direct.fetch = counted  # type: ignore[method-assign]
    # The worker's per-group statements on PostgreSQL go to the session's asyncpg connection directly.
    driver = lambda sql: counter(None, None, sql)  # noqa: E731
    db.driver_statement_hooks.append(driver)
    # SQLAlchemy sends COMMIT/ROLLBACK through the DBAPI connection, not a cursor: count them too.
    on_commit = lambda _conn: counter.statements.append("COMMIT")  # noqa: E731
    on_rollback = lambda _conn: counter.statements.append("ROLLBACK")  # noqa: E731
    event.listen(engine.sync_engine, "commit", on_commit)
    event.listen(engine.sync_engine, "rollback", on_rollback)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counter)
        event.remove(engine.sync_engine, "commit", on_commit)
        event.remove(engine.sync_engine, "rollback", on_rollback)
        db.driver_statement_hooks.remove(driver)
        if direct is not None:
            del direct.fetch  # the class's own again


async def test_statements_per_ingested_message(make_settings) -> None:
    """The API process (it sends jobs, never runs them): one POST, and a batch."""
    app = create_app(make_settings(), role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        # The first message of a channel also creates the channel, the second finds it committed and
        # caches it: warm up, then count.
        for n in range(2):
            warm = await client.post(
                "/api/messages", json={"content": f"task: warm up {n}", "channel": "count"}
            )
            assert warm.status_code == 202, warm.text
        runtime = app.state.runtime
        with counting(runtime.engine, runtime.autocommit) as counter:
            one = await client.post("/api/messages", json={"content": "bug: one", "channel": "count"})
            assert one.status_code == 202, one.text
            single = len(counter)
            print("ingest one:", single, counter.statements)
            counter.reset()
            batch = [{"content": f"task: item {i}", "channel": "count"} for i in range(BATCH)]
            many = await client.post("/api/messages/batch", json={"messages": batch})
            assert many.status_code == 202 and many.json()["created"] == BATCH, many.text
            per_message = len(counter) / BATCH
            print("ingest batch per message:", per_message)
    assert single <= INGEST_ONE_BUDGET[runtime.engine.dialect.name], counter.statements
    assert per_message <= INGEST_BATCH_BUDGET


async def test_statements_per_classified_message(make_settings) -> None:
    """The classification job of a new request (a task is made) and of a repeat (linked to it)."""
    from tasktracker.worker.jobs import classify_message

    settings = make_settings()
    app = create_app(settings, role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        ids = []
        for n in range(2):
            r = await client.post(
                "/api/messages", json={"content": "bug: export button does nothing", "external_id": f"c{n}"}
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    try:
        with counting(runtime.engine) as counter:
            first = await classify_message(runtime, ids[0])
            new_task = len(counter)
            print("classify (new task):", new_task, counter.statements)
            counter.reset()
            second = await classify_message(runtime, ids[1])
            duplicate = len(counter)
            print("classify (duplicate):", duplicate, counter.statements)
    finally:
        await runtime.stop()
    assert first.task_created and second.duplicate_of == first.task_id
    assert new_task <= CLASSIFY_NEW_TASK_BUDGET, counter.statements
    assert duplicate <= CLASSIFY_DUPLICATE_BUDGET


@pytest.mark.parametrize("in_process", [False, True])
async def test_statements_per_classified_group(make_settings, monkeypatch, in_process: bool) -> None:
    """A group of jobs in hand at once costs a fixed handful of statements, not ~10 per message."""
    import asyncio

    from tasktracker.worker.batch import ClassifyGroups

    settings = make_settings()
    contents = [f"bug: page {i} crashes after login {i}" for i in range(BATCH - 4)]
    contents += ["hello", "thanks all", "lunch?", contents[0]]  # noise, and one repeat
    app = create_app(settings, role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        items = [{"content": c, "channel": "count", "external_id": f"b{i}"} for i, c in enumerate(contents)]
        answer = await client.post("/api/messages/batch", json={"messages": items})
        assert answer.status_code == 202, answer.text
        ids = [m["id"] for m in answer.json()["data"]]
    monkeypatch.setattr(ScriptedClassifier, "in_process", in_process, raising=False)
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        with counting(runtime.engine) as counter:
            outcomes = await asyncio.gather(*(groups.submit(m) for m in ids))
            print("classify a group of", BATCH, ":", len(counter), counter.statements)
    finally:
        await runtime.stop()
    assert groups.sizes == [BATCH]
    assert (
        sum(o.task_created for o in outcomes) == BATCH - 4
        and outcomes[-1].duplicate_of == outcomes[0].task_id
    )
    budget = CLASSIFY_GROUP_BUDGET[runtime.engine.dialect.name] - 2 * in_process
    assert len(counter) <= budget, counter.statements
    assert counter.statements.count("COMMIT") == 2 - in_process
    assert len(counter) < BATCH * CLASSIFY_DUPLICATE_BUDGET / 4
