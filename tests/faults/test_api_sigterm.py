"""The API gets SIGTERM during a burst: every request answered 202 is stored, whole."""

from __future__ import annotations

import asyncio
import signal

import httpx

from tests.faults.conftest import base_env, migrate, stored_contents
from tests.support.app import eventually
from tests.support.throwaway import Service

CLIENTS = 16
BATCH = 5


async def _ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/api/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_every_202_survives_a_sigterm_in_the_middle_of_a_burst(
    tmp_path, shared_data_dir, fault_database, nats_server, delete_streams
) -> None:
    env = base_env(shared_data_dir, fault_database, nats_server.url)
    delete_streams(env)
    await migrate(env["DATABASE_URL"])
    api = Service("api", env, tmp_path)
    accepted: list[list[str]] = []  # the contents of each request answered 202
    batches: list[list[str]] = []  # every batch sent, answered or not
    refused = 0
    stop = asyncio.Event()

    async def sender(client: httpx.AsyncClient, n: int) -> None:
        nonlocal refused
        i = 0
        while not stop.is_set():
            contents = [f"client {n} request {i} item {k}: the report page is slow" for k in range(BATCH)]
            i += 1
            try:
                if i % 2:
                    answer = await client.post("/api/messages", json={"content": contents[0], "channel": "t"})
                    contents = contents[:1]
                else:
                    batches.append(contents)
                    answer = await client.post(
                        "/api/messages/batch", json=[{"content": c, "channel": "t"} for c in contents]
                    )
            except httpx.HTTPError:
                refused += 1
                await asyncio.sleep(0.05)
                continue
            if answer.status_code == 202:
                accepted.append(contents)
            else:
                refused += 1

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['PORT']}", timeout=30) as client:
            assert await eventually(lambda: _ready(client), timeout=60, interval=0.2), api.output()
            senders = [asyncio.create_task(sender(client, n)) for n in range(CLIENTS)]
            assert await eventually(lambda: len(accepted) >= 30, timeout=60, interval=0.05)
            before = len(accepted)
            api.signal(signal.SIGTERM)
            code = await asyncio.to_thread(api.wait, 60)
            stop.set()
            await asyncio.gather(*senders)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status names it
        assert code in (0, -signal.SIGTERM), api.output()
        assert "Application shutdown complete" in api.output()
        stored = await stored_contents(fault_database)
        missing = [c for contents in accepted for c in contents if c not in stored]
        print(
            f"{len(accepted)} requests answered 202 ({before} before SIGTERM), {refused} refused afterwards"
        )
        assert missing == []
        half_done = [b for b in batches if 0 < len(stored.intersection(b)) < len(b)]
        assert half_done == []  # a batch is one transaction: stored whole or not at all
    finally:
        api.stop()
