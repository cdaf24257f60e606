"""The worker's own JetStream consumer (`worker/consumer.py`): each pull's classification jobs go to
their groups at once, each is acknowledged only after its group's commit, and a failed one comes back."""

from __future__ import annotations

import asyncio
import json

import httpx
import nats
import pytest

from tasktracker.api.app import create_app
from tasktracker.classification.schemas import Classification
from tasktracker.runtime import Role
from tasktracker.worker.consumer import classify_job
from tests.support.app import ScriptedClassifier, WorkerProcess, eventually, get_json, serve
from tests.test_nats import _delete_stream, _migrated, nats_settings  # noqa: F401 (fixtures)


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
                from sqlalchemy import func, select

                from tasktracker.models import Message

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
