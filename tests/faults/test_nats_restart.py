"""The NATS server dies and comes back while messages are posted: every post is accepted, all classified."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.faults.conftest import base_env, counts, migrate
from tests.support.app import eventually
from tests.support.throwaway import Service, ThrowawayNats

POSTS = 60


@pytest.fixture
def own_nats():
    server = ThrowawayNats()
    yield server
    server.destroy()


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/api/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_nats_killed_and_restarted_while_posting_loses_nothing(
    tmp_path, shared_data_dir, fault_database, own_nats
) -> None:
    env = base_env(
        shared_data_dir,
        fault_database,
        own_nats.url,
        TASKTRACKER_SWEEP_INTERVAL_S="2",
        TASKTRACKER_SWEEP_STUCK_AFTER_S="3",
    )
    await migrate(env["DATABASE_URL"])
    api = Service("api", env, tmp_path)
    worker = Service("worker", env, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['PORT']}", timeout=30) as client:
            assert await eventually(lambda: _ready(client), timeout=60, interval=0.2), api.output()
            statuses: list[int] = []
            slowest = 0.0
            for i in range(POSTS):
                if i == POSTS // 3:
                    own_nats.kill()
                if i == 2 * POSTS // 3:
                    own_nats.start()  # same port, same JetStream store
                started = time.monotonic()
                answer = await client.post(
                    "/api/messages",
                    json={
                        "content": f"Bug {i}: login fails with code {i}",
                        "author": "bo",
                        "channel": "nats",
                    },
                )
                slowest = max(slowest, time.monotonic() - started)
                statuses.append(answer.status_code)
                await asyncio.sleep(0.05)
            assert statuses == [202] * POSTS, statuses
            print(f"slowest post while NATS was away: {slowest:.2f}s")
            assert slowest < 10

        async def all_classified() -> dict[str, int] | None:
            now = await counts(fault_database)
            return now if now.get("classified", 0) == POSTS else None

        posted = time.monotonic()
        final = await eventually(all_classified, timeout=90, interval=0.5)
        print(f"all {POSTS} classified {time.monotonic() - posted:.1f}s after the last post")
        assert final is not None, (await counts(fault_database), worker.output()[-2000:])
        assert final["messages"] == POSTS and final["messages_with_several_issues"] == 0
    finally:
        worker.stop()
        api.stop()
