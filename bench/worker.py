"""Workers: how fast one `tasktracker worker` process (built-in classifier, PostgreSQL) empties a backlog.

The backlog is stored first through the API (`POST /api/messages/batch`) while no worker runs, so the
jobs wait in the JetStream stream; then one worker starts, and the rate is taken from its first
classified message to its last (the model's load time is not counted). The baseline is the built-in
model alone (`classify_batch` in this process): the ratio is the share of a worker's time the model
itself gets; the rest is the job's transactions, duplicate matching and the broker.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import (
    Options,
    Stack,
    SuiteResult,
    asyncpg_url,
    data_dir,
    figure,
    load_args,
    run_load,
    stack,
    texts,
)


async def counts(database_url: str) -> tuple[int, int]:
    """(messages, messages done: classified or failed)."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE status IN ('classified', 'failed')) AS done "
            "FROM messages"
        )
        assert row is not None
        return int(row["total"]), int(row["done"])
    finally:
        await conn.close()


def cpu_s(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far."""
    import psutil

    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


async def drain(topology: Stack, within_s: float = 600.0) -> dict[str, Any]:
    """Wait until every stored message is done; the rate counts from the first done one to the last,
    and so does the workers' CPU time per message."""
    deadline = time.monotonic() + within_s
    first: tuple[float, int] | None = None
    pids = [proc.pid for proc in topology.workers]
    cpu_at_first = 0.0
    while True:
        total, done = await counts(topology.database_url)
        now = time.perf_counter()
        if first is None and done > 0:
            first = (now, done)
            cpu_at_first = cpu_s(pids)
        if done >= total:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers did not finish: {done}/{total} done after {within_s:.0f} s")
        await asyncio.sleep(0.05)
    assert first is not None
    elapsed = now - first[0]
    classified = total - first[1]
    cpu_ms = (cpu_s(pids) - cpu_at_first) * 1000 / classified if classified else 0.0
    return {
        "messages": total,
        "elapsed_s": elapsed,
        "per_s": classified / elapsed if elapsed else 0.0,
        "worker_cpu_ms_per_message": cpu_ms,
    }


async def backlog(topology: Stack, n: int, token: str | None) -> None:
    batches = max(1, n // 500)
    run_load(
        load_args(
            "batch",
            url=topology.api_urls[0],
            concurrency=2,
            requests=batches,
            batch=min(n, 500),
            token=token,
        )
    )


def model_alone(n: int) -> float:
    from tasktracker.ai.builtin import BuiltinClassifier

    seed = os.environ.get("TASKTRACKER_BUILTIN_MODEL_SEED_DIR")  # the tests' model, as the worker's
    model = BuiltinClassifier.load_or_train(data_dir(), seed_dir=Path(seed) if seed else None)
    sample = texts(n)
    started = time.perf_counter()
    model.classify_batch(sample)
    return n / (time.perf_counter() - started)


async def measure(options: Options, workers: int = 1) -> dict[str, Any]:
    n = options.scaled(options.requests, 200)
    async with stack(apis=1, workers=0, token=options.token) as topology:
        await backlog(topology, n, topology.token)
        for _ in range(workers):
            topology.start_worker()
        await topology.wait_ready()
        return await drain(topology)


def run(options: Options) -> SuiteResult:
    one = asyncio.run(measure(options))
    alone = model_alone(options.scaled(5000, 500))
    return SuiteResult(
        figures=[
            figure(
                "worker, built-in classifier",
                one["per_s"],
                "msg/s",
                baseline=alone,
                baseline_name="the built-in model alone",
                target=500,
            ),
            figure("worker CPU per message", one["worker_cpu_ms_per_message"], "ms", better="lower"),
        ],
        series={"one_worker": one, "model_alone_per_s": alone},
    )
