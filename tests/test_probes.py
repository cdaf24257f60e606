"""Probe endpoints of the worker and bot processes, and the image's HEALTHCHECK that asks them."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tasktracker.probes import ProbeServer, container_role, health_url
from tests.support.app import eventually
from tests.support.services import delete_stream, free_port

TASKTRACKER = str(Path(sys.executable).with_name("tasktracker"))


async def test_healthz_and_readyz_answer_from_the_check() -> None:
    state = {"database": "ok", "broker": "ok"}

    async def ready() -> dict[str, str]:
        return dict(state)

    async with (
        ProbeServer(0, ready, host="127.0.0.1") as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}") as client,
    ):
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready_ok = await client.get("/readyz")
        assert ready_ok.status_code == 200 and ready_ok.json()["down"] == []
        state["broker"] = "down: not connected"
        down = await client.get("/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "down": ["broker"], "checks": state}
        assert (await client.get("/healthz")).status_code == 200  # liveness does not follow readiness
        assert (await client.get("/nothing-here")).status_code == 404
        assert (await client.get("/metrics")).status_code == 401  # no scrape token configured
        assert (await client.post("/healthz")).status_code == 405


async def test_a_failing_or_hanging_check_is_not_ready(monkeypatch) -> None:
    import tasktracker.probes as probes

    monkeypatch.setattr(probes, "CHECK_TIMEOUT_S", 0.2)

    async def broken() -> dict[str, str]:
        raise RuntimeError("boom")

    async def hanging() -> dict[str, str]:
        await asyncio.sleep(10)
        return {}

    for check, reason in ((broken, "down: RuntimeError"), (hanging, "down: TimeoutError")):
        async with ProbeServer(0, check, host="127.0.0.1") as server:
            answer = await _get(f"http://127.0.0.1:{server.bound_port}/readyz")
            assert (
                answer is not None
                and answer.status_code == 503
                and answer.json()["checks"] == {"readiness": reason}
            )


async def test_garbage_gets_400_and_the_server_keeps_serving() -> None:
    async def ready() -> dict[str, str]:
        return {}

    async with ProbeServer(0, ready, host="127.0.0.1") as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(b"hello\r\n\r\n")
        await writer.drain()
        assert (await reader.read()).startswith(b"HTTP/1.1 400 ")
        writer.close()
        answer = await _get(f"http://127.0.0.1:{server.bound_port}/healthz")
        assert answer is not None and answer.status_code == 200


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (["/opt/venv/bin/python", "/opt/venv/bin/tasktracker", "worker"], "worker"),
        (["tasktracker", "bot"], "bot"),
        (["tasktracker", "bot", "set-webhook"], "bot"),
        (["/usr/bin/python", "/venv/bin/tasktracker", "--help"], None),
        # the dev image: watchfiles runs "tasktracker api" as one argument
        (["python", "/opt/venv/bin/watchfiles", "--filter", "python", "tasktracker api", "/app"], "api"),
        (["/bin/sh", "/usr/local/bin/tasktracker-dev", "api"], None),
        (["nginx", "-g", "daemon off;"], None),
    ],
)
def test_container_role_is_read_from_the_arguments(cmdline, role) -> None:
    assert container_role(cmdline) == role


def test_each_role_is_checked_on_the_port_it_listens_on() -> None:
    assert health_url("api", 8000, 8081) == "http://127.0.0.1:8000/api/health"
    assert health_url("run", 9000, 8081) == "http://127.0.0.1:9000/api/health"
    assert health_url("worker", 8000, 8081) == "http://127.0.0.1:8081/healthz"
    assert health_url("bot", 8000, 9191) == "http://127.0.0.1:9191/healthz"
    assert health_url("worker", 8000, 0) is None  # probes off: nothing to ask
    assert health_url("migrate", 8000, 8081) is None


# The real worker process ------------------------------------------------------------------------------


@pytest.fixture
def worker_env(tmp_path, nats_server, unique) -> Iterator[dict[str, str]]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TASKTRACKER_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probes.db'}",
        "NATS_URL": nats_server.url,
        "TASKTRACKER_NATS_STREAM": f"tt_jobs_{unique}",
        "TASKTRACKER_NATS_SUBJECT": f"tt.{unique}.jobs",
        "TASKTRACKER_NATS_DURABLE": f"tt_workers_{unique}",
        "TASKTRACKER_NATS_EVENTS_SUBJECT": f"tt.{unique}.events",
        "TASKTRACKER_CLASSIFIER": "builtin",
        "TASKTRACKER_HEALTH_PORT": str(free_port()),
    }
    yield env
    with contextlib.suppress(Exception):
        asyncio.run(delete_stream(nats_server.url, env["TASKTRACKER_NATS_STREAM"]))


def _run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TASKTRACKER, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _healthcheck(env: dict[str, str], role: str) -> int:
    # What the image's HEALTHCHECK runs; the role is given as PID 1's arguments would name it.
    command = [sys.executable, "-m", "tasktracker.probes", "tasktracker", role]
    return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode


async def _get(url: str) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return await client.get(url)
    except httpx.HTTPError:
        return None


async def test_worker_process_serves_probes_and_the_healthcheck_finds_them(worker_env) -> None:
    waited = _run(["migrate", "--wait", "--timeout", "1"], worker_env)
    assert waited.returncode == 1 and "schema not migrated after 1s; missing:" in waited.stderr
    assert _run(["migrate"], worker_env).returncode == 0

    base = f"http://127.0.0.1:{worker_env['TASKTRACKER_HEALTH_PORT']}"
    worker_env["TASKTRACKER_METRICS_TOKEN"] = "probe-test-scrape-token"
    assert _healthcheck(worker_env, "worker") == 1  # nothing listens yet
    proc = subprocess.Popen([TASKTRACKER, "worker"], env=worker_env, stderr=subprocess.PIPE, text=True)
    try:

        async def ready() -> httpx.Response | None:
            answer = await _get(base + "/readyz")
            return answer if answer is not None and answer.status_code == 200 else None

        answer = await eventually(ready, timeout=60, interval=0.3)
        assert answer is not None, "the worker never became ready"
        # the same readiness as the API's /api/health/ready
        assert answer.json()["checks"] == {
            "database": "ok",
            "broker": "ok",
            "events": "ok",
            "classifier": "ok",
        }
        assert await asyncio.to_thread(_healthcheck, worker_env, "worker") == 0
        # the API's port is not the worker's: a check of the wrong port fails
        assert await asyncio.to_thread(_healthcheck, worker_env, "api") == 1
        # Started, the worker moved its start-up heap (the model too) out of the collector's reach.
        async with httpx.AsyncClient(timeout=5) as client:
            scrape = await client.get(
                base + "/metrics", headers={"Authorization": "Bearer probe-test-scrape-token"}
            )
        assert scrape.status_code == 200
        frozen = next(
            float(line.split()[-1])
            for line in scrape.text.splitlines()
            if line.startswith("tasktracker_gc_frozen_objects ")
        )
        assert frozen > 100_000
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr[-2000:]


async def test_worker_without_its_broker_is_alive_but_not_ready(worker_env) -> None:
    worker_env["NATS_URL"] = f"nats://127.0.0.1:{free_port()}"  # nothing listens there
    assert _run(["migrate"], worker_env).returncode == 0
    base = f"http://127.0.0.1:{worker_env['TASKTRACKER_HEALTH_PORT']}"
    proc = subprocess.Popen([TASKTRACKER, "worker"], env=worker_env, stderr=subprocess.DEVNULL)
    try:
        alive = await eventually(lambda: _get(base + "/healthz"), timeout=60, interval=0.3)
        assert alive is not None and alive.status_code == 200
        not_ready = await _get(base + "/readyz")
        assert not_ready is not None and not_ready.status_code == 503
        assert not_ready.json()["down"] == ["broker", "events"]  # both go over the unreachable NATS
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0


@pytest.mark.empty_database
async def test_wait_for_head_returns_once_the_schema_is_migrated(make_settings) -> None:
    from tasktracker.db import create_engine
    from tasktracker.migrations import upgrade, wait_for_head

    engine = create_engine(make_settings())
    try:
        missing = await wait_for_head(engine, timeout_s=0.3, poll_s=0.1)
        assert missing  # an empty database: the head revision is missing
        waiting = asyncio.create_task(wait_for_head(engine, timeout_s=30, poll_s=0.1))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # still waiting for the migration
        await upgrade(engine)  # what the migration Job does meanwhile
        assert await asyncio.wait_for(waiting, 10) == []
    finally:
        await engine.dispose()
