"""What every suite shares: figures, options, fresh databases, and the production topology as processes.

A suite is a module `bench/<name>.py` with

    def run(options: Options) -> SuiteResult   # {"figures": [Figure, ...], "series": {...}}

and optionally `def plot(result: SuiteResult, out_dir: Path) -> list[Path]` (matplotlib, Agg), which
`bench/plots.py` calls on the stored results. A `Figure` is one measured number with the baseline
measured in the same run, their ratio, the issue's target and whether it was met; `series` holds the
raw points behind the plots (latency against concurrency, ...). Absolute numbers depend on the
machine; the ratios to a baseline measured alongside are what compare across machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

import asyncpg

from tests.support.services import Nats, Postgres, delete_stream, free_port

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT / "services" / "tasktracker" / "ai" / "data" / "dev.jsonl"


class Figure(TypedDict):
    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_name: str | None
    ratio: float | None
    target: str | None
    met: bool | None


class SuiteResult(TypedDict):
    figures: list[Figure]
    series: dict[str, Any]


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str | None = None,
    target: float | None = None,
    better: Literal["higher", "lower"] = "higher",
) -> Figure:
    """One measured number; `target` is a bound (≥ for `better="higher"`, < for "lower")."""
    ratio = value / baseline if baseline else None
    met = None if target is None else (value >= target if better == "higher" else value < target)
    bound = None if target is None else f"{'≥' if better == 'higher' else '<'} {target:g} {unit}"
    return Figure(
        name=name,
        value=round(value, 3),
        unit=unit,
        baseline=None if baseline is None else round(baseline, 3),
        baseline_name=baseline_name,
        ratio=None if ratio is None else round(ratio, 4),
        target=bound,
        met=met,
    )


@dataclass
class Options:
    """What `python -m bench` was asked; suites scale their work by `quick` (the smoke test)."""

    quick: bool = False
    soak_s: float = 60.0
    requests: int = 4000  # per ingest level
    token: str | None = None  # Authorization: Bearer <token> for the API (auth on)
    extra: dict[str, Any] = field(default_factory=dict)

    def scaled(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def texts(n: int) -> list[str]:
    rows = [json.loads(line)["text"] for line in DEV_SET.read_text().splitlines() if line.strip()]
    return [f"{rows[i % len(rows)]} #{i}" for i in range(n)]


def percentile(samples: Sequence[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# Servers ---------------------------------------------------------------------------------------------------

_servers: tuple[Postgres, Nats] | None = None


def servers() -> tuple[Postgres, Nats]:
    """The machine's PostgreSQL and NATS (or throwaway ones, as the tests do), found once."""
    global _servers
    if _servers is None:
        _servers = (Postgres(), Nats())
    return _servers


@contextlib.asynccontextmanager
async def fresh_database(migrate: bool = True) -> AsyncIterator[str]:
    """A new database on the PostgreSQL server (migrated), dropped afterwards; yields its URL."""
    postgres, _ = servers()
    name = f"tt_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{postgres.url}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = f"{postgres.url}/{name}"
    try:
        if migrate:
            from tasktracker.config import load_settings
            from tasktracker.migrations import upgrade_sync

            await asyncio.to_thread(upgrade_sync, load_settings(database_url=url).effective_database_url)
        yield url
    finally:
        admin = await asyncpg.connect(f"{postgres.url}/postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


# The production topology as processes ----------------------------------------------------------------------

_model_dir: Path | None = None


def data_dir() -> Path:
    """One data dir for every process of the run: the built-in model is trained once, then cached."""
    global _model_dir
    if _model_dir is None:
        _model_dir = Path(tempfile.mkdtemp(prefix="tt-bench-"))
    return _model_dir


def finish_data_dir(keep: bool) -> Path | None:
    """At the end of a run: remove its data dir (the processes' logs, the trained model; ~25 MB each
    run, and they piled up in /tmp), or, `keep` (a suite failed), leave it and return where it is."""
    global _model_dir
    path, _model_dir = _model_dir, None
    if path is not None and not keep:
        shutil.rmtree(path, ignore_errors=True)
        return None
    return path


_source: Path | None = None


def use_source(path: Path | None) -> None:
    """Run the api and worker processes from another checkout's `services/` (a before/after
    comparison: `python -m bench ingest --source ../old/services`); the bench itself stays this one."""
    global _source
    _source = path.resolve() if path else None


def source_env() -> dict[str, str]:
    """What makes a started process import the `--source` checkout (empty: this one's install)."""
    return {"PYTHONPATH": str(_source)} if _source is not None else {}


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    _, nats_server = servers()
    names = uuid.uuid4().hex[:10]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(data_dir()),
        "TASKTRACKER_DATA_DIR": str(data_dir()),
        "DATABASE_URL": database_url,
        "NATS_URL": nats_server.url,
        "TASKTRACKER_NATS_STREAM": f"tt_bench_{names}",
        "TASKTRACKER_NATS_SUBJECT": f"ttbench.{names}.jobs",
        "TASKTRACKER_NATS_DURABLE": f"tt_bench_{names}",
        "TASKTRACKER_NATS_EVENTS_SUBJECT": f"ttbench.{names}.events",
        "TASKTRACKER_CLASSIFIER": "builtin",
        "TASKTRACKER_LOG_LEVEL": "warning",
        "TASKTRACKER_AUTH": "off",
    }
    env.update(source_env())
    # A trained built-in model to start from (the tests' session seed), so no process trains one again.
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TASKTRACKER_BUILTIN_MODEL_SEED_DIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra)
    return env


@dataclass
class Proc:
    role: str
    popen: subprocess.Popen[bytes]
    url: str | None  # the API's base URL
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Stack:
    """Separate `tasktracker api` and `tasktracker worker` processes on one database and one stream."""

    database_url: str
    env: dict[str, str]
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    token: str | None = None  # the Bearer token every request sends (auth on, as in production)

    def load_args(self, mode: str, *, concurrency: int, url: str | None = None, **more: Any) -> list[str]:
        """`run_load` arguments against this stack's API(s) (all of them unless `url`), with its token."""
        target = url or ",".join(self.api_urls)
        return load_args(mode, url=target, concurrency=concurrency, token=self.token, **more)

    @property
    def api_urls(self) -> list[str]:
        return [p.url for p in self.apis if p.url]

    def start_api(self, **extra: str) -> Proc:
        port = free_port()
        env = {**self.env, "PORT": str(port), **extra}
        proc = _spawn("api", env, url=f"http://127.0.0.1:{port}")
        self.apis.append(proc)
        return proc

    def start_worker(self, **extra: str) -> Proc:
        env = {**self.env, "TASKTRACKER_HEALTH_PORT": str(free_port()), **extra}
        proc = _spawn("worker", env, url=None, health=f"http://127.0.0.1:{env['TASKTRACKER_HEALTH_PORT']}")
        self.workers.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                proc.popen.wait(30)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
        for group in (self.apis, self.workers):
            if proc in group:
                group.remove(proc)

    async def wait_ready(self, within_s: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + within_s
        async with httpx.AsyncClient(timeout=2) as client:
            for proc in [*self.apis, *self.workers]:
                url = f"{proc.url}/api/health/ready" if proc.url else f"{_health_url(proc)}/readyz"
                while True:
                    if proc.popen.poll() is not None:
                        raise RuntimeError(f"{proc.role} exited: {proc.log.read_text()[-2000:]}")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(url)).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{proc.role} not ready: {proc.log.read_text()[-2000:]}")
                    await asyncio.sleep(0.1)


_health: dict[int, str] = {}


def _health_url(proc: Proc) -> str:
    return _health[proc.pid]


def _spawn(role: str, env: dict[str, str], url: str | None, health: str | None = None) -> Proc:
    log = data_dir() / f"{role}-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [str(Path(sys.executable).parent / "tasktracker"), role],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir(),
        )
    if health:
        _health[popen.pid] = health
    return Proc(role, popen, url, log)


# The API with authentication on: `bench` is its admin (made at start from these settings), and
# `api_token()` gives a Bearer token of it, as a script or a channel adapter would use.
AUTH_ON: dict[str, str] = {
    "TASKTRACKER_AUTH": "on",
    "TASKTRACKER_ADMIN_USERNAME": "bench",
    "TASKTRACKER_ADMIN_PASSWORD": secrets.token_urlsafe(18),
}


async def api_token(database_url: str) -> str:
    """A new API token of the `bench` admin, made on the stack's database by the service behind
    `tasktracker token create` (in this process: a CLI process would spend seconds importing)."""
    from tasktracker.auth import service
    from tasktracker.auth.schemas import TokenCreate
    from tasktracker.config import load_settings
    from tasktracker.db import create_engine, create_sessionmaker

    engine = create_engine(load_settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            owner = await service.user_named(session, AUTH_ON["TASKTRACKER_ADMIN_USERNAME"])
            assert owner.id is not None
            _, value = await service.create_token(session, owner.id, TokenCreate(name="bench"))
            await session.commit()
    finally:
        await engine.dispose()
    return value


@contextlib.asynccontextmanager
async def stack(
    apis: int = 1, workers: int = 1, *, auth: bool = True, token: str | None = None, **extra: str
) -> AsyncIterator[Stack]:
    """A fresh database and stream with `apis` API and `workers` worker processes, all ready.

    Authentication is on, as in production (`AUTH_ON`): once the API is up, `topology.token` is an API
    token of its admin (or `token`, one made elsewhere), for the load generator and WebSocket clients."""
    _, nats_server = servers()
    async with fresh_database() as url:
        topology = Stack(url, process_env(url, **(AUTH_ON if auth else {}), **extra))
        try:
            for _ in range(apis):
                topology.start_api()
            for _ in range(workers):
                topology.start_worker()
            await topology.wait_ready()
            if auth:
                topology.token = token or await api_token(url)
            yield topology
        finally:
            for proc in [*topology.apis, *topology.workers]:
                topology.stop(proc)
            with contextlib.suppress(Exception):
                await delete_stream(nats_server.url, topology.env["TASKTRACKER_NATS_STREAM"])


def load_args(
    mode: str,
    *,
    concurrency: int,
    url: str | None = None,
    database: str | None = None,
    token: str | None = None,
    requests: int | None = None,
    batch: int | None = None,
    rate: float | None = None,
    duration: float | None = None,
) -> list[str]:
    """The arguments of `bench/load.py` for one run: against the API at `url` (comma-separated for
    several processes; `--token` when there is one), or the `insert` baseline against `database`."""
    args = [mode, "--concurrency", str(concurrency)]
    options = {
        "url": url,
        "database": database and asyncpg_url(database),
        "token": token,
        "requests": requests,
        "batch": batch,
        "rate": rate,
        "duration": duration,
    }
    for name, value in options.items():
        if value is not None:
            args += [f"--{name}", str(value)]
    return args


# Measuring processes ---------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def run_load(args: Sequence[str], timeout: float = 600) -> dict[str, Any]:
    """Run the load generator (`bench/load.py`) in its own process; returns what it measured."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed: {result.stderr[-3000:]}")
    return json.loads(result.stdout)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)
