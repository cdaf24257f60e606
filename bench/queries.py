"""Reading at scale: `GET /api/tasks`, `GET /api/messages` and `GET /api/stats` over 100k and 1M rows.

For each table size a seeded PostgreSQL database (bench/seed.py; cached as `tt_bench_<size>` and migrated
to the newest schema on each run) is served by a real `tasktracker api` process. Each query is requested
over HTTP one at a time, `runs` times after a warm-up; p50/p99 are client-measured wall times.

Baseline, same run, same connection parameters: the bare primary-key read of a page,
`SELECT * FROM <table> ORDER BY id DESC LIMIT 50` over asyncpg. It is the floor any list request stands
on (a page of rows off an index, no filter, no HTTP); ratio = query p99 / that p99 tells how far each
filter, search and sort is from reading a page straight off an index. For the record each query's SQL is
also run under EXPLAIN ANALYZE (the plan's first line and execution time are kept in the results).

    python -m bench.queries [--sizes 100000,1000000] [--runs 300] [--drop-cache] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import seed as seeding

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("TASKTRACKER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
NATS = os.environ.get("TASKTRACKER_TEST_NATS", "nats://127.0.0.1:4222")
TARGET_LIST_P99_MS = 30.0
TARGET_STATS_MS = 100.0

# name -> (path, params). Channel, assignee and task ids are filled in from the seeded data.
TASK_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("tasks default", {}),
    ("tasks status=open", {"status": "open"}),
    ("tasks board (open+in_progress)", {"status": ["open", "in_progress"]}),
    ("tasks category=question", {"category": "question"}),
    ("tasks priority=urgent", {"priority": "urgent"}),
    ("tasks channel=sales", {"channel": "sales"}),
    ("tasks assignee=<tail>", {"assignee": "{tail_assignee}"}),
    ("tasks unassigned", {"assignee": ""}),
    ("tasks needs_review", {"needs_review": "true"}),
    ("tasks closed+needs_review (none)", {"status": "closed", "needs_review": "true"}),
    ("tasks q=<common word>", {"q": "checkout"}),
    ("tasks q=<rare word>", {"q": seeding.RARE_WORD}),
    ("tasks q=<two words>", {"q": "payment fails"}),
    ("tasks q=<Cyrillic>", {"q": "помилка"}),
    ("tasks q=<prefix>", {"q": "notif"}),
    ("tasks sort=created_at", {"sort": "created_at"}),
    ("tasks sort=-updated_at", {"sort": "-updated_at"}),
    ("tasks sort=updated_at", {"sort": "updated_at"}),
    ("tasks sort=-priority", {"sort": "-priority"}),
    ("tasks sort=priority", {"sort": "priority"}),
    ("tasks page 2 (cursor)", {"cursor": "{cursor}"}),
]
MESSAGE_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("messages default", {}),
    ("messages status=failed", {"status": "failed"}),
    ("messages channel=sales", {"channel": "sales"}),
    ("messages category=question", {"category": "question"}),
    ("messages task_id", {"task_id": "{task_id}"}),
    ("messages q=<common word>", {"q": "checkout"}),
    ("messages q=<rare word>", {"q": seeding.RARE_WORD}),
]


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def figure(
    name: str, value: float, unit: str, *, baseline: float | None, baseline_name: str, target: float | None
) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "baseline_name": baseline_name,
        "ratio": None if ratio is None else round(ratio, 3),
        "target": None if target is None else f"< {target:g} {unit}",
        "met": None if target is None else value < target,
    }


# The database --------------------------------------------------------------------------------------------


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(f"{POSTGRES}/postgres")


async def drop_cached(sizes: Sequence[int]) -> None:
    admin = await _admin()
    try:
        for size in sizes:
            await admin.execute(f'DROP DATABASE IF EXISTS "{seeding.database_name(size)}" WITH (FORCE)')
    finally:
        await admin.close()


async def _seeded_version(name: str) -> tuple[str, int] | None:
    try:
        conn = await asyncpg.connect(f"{POSTGRES}/{name}")
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        row = await conn.fetchrow("SELECT version, size FROM bench_seed")
        return (row["version"], row["size"]) if row else None
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


def _migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tasktracker.cli", "migrate"],
        env={**os.environ, "DATABASE_URL": url, "TASKTRACKER_LOG_LEVEL": "warning"},
        check=True,
        cwd=ROOT,
    )


async def ensure_database(size: int, log: Any = print) -> str:
    """The cached seeded database of this size, migrated to the newest schema; seeded when missing."""
    name = seeding.database_name(size)
    url = f"{POSTGRES}/{name}"
    if await _seeded_version(name) != (seeding.SEED_VERSION, size):
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        started = time.perf_counter()
        await asyncio.to_thread(_migrate, url)
        conn = await asyncpg.connect(url)
        try:
            await seeding.seed(conn, size)
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        log(f"seeded {name}: {size:,} tasks and messages in {time.perf_counter() - started:.0f}s")
    started = time.perf_counter()
    await asyncio.to_thread(_migrate, url)  # a cached database gets this branch's newest migrations
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    log(f"{name}: migrated and analysed in {time.perf_counter() - started:.1f}s")
    return url


# The API process -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def api_process(database_url: str) -> AsyncIterator[str]:
    """A real `tasktracker api` on the database (auth off, its own JetStream names), until exit."""
    port = _free_port()
    names = uuid.uuid4().hex[:10]
    data_dir = tempfile.mkdtemp(prefix="tt-bench-q-")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": NATS,
        "PORT": str(port),
        "TASKTRACKER_DATA_DIR": data_dir,
        "TASKTRACKER_NATS_STREAM": f"tt_benchq_{names}",
        "TASKTRACKER_NATS_SUBJECT": f"ttbenchq.{names}.jobs",
        "TASKTRACKER_NATS_DURABLE": f"tt_benchq_{names}",
        "TASKTRACKER_NATS_EVENTS_SUBJECT": f"ttbenchq.{names}.events",
        "TASKTRACKER_CLASSIFIER": "builtin",
        "TASKTRACKER_LOG_LEVEL": "warning",
        "TASKTRACKER_AUTH": "off",
    }
    log = Path(data_dir) / "api.log"
    proc = _spawn_api(env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"api exited: {log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{base}/api/health/ready")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"api not ready: {log.read_text()[-2000:]}")
                await asyncio.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        await _delete_stream(f"tt_benchq_{names}")


def _spawn_api(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tasktracker.cli", "api"], env=env, stdout=out, stderr=subprocess.STDOUT
        )


async def _delete_stream(name: str) -> None:
    import nats

    with contextlib.suppress(Exception):
        nc = await nats.connect(NATS)
        try:
            await nc.jetstream().delete_stream(name)
        finally:
            await nc.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Measuring ----------------------------------------------------------------------------------------------


async def _timed(client: httpx.AsyncClient, path: str, params: Any, runs: int) -> list[float]:
    for _ in range(5):
        (await client.get(path, params=params)).raise_for_status()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} {params}: {response.status_code} {response.text[:300]}")
    return samples


async def _baseline(conn: asyncpg.Connection, table: str, runs: int) -> list[float]:
    sql = f"SELECT * FROM {table} ORDER BY id DESC LIMIT 50"
    for _ in range(5):
        await conn.fetch(sql)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await conn.fetch(sql)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _fill(params: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.format(**values) if isinstance(v, str) else v) for k, v in params.items()}


async def _explain(url: str, sql_by_name: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    """EXPLAIN ANALYZE of each query's main statement: its top plan node and execution time."""
    out: dict[str, Any] = {}
    conn = await asyncpg.connect(url)
    try:
        for name, (sql, params) in sql_by_name.items():
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *params)
            plan = json.loads(rows[0][0])[0]
            out[name] = {
                "execution_ms": round(plan["Execution Time"], 2),
                "plan": _plan_outline(plan["Plan"]),
            }
    finally:
        await conn.close()
    return out


def _plan_outline(node: dict[str, Any], depth: int = 0) -> list[str]:
    index = f" using {node['Index Name']}" if "Index Name" in node else ""
    line = f"{'  ' * depth}{node['Node Type']}{index} (rows={node.get('Actual Rows')})"
    lines = [line]
    for child in node.get("Plans", [])[:3]:
        lines.extend(_plan_outline(child, depth + 1))
    return lines[:12]


async def _captured_sql(
    url: str, queries: list[tuple[str, str, dict[str, Any]]]
) -> dict[str, tuple[str, Any]]:
    """The SQL the service runs for each query: the list statement, caught at the driver."""
    from sqlalchemy import event

    from tasktracker.config import load_settings
    from tasktracker.db import create_engine, create_sessionmaker

    settings = load_settings(database_url=url, log_level="warning")
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and " LIMIT " in statement.upper():
            caught.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", catch)
    out: dict[str, tuple[str, Any]] = {}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_reader_app(sessions))) as client:
            for name, path, params in queries:
                caught.clear()
                (await client.get(f"http://bench{path}", params=params)).raise_for_status()
                if caught:
                    statement, parameters = caught[0]
                    out[name] = (statement, tuple(parameters or ()))
    finally:
        await engine.dispose()
    return out


def _reader_app(sessions: Any) -> Any:
    """The list and stats routers on a bare FastAPI app with a plain session: to catch their SQL."""
    from fastapi import FastAPI

    from tasktracker.api import deps
    from tasktracker.messages.endpoints import router as messages_router
    from tasktracker.tasks.endpoints import router as tasks_router

    app = FastAPI()
    app.include_router(tasks_router)
    app.include_router(messages_router)

    async def session() -> AsyncIterator[Any]:
        async with sessions() as s:
            yield s

    app.dependency_overrides[deps.get_session] = session
    return app


async def measure_size(size: int, runs: int, log: Any = print, explain: bool = True) -> dict[str, Any]:
    url = await ensure_database(size, log)
    conn = await asyncpg.connect(url)
    try:
        tail = await conn.fetchval(
            "SELECT assignee FROM tasks WHERE assignee IS NOT NULL GROUP BY assignee ORDER BY count(*) LIMIT 1"
        )
        task_id = await conn.fetchval("SELECT task_id FROM messages WHERE task_id IS NOT NULL LIMIT 1")
        base_tasks = await _baseline(conn, "tasks", runs)
        base_messages = await _baseline(conn, "messages", runs)
    finally:
        await conn.close()
    values: dict[str, Any] = {"tail_assignee": tail, "task_id": task_id}
    results: dict[str, Any] = {"size": size, "queries": {}}
    sqla_url = url.replace("postgresql://", "postgresql+asyncpg://")
    async with api_process(sqla_url) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        first = (await client.get("/api/tasks", params={"limit": 50})).json()
        values["cursor"] = first["next_cursor"]
        plan: list[tuple[str, str, dict[str, Any]]] = []
        for group, path, baseline in (
            (TASK_QUERIES, "/api/tasks", base_tasks),
            (MESSAGE_QUERIES, "/api/messages", base_messages),
        ):
            for name, params in group:
                filled = {"limit": 50, **_fill(params, values)}
                samples = await _timed(client, path, filled, runs)
                results["queries"][name] = {
                    "p50": round(statistics.median(samples), 2),
                    "p99": round(percentile(samples, 99), 2),
                    "baseline_p99": round(percentile(baseline, 99), 2),
                    "baseline_p50": round(statistics.median(baseline), 2),
                }
                plan.append((name, path, filled))
                log(
                    f"  {seeding.label(size):>4} {name:36} p50 {results['queries'][name]['p50']:7.2f} ms"
                    f"  p99 {results['queries'][name]['p99']:7.2f} ms"
                )
        stats_samples = await _timed(client, "/api/stats", None, max(20, runs // 5))
        health = await _timed(client, "/api/health", None, runs)
        results["stats"] = {
            "p50": round(statistics.median(stats_samples), 2),
            "p99": round(percentile(stats_samples, 99), 2),
        }
        results["http_floor_p50"] = round(statistics.median(health), 2)
        log(f"  {seeding.label(size):>4} {'stats':36} p50 {results['stats']['p50']:7.2f} ms")
    if explain:
        results["explain"] = await _explain(url, await _captured_sql(sqla_url, plan))
    return results


async def measure(sizes: Sequence[int], runs: int, log: Any = print) -> dict[str, Any]:
    return {"sizes": list(sizes), "runs": runs, "by_size": [await measure_size(s, runs, log) for s in sizes]}


def figures(measured: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    largest = measured["by_size"][-1]
    label = seeding.label(largest["size"])
    for name, q in largest["queries"].items():
        out.append(
            figure(
                f"{name} p99 @{label}",
                q["p99"],
                "ms",
                baseline=q["baseline_p99"],
                baseline_name="SELECT page by primary key (asyncpg) p99",
                target=TARGET_LIST_P99_MS,
            )
        )
    return out


def stats_figures(measured: dict[str, Any]) -> list[dict[str, Any]]:
    largest = measured["by_size"][-1]
    label = seeding.label(largest["size"])
    return [
        figure(
            f"GET /api/stats p50 @{label}",
            largest["stats"]["p50"],
            "ms",
            baseline=largest["http_floor_p50"],
            baseline_name="GET /api/health p50",
            target=TARGET_STATS_MS,
        )
    ]


def sizes_for(options: Any) -> list[int]:
    extra = getattr(options, "extra", {}) or {}
    if extra.get("sizes"):
        return list(extra["sizes"])
    return [2_000] if getattr(options, "quick", False) else [100_000, 1_000_000]


_cache: dict[tuple[tuple[int, ...], int], dict[str, Any]] = {}


def measured_for(options: Any) -> dict[str, Any]:
    """One measurement serves both suites (`queries` and `stats`) of a run."""
    sizes = tuple(sizes_for(options))
    runs = (
        30
        if getattr(options, "quick", False)
        else int((getattr(options, "extra", {}) or {}).get("runs", 300))
    )
    key = (sizes, runs)
    if key not in _cache:
        _cache[key] = asyncio.run(measure(sizes, runs))
    return _cache[key]


def run(options: Any) -> dict[str, Any]:
    measured = measured_for(options)
    return {"figures": figures(measured), "series": measured}


def plot(result: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = result["series"]
    sizes = [entry["size"] for entry in series["by_size"]]
    if len(sizes) < 2:
        return []
    names = list(series["by_size"][0]["queries"])
    fig, grid = plt.subplots(2, 2, figsize=(14, 11))
    for column, prefix in enumerate(("tasks", "messages")):
        ax, sql = grid[0][column], grid[1][column]
        for name in names:
            if not name.startswith(prefix):
                continue
            label = name.removeprefix(prefix).strip()
            p99 = [entry["queries"][name]["p99"] for entry in series["by_size"]]
            ax.plot(sizes, p99, marker="o", label=label)
            if all(name in entry.get("explain", {}) for entry in series["by_size"]):
                ms = [max(entry["explain"][name]["execution_ms"], 0.01) for entry in series["by_size"]]
                sql.plot(sizes, ms, marker="o", label=label)
        base = [entry["queries"][f"{prefix} default"]["baseline_p99"] for entry in series["by_size"]]
        ax.plot(sizes, base, "k--", label="baseline: SELECT page by id (asyncpg)")
        for axis in (ax, sql):
            axis.axhline(TARGET_LIST_P99_MS, color="red", linestyle=":", label="30 ms")
            axis.set_xscale("log")
            axis.set_xlabel("rows in the table")
            axis.legend(fontsize=6)
        ax.set_title(f"GET /api/{prefix}: p99 over HTTP, one client")
        sql.set_title(f"GET /api/{prefix}: its SQL (EXPLAIN ANALYZE)")
        sql.set_yscale("log")
    grid[0][0].set_ylabel("p99 latency, ms (HTTP, one client)")
    grid[1][0].set_ylabel("execution time, ms (log)")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "queries-latency-vs-size.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def plot_before_after(before: dict[str, Any], after: dict[str, Any], out_dir: Path) -> Path:
    """Bars of each query's SQL execution time (EXPLAIN ANALYZE) at the largest size, before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = after["series"]["by_size"][-1]["size"]
    old = next(e for e in before["series"]["by_size"] if e["size"] == size)["explain"]
    new = after["series"]["by_size"][-1]["explain"]
    names = [n for n in new if n in old]
    fig, ax = plt.subplots(figsize=(11, 9))
    y = range(len(names))
    ax.barh([i + 0.2 for i in y], [max(old[n]["execution_ms"], 0.01) for n in names], 0.4, label="before")
    ax.barh([i - 0.2 for i in y], [max(new[n]["execution_ms"], 0.01) for n in names], 0.4, label="after")
    ax.set_yticks(list(y), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(TARGET_LIST_P99_MS, color="red", linestyle=":", label="30 ms")
    ax.set_xlabel("SQL execution time, ms (EXPLAIN ANALYZE, log scale)")
    ax.set_title(f"List queries at {seeding.label(size)} rows: before and after (issue 13)")
    ax.legend()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "queries-before-after.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated table sizes")
    parser.add_argument("--runs", type=int, default=300, help="requests per query")
    parser.add_argument(
        "--drop-cache", action="store_true", help="drop the cached tt_bench_* databases and exit"
    )
    parser.add_argument("--json", type=Path, help="write the measurement here")
    parser.add_argument("--plot", type=Path, help="draw the latency-against-size plot into this directory")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("BEFORE", "AFTER"),
        help="draw before/after bars of two --json files",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.drop_cache:
        asyncio.run(drop_cached(sizes))
        return 0
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        print(plot_before_after(before, after, args.plot or ROOT / "docs" / "benchmarks"))
        return 0
    measured = asyncio.run(measure(sizes, args.runs))
    all_figures = figures(measured) + stats_figures(measured)
    result = {"figures": all_figures, "series": measured}
    for f in all_figures:
        print(
            f"{f['name']:48} {f['value']:9.2f} {f['unit']}  ratio {f['ratio']}  {'met' if f['met'] else 'MISSED'}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    if args.plot:
        plot(result, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
