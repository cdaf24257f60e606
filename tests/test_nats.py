"""Production topology on the real NATS JetStream: separate API and worker runtimes, events fanned out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import websockets
from sqlalchemy import func, select

from tasktracker.api.app import create_app
from tasktracker.classification.schemas import Classification
from tasktracker.models import Message
from tasktracker.runtime import Role
from tasktracker.worker.consumer import classify_job
from tests.support.app import ScriptedClassifier, WorkerProcess, eventually, get_json, serve
from tests.support.services import free_port, wait_port


@pytest.fixture
def nats_settings(make_settings, nats_server, unique):
    """Settings naming a stream, subjects and consumer of this test alone; removed afterwards."""
    names = {
        "nats_url": nats_server.url,
        "nats_stream": f"tt_jobs_{unique}",
        "nats_subject": f"tt.{unique}.jobs",
        "nats_durable": f"tt_workers_{unique}",
        "nats_events_subject": f"tt.{unique}.events",
    }

    def factory(**overrides):
        return make_settings(**(names | overrides))

    yield factory
    asyncio.get_event_loop_policy()  # keep the fixture a generator for the cleanup below


@pytest.fixture(autouse=True)
async def _delete_stream(request, nats_server, unique):
    yield
    nc = await nats.connect(nats_server.url)
    try:
        await nc.jetstream().delete_stream(f"tt_jobs_{unique}")
    except Exception:
        pass
    finally:
        await nc.close()


async def _migrated(settings):
    from tasktracker.db import create_engine
    from tasktracker.migrations import upgrade

    engine = create_engine(settings)
    await upgrade(engine)
    await engine.dispose()


async def _wait_ready(client: httpx.AsyncClient) -> None:
    async def ready() -> bool:
        return (await client.get("/api/health/ready")).status_code == 200

    await eventually(ready, timeout=15)


async def _next_of_type(ws, kind: str, timeout: float = 15) -> dict:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if event["type"] == kind:
            return event


async def _subscribed(app: Any) -> None:
    """Until the API's hub listens on the events subject, its SUB through to the server (a flush is a
    round trip on the same connection): a fixed sleep here missed the event on a loaded machine."""
    bus = app.state.runtime.bus
    await eventually(lambda: bool(bus._subscribers))
    await bus.client.flush()


async def test_api_and_worker_over_jetstream_with_two_api_replicas(nats_settings) -> None:
    settings = nats_settings()
    await _migrated(settings)
    worker = WorkerProcess(settings, ScriptedClassifier())
    await worker.start()
    try:
        app_a = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
        app_b = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
        async with (
            serve(app_a) as base_a,
            serve(app_b) as base_b,
            httpx.AsyncClient(base_url=base_a) as client,
        ):
            await _wait_ready(client)
            async with httpx.AsyncClient(base_url=base_b) as client_b:
                await _wait_ready(client_b)
            ws_a = (await get_json(client, "/api/config"))["ws_url"]
            ws_b = ws_a.replace(base_a.split("//")[1], base_b.split("//")[1])
            async with websockets.connect(ws_a) as a, websockets.connect(ws_b) as b:
                assert json.loads(await a.recv())["type"] == "hello"
                assert json.loads(await b.recv())["type"] == "hello"
                await _subscribed(app_a)
                await _subscribed(app_b)
                r = await client.post(
                    "/api/messages", json={"content": "bug: checkout fails", "external_id": "n1"}
                )
                assert r.status_code == 202
                got_a = await _next_of_type(a, "task.created")
                got_b = await _next_of_type(b, "task.created")
                assert got_a["id"] == got_b["id"]  # the same event, published once by the worker
                assert got_a["data"]["source_message_id"] == r.json()["id"]
            message = await get_json(client, f"/api/messages/{r.json()['id']}")
            assert message["status"] == "classified"
    finally:
        await worker.stop()


async def test_stuck_messages_are_recovered_after_broker_outage(nats_settings) -> None:
    """Messages accepted while the broker is unreachable are stored, then classified by the sweep."""
    settings_down = nats_settings(nats_url=f"nats://127.0.0.1:{free_port()}")  # nothing listens there
    settings = nats_settings(sweep_stuck_after_s=0.2, sweep_interval_s=0.5)
    await _migrated(settings)
    api = create_app(settings_down, role=Role.api, classifier=ScriptedClassifier())
    async with serve(api) as base, httpx.AsyncClient(base_url=base) as client:
        ready = await client.get("/api/health/ready")
        assert ready.status_code == 503 and "broker" in ready.json()["down"]
        ids = []
        for i in range(5):
            r = await client.post(
                "/api/messages", json={"content": f"task: outage item {i}", "external_id": f"o{i}"}
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        page = await get_json(client, "/api/messages", params={"status": "received"})
        assert len(page["data"]) == 5

    worker = WorkerProcess(settings, ScriptedClassifier())
    await worker.start()
    try:
        await asyncio.wait_for(worker.broker_ready.wait(), 15)
        # No job was ever sent for these messages: only the worker's sweep can have queued them.
        from sqlalchemy import select

        from tasktracker.models import Message

        async def all_classified() -> bool:
            async with worker.sessions() as session:
                rows = (await session.execute(select(Message.status))).scalars().all()
            return set(rows) == {"classified"} and len(rows) == 5

        await eventually(all_classified, timeout=15)
    finally:
        await worker.stop()


async def test_redelivered_job_creates_one_task(nats_settings) -> None:
    """The same job delivered twice (a redelivery) still yields exactly one task."""
    settings = nats_settings()
    await _migrated(settings)
    classifier = ScriptedClassifier(delay=0.2)
    worker = WorkerProcess(settings, classifier)
    await worker.start()
    api = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
    try:
        async with serve(api) as base, httpx.AsyncClient(base_url=base) as client:
            await _wait_ready(client)
            await asyncio.wait_for(worker.broker_ready.wait(), 15)
            r = await client.post(
                "/api/messages", json={"content": "feature: export to csv", "external_id": "r1"}
            )
            message_id = r.json()["id"]
            await worker.enqueue_classification([message_id, message_id])  # two more deliveries, concurrently

            async def settled() -> bool:
                return (await get_json(client, f"/api/messages/{message_id}"))["status"] == "classified"

            await eventually(settled, timeout=15)
            await asyncio.sleep(1.0)
            tasks = (await get_json(client, "/api/tasks"))["data"]
            assert len(tasks) == 1
            detail = await get_json(client, f"/api/messages/{message_id}")
            assert len(detail["issues"]) == 1  # only the run that finished first is recorded
    finally:
        await worker.stop()


async def test_worker_shutdown_finishes_in_flight_job(nats_settings) -> None:
    """SIGTERM-style stop: the running job completes and is acked before the worker exits."""
    settings = nats_settings(shutdown_grace_s=10)
    await _migrated(settings)
    classifier = ScriptedClassifier(delay=1.5)
    worker = WorkerProcess(settings, classifier)
    await worker.start()
    api = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
    async with serve(api) as base, httpx.AsyncClient(base_url=base) as client:
        await _wait_ready(client)
        await asyncio.wait_for(worker.broker_ready.wait(), 15)
        r = await client.post("/api/messages", json={"content": "task: slow one", "external_id": "g1"})
        await eventually(lambda: classifier.calls, timeout=10)  # the job is running now
        await worker.stop()
        message = await get_json(client, f"/api/messages/{r.json()['id']}")
        assert message["status"] == "classified"
    nc = await nats.connect(settings.nats_url)
    try:
        info = await nc.jetstream().consumer_info(settings.nats_stream, settings.nats_durable)
        assert info.num_ack_pending == 0 and info.num_pending == 0  # acked, nothing left to redeliver
    finally:
        await nc.close()


def _start_private_nats(port: int, store: str) -> subprocess.Popen[bytes]:
    """A NATS server of this test alone (the shared one must never be stopped)."""
    binary = shutil.which("nats-server") or str(Path(sys.executable).parent / "nats-server")
    proc = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port("127.0.0.1", port)
    return proc


async def test_intake_does_not_wait_for_a_broker_that_went_down(make_settings, tmp_path, unique) -> None:
    """NATS dies after the API connected: messages are still answered at once (Slack gives 3 s), and
    the sweep classifies them once NATS is back (issue 8, D5)."""
    port = free_port()
    store = str(tmp_path / "nats")
    names = {
        "nats_url": f"nats://127.0.0.1:{port}",
        "nats_stream": f"tt_jobs_{unique}",
        "nats_subject": f"tt.{unique}.jobs",
        "nats_durable": f"tt_workers_{unique}",
        "nats_events_subject": f"tt.{unique}.events",
    }
    # A long enqueue bound: an intake that still tried the dead broker would wait out the client's publish
    # timeout (5 s) instead of the bound, so the assertion below tells "not tried" from "tried, timed out".
    settings = make_settings(**names, sweep_stuck_after_s=0.2, sweep_interval_s=0.5, enqueue_timeout_s=30)
    await _migrated(settings)
    nats_proc = _start_private_nats(port, store)
    try:
        api = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
        async with serve(api) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            await _wait_ready(client)
            nats_proc.kill()
            nats_proc.wait(10)

            async def post(i: int) -> float:
                started = time.monotonic()
                r = await client.post(
                    "/api/messages", json={"content": f"task: during outage {i}", "external_id": f"d{i}"}
                )
                assert r.status_code == 202, r.text
                return time.monotonic() - started

            await asyncio.sleep(0.5)  # the client notices the closed connection
            took = await asyncio.gather(*(post(i) for i in range(20)))
            # Was 5.1 s each (the publish timeout); now no send is tried. The margin is for a loaded machine.
            assert max(took) < 4.0, took

        nats_proc = _start_private_nats(port, store)
        worker = WorkerProcess(settings, ScriptedClassifier())
        await worker.start()
        try:
            from sqlalchemy import select

            from tasktracker.models import Message

            async def all_classified() -> bool:
                async with worker.sessions() as session:
                    rows = (await session.execute(select(Message.status))).scalars().all()
                return set(rows) == {"classified"} and len(rows) == 20

            await eventually(all_classified, timeout=30)
        finally:
            await worker.stop()
    finally:
        nats_proc.kill()
        nats_proc.wait(10)


# The worker's own JetStream consumer (`worker/consumer.py`): each pull's classification jobs go to their
# groups at once, each is acknowledged after it ran, and a failed one comes back through the sweep.


class Poisoned(ScriptedClassifier):
    async def classify(self, text: str) -> Classification:
        if "poison" in text:
            self.calls.append(text)
            raise RuntimeError("this text breaks the model")
        return await super().classify(text)


async def _post(settings, contents: list[str]) -> list[int]:
    """Store messages through an API of the same stream (their jobs wait there: no worker runs yet)."""
    api = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
    async with serve(api) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        items = [{"content": c, "channel": "pull", "external_id": f"p{i}"} for i, c in enumerate(contents)]
        answer = await client.post("/api/messages/batch", json={"messages": items})
        assert answer.status_code == 202, answer.text
        return [m["id"] for m in answer.json()["data"]]


async def _consumer_state(settings) -> tuple[int, int]:
    nc = await nats.connect(settings.nats_url)
    try:
        info = await nc.jetstream().consumer_info(settings.nats_stream, settings.nats_durable)
        return info.num_ack_pending, info.num_pending
    finally:
        await nc.close()


async def test_waiting_jobs_go_through_in_full_groups_and_are_all_acknowledged(nats_settings) -> None:
    settings = nats_settings(worker_concurrency=8)
    await _migrated(settings)
    ids = await _post(settings, [f"bug: screen {i} freezes on save {i}" for i in range(20)])
    worker = WorkerProcess(settings, ScriptedClassifier())
    await worker.start()
    try:

        async def all_classified() -> bool:
            async with worker.sessions() as session:
                done = await session.scalar(
                    select(func.count()).select_from(Message).where(Message.status == "classified")
                )
            return done == len(ids)

        await eventually(all_classified, timeout=20)
        sizes = list(worker.worker.groups.sizes)

        async def acknowledged() -> bool:
            return await _consumer_state(settings) == (0, 0)

        await eventually(acknowledged, timeout=10)
    finally:
        await worker.stop()
    # Taken a pull at a time, not a job at a time: groups of up to 8 (taskiq's receiver gave 1s and 2s).
    assert sum(sizes) == len(ids) and len(sizes) <= 4, sizes  # 3 when each pull came in one piece


async def test_a_failed_job_is_acknowledged_and_its_message_sent_again_by_the_sweep(nats_settings) -> None:
    """As taskiq's WHEN_EXECUTED did: the others are unaffected, the failed one waits for the sweep."""
    settings = nats_settings(job_ack_wait_s=1.0)
    await _migrated(settings)
    ids = await _post(settings, ["bug: fine one", "bug: poison pill", "task: another fine one"])
    classifier = Poisoned()
    worker = WorkerProcess(settings, classifier)
    await worker.start()
    try:
        api = create_app(settings, role=Role.api, classifier=ScriptedClassifier())
        async with serve(api) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:

            async def settled() -> bool:
                rows = [await get_json(client, f"/api/messages/{m}") for m in ids]
                done = [row["status"] for row in rows] == ["classified", "classifying", "classified"]
                return done and await _consumer_state(settings) == (0, 0)

            await eventually(settled, timeout=15)
            assert classifier.calls.count("bug: poison pill") == 1
            await asyncio.sleep(1.1)  # the claim is stale now
            assert await worker.worker.sweep() == 1

            async def sent_again() -> bool:
                return classifier.calls.count("bug: poison pill") == 2

            await eventually(sent_again, timeout=15)
    finally:
        await worker.stop()
    assert classifier.calls.count("bug: fine one") == 1  # the others never came back


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"task_name": "messages.classify", "args": [7], "kwargs": {}, "labels": {"traceparent": "x"}},
            (7, {"traceparent": "x"}),
        ),
        ({"task_name": "exports.push", "args": [7], "kwargs": {}, "labels": {}}, None),
        ({"task_name": "messages.classify", "args": ["7"], "kwargs": {}, "labels": {}}, None),
        ({"task_name": "messages.classify", "args": [], "kwargs": {"message_id": 7}, "labels": {}}, None),
        ({"task_name": "messages.classify", "args": [True], "kwargs": {}, "labels": {}}, None),
        ([1, 2], None),
    ],
)
def test_only_the_classify_jobs_it_knows_skip_taskiq(data, expected) -> None:
    """Anything else (another job, an odd shape) goes through taskiq's receiver as before."""
    assert classify_job(json.dumps(data).encode()) == expected
    assert classify_job(b"not json") is None


def test_the_job_format_is_taskiqs() -> None:
    """What `broker.enqueue` sends is what `classify_job` reads (a taskiq upgrade changing it fails here)."""
    from taskiq import InMemoryBroker
    from taskiq.kicker import AsyncKicker

    broker = InMemoryBroker()
    message = AsyncKicker("messages.classify", broker, {}).with_labels(traceparent="t")._prepare_message(9)
    assert classify_job(broker.formatter.dumps(message).message) == (9, {"traceparent": "t"})
    asyncio.get_event_loop_policy()


async def test_jobs_published_at_once_are_stored_as_taskiq_jobs_and_the_refused_ones_reported(
    nats_settings, unique
) -> None:
    """`JetStreamBroker.publish_jobs` (the API's job sender): every job stored, in taskiq's format, read by
    the worker's consumer and by taskiq alike; a job JetStream does not store is reported, at once."""
    from taskiq import TaskiqMessage

    from tasktracker.broker import CLASSIFY_MESSAGE, JetStreamBroker, create_broker

    settings = nats_settings()
    broker = create_broker(settings)
    assert isinstance(broker, JetStreamBroker)
    await broker.startup()
    try:
        jobs = [(i, {"traceparent": f"t{i}"} if i % 2 else {}) for i in range(1, 301)]
        assert await broker.publish_jobs(CLASSIFY_MESSAGE, jobs, 10) == []
        stored = await broker.consumer.fetch(300, timeout=5)
        read = sorted(classify_job(m.data) for m in stored)  # type: ignore[type-var]
        assert read == sorted(jobs)
        as_taskiq = TaskiqMessage.model_validate_json(stored[0].data)
        assert as_taskiq.task_name == CLASSIFY_MESSAGE and as_taskiq.args[0] in dict(jobs)
        for message in stored:
            await message.ack()

        broker.subject = f"tt.{unique}.nowhere"  # no stream takes it: JetStream answers no one
        started = time.monotonic()
        assert await broker.publish_jobs(CLASSIFY_MESSAGE, [(7, {}), (8, {})], 10) == [7, 8]
        assert time.monotonic() - started < 5
    finally:
        await broker.shutdown()


async def test_a_process_gets_its_own_events_once_and_the_others_over_nats(nats_server, unique) -> None:
    """The event bus: a process's own events reach its subscribers directly, once (NATS does not echo
    them back, so they are not read and parsed a second time); another process's come over NATS."""
    from tasktracker.events import schemas as events
    from tasktracker.events.bus import NatsBus

    subject = f"tt.{unique}.events"
    here, there = NatsBus(nats_server.url, subject), NatsBus(nats_server.url, subject)
    for bus in (here, there):
        await bus.start()
    received: list[events.Event] = []

    async def follow() -> None:
        async for event in here.subscribe():
            received.append(event)

    follower = asyncio.create_task(follow())
    try:
        await eventually(lambda: bool(here._subscribers) and there.connected, timeout=10)
        own, other = events.task_deleted(1), events.task_deleted(2)
        await here.publish(own)
        await there.publish(other)
        await eventually(lambda: len(received) >= 2, timeout=10)
        await asyncio.sleep(0.2)  # an echo of `own`, were there one, would have come by now
        assert [e.id for e in received] == [own.id, other.id]
        assert received[0] is own and received[1] == other  # its own: the very object published
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        for bus in (here, there):
            await bus.stop()


async def test_jobs_published_on_another_connection_are_stored_and_acknowledged_there(nats_settings) -> None:
    """The API's job sender publishes on the event bus's connection (one write with the events): the
    jobs are stored all the same, and JetStream's answers come back on that connection."""
    from tasktracker.broker import CLASSIFY_MESSAGE, JetStreamBroker, create_broker

    settings = nats_settings()
    broker = create_broker(settings)
    assert isinstance(broker, JetStreamBroker)
    await broker.startup()
    other = await nats.connect(settings.nats_url, no_echo=True)
    try:
        jobs = [(i, {}) for i in range(1, 21)]
        assert await broker.publish_jobs(CLASSIFY_MESSAGE, jobs, 10, client=other) == []
        stored = await broker.consumer.fetch(20, timeout=5)
        assert sorted(classify_job(m.data) for m in stored) == sorted(jobs)  # type: ignore[type-var]
        for message in stored:
            await message.ack()
    finally:
        await other.close()
        await broker.shutdown()
