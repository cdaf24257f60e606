"""PostgreSQL stops under a running API: 503 with a JSON body in bounded time, readiness red, self-recovery."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.faults.conftest import base_env, migrate, stored_contents
from tests.support.app import eventually
from tests.support.throwaway import Service, ThrowawayPostgres

BOUND_S = 10.0  # the most a request may take while the database is away


@pytest.fixture
def own_postgres():
    server = ThrowawayPostgres()
    yield server
    server.destroy()


async def _status(client: httpx.AsyncClient, path: str) -> int | None:
    try:
        return (await client.get(path)).status_code
    except httpx.HTTPError:
        return None


async def test_api_answers_503_while_postgres_is_down_and_recovers_by_itself(
    tmp_path, shared_data_dir, own_postgres, nats_server, delete_streams
) -> None:
    database_url = own_postgres.url
    env = base_env(shared_data_dir, database_url, nats_server.url)
    delete_streams(env)
    await migrate(env["DATABASE_URL"])
    api = Service("api", env, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['PORT']}", timeout=60) as client:
            assert await eventually(lambda: _status(client, "/api/health/ready"), timeout=60, interval=0.2)
            before = await client.post(
                "/api/messages", json={"content": "Before the outage", "channel": "pg"}
            )
            assert before.status_code == 202

            own_postgres.stop()
            for method, path, body in [
                ("GET", "/api/messages", None),
                ("GET", "/api/tasks", None),
                ("POST", "/api/messages", {"content": "During the outage", "channel": "pg"}),
                ("GET", "/api/stats", None),
            ]:
                started = time.monotonic()
                answer = await client.request(method, path, json=body)
                took = time.monotonic() - started
                assert answer.status_code == 503, (path, answer.status_code, answer.text)
                assert answer.json() == {
                    "detail": "the database is unavailable; try again shortly",
                    "code": "database_unavailable",
                }
                assert answer.headers["retry-after"]
                assert took < BOUND_S, (path, took)
            ready = await client.get("/api/health/ready")
            assert ready.status_code == 503 and "database" in ready.json()["down"]
            assert (await client.get("/api/health")).status_code == 200  # alive: no reason to restart it

            own_postgres.start()

            async def recovered() -> bool:
                return await _status(client, "/api/messages") == 200

            assert await eventually(recovered, timeout=30, interval=0.3), api.output()
            after = await client.post("/api/messages", json={"content": "After the outage", "channel": "pg"})
            assert after.status_code == 202
            assert (await client.get("/api/health/ready")).json()["checks"]["database"] == "ok"
        assert await stored_contents(database_url) == {"Before the outage", "After the outage"}
        assert "Traceback" not in api.output()
    finally:
        api.stop()
