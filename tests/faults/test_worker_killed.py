"""A worker SIGKILLed in the middle of a batch: a new worker finishes it, each message classified once."""

from __future__ import annotations

import signal
import time

import httpx

from tests.faults.conftest import base_env, counts, migrate
from tests.support.app import eventually
from tests.support.throwaway import Service

BATCH = 200


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/api/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_worker_killed_mid_batch_then_a_new_worker_classifies_each_message_exactly_once(
    tmp_path, shared_data_dir, fault_database, nats_server, delete_streams
) -> None:
    env = base_env(
        shared_data_dir,
        fault_database,
        nats_server.url,
        TASKTRACKER_WORKER_CONCURRENCY="2",
        TASKTRACKER_JOB_ACK_WAIT_S="4",  # the killed worker's unacked jobs come back within seconds
        TASKTRACKER_SWEEP_INTERVAL_S="2",
    )
    delete_streams(env)
    await migrate(env["DATABASE_URL"])
    api = Service("api", env, tmp_path)
    first = second = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['PORT']}", timeout=30) as client:
            assert await eventually(lambda: _ready(client), timeout=60, interval=0.2), api.output()
            batch = [
                {
                    "content": f"Report {i}: the export button crashes on page {i}",
                    "author": "ann",
                    "channel": "faults",
                    "external_id": f"m{i}",
                }
                for i in range(BATCH)
            ]
            answer = await client.post("/api/messages/batch", json={"messages": batch})
            assert answer.status_code == 202 and answer.json()["created"] == BATCH

        first = Service("worker", env, tmp_path)

        async def some_classified() -> int | None:
            done = (await counts(fault_database)).get("classified", 0)
            return done if done >= 10 else None

        assert await eventually(some_classified, timeout=60, interval=0.02), first.output()
        first.signal(signal.SIGKILL)
        first.wait(10)
        at_kill = await counts(fault_database)
        assert at_kill.get("classified", 0) < BATCH, "the batch finished before the kill: nothing was tested"

        started = time.monotonic()
        second = Service("worker", env, tmp_path)

        async def all_classified() -> dict[str, int] | None:
            now = await counts(fault_database)
            return now if now.get("classified", 0) == BATCH else None

        final = await eventually(all_classified, timeout=90, interval=0.5)
        assert final is not None, (await counts(fault_database), second.output())
        print(
            f"killed at {at_kill.get('classified', 0)}/{BATCH}; rest took {time.monotonic() - started:.1f}s"
        )
        assert final["messages"] == BATCH and final.get("failed", 0) == 0
        assert final["issues"] == BATCH  # one classification run recorded per message
        assert final["messages_with_several_issues"] == 0
        assert 0 < final["tasks"] <= BATCH
    finally:
        for process in (second, api):
            if process is not None:
                process.stop()
