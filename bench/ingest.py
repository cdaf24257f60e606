"""Ingest on the production topology: one `tasktracker api` process on PostgreSQL + NATS JetStream.

The load generator (`bench/load.py`) runs in its own process. No worker runs during the measurement,
so the figure is the API's alone (the jobs wait in the stream). The baseline is PostgreSQL itself:
single-row `INSERT ... ON CONFLICT DO NOTHING RETURNING` transactions with asyncpg at the same
concurrency, the same columns, the same database server.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.harness import Options, SuiteResult, figure, fresh_database, load_args, run_load, stack

LEVELS = (1, 16, 64)
BATCH = 500
BATCH_CLIENTS = 4


async def measure(options: Options) -> SuiteResult:
    n = options.scaled(options.requests, 200)
    n_c1 = options.scaled(max(n // 4, 500), 100)
    batches = options.scaled(60, 4)
    series: dict[str, Any] = {"levels": list(LEVELS), "api": {}, "baseline": {}}
    async with fresh_database() as database:
        for c in LEVELS:
            series["baseline"][c] = run_load(
                load_args("insert", database=database, concurrency=c, requests=n_c1 if c == 1 else n)
            )
        baseline_batch = run_load(
            load_args("insert", database=database, concurrency=BATCH_CLIENTS, requests=n)
        )
    # Authenticated as production is: an admin's API token, checked on every request (auth on).
    async with stack(apis=1, workers=0, token=options.token) as topology:
        pid = topology.apis[0].pid
        for c in LEVELS:
            before = cpu_s(pid)
            series["api"][c] = result = run_load(
                topology.load_args("messages", concurrency=c, requests=n_c1 if c == 1 else n)
            )
            # The API's own CPU per message: the figure a busy shared machine disturbs least.
            result["api_cpu_ms_per_msg"] = (cpu_s(pid) - before) * 1000 / result["items"]
        before = cpu_s(pid)
        batch = run_load(
            topology.load_args("batch", concurrency=BATCH_CLIENTS, requests=batches, batch=BATCH)
        )
        batch["api_cpu_ms_per_msg"] = (cpu_s(pid) - before) * 1000 / batch["items"]
    series["batch"] = batch
    series["baseline_batch"] = baseline_batch
    for result in [*series["api"].values(), batch]:
        bad = {k: v for k, v in result["statuses"].items() if not k.startswith("2")}
        if bad:
            raise RuntimeError(f"ingest answered errors: {bad} {result['errors']}")

    api, base = series["api"], series["baseline"]
    figures = [
        figure(
            "ingest c=1 p50",
            api[1]["p50_ms"],
            "ms",
            baseline=base[1]["p50_ms"],
            baseline_name="asyncpg INSERT c=1 p50",
            target=2,
            better="lower",
        ),
        figure(
            "ingest c=1",
            api[1]["per_s"],
            "msg/s",
            baseline=base[1]["per_s"],
            baseline_name="asyncpg INSERT c=1",
        ),
    ]
    for c, rate_target, p99_target in ((16, 1000, 50), (64, 1200, 100)):
        figures += [
            figure(
                f"ingest c={c}",
                api[c]["per_s"],
                "msg/s",
                baseline=base[c]["per_s"],
                baseline_name=f"asyncpg INSERT c={c}",
                target=rate_target,
            ),
            figure(
                f"ingest c={c} p99",
                api[c]["p99_ms"],
                "ms",
                baseline=base[c]["p99_ms"],
                baseline_name=f"asyncpg INSERT c={c} p99",
                target=p99_target,
                better="lower",
            ),
        ]
    figures.append(
        figure("ingest c=16: API CPU per message", api[16]["api_cpu_ms_per_msg"], "ms", better="lower")
    )
    figures.append(
        figure("ingest batch: API CPU per message", batch["api_cpu_ms_per_msg"], "ms", better="lower")
    )
    figures.append(
        figure(
            f"ingest batch of {BATCH}, c={BATCH_CLIENTS}",
            batch["per_s"],
            "msg/s",
            baseline=baseline_batch["per_s"],
            baseline_name=f"asyncpg INSERT c={BATCH_CLIENTS}",
            target=10000,
        )
    )
    return SuiteResult(figures=figures, series=series)


def cpu_s(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def run(options: Options) -> SuiteResult:
    return asyncio.run(measure(options))


def plot(result: SuiteResult, out_dir: Any) -> list[Any]:
    import matplotlib.pyplot as plt

    series = result["series"]
    levels = [int(c) for c in series["levels"]]
    api = {int(k): v for k, v in series["api"].items()}
    base = {int(k): v for k, v in series["baseline"].items()}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(levels, [api[c]["per_s"] for c in levels], marker="o", label="POST /api/messages → 202")
    left.plot(
        levels,
        [base[c]["per_s"] for c in levels],
        marker="o",
        linestyle="--",
        label="baseline: asyncpg INSERT",
    )
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xticks(levels, [str(c) for c in levels])
    left.set_xlabel("concurrent clients")
    left.set_ylabel("messages / s (log)")
    left.set_title("Throughput")
    right.plot(levels, [api[c]["p50_ms"] for c in levels], marker="o", label="API p50")
    right.plot(levels, [api[c]["p99_ms"] for c in levels], marker="o", label="API p99")
    right.plot(levels, [base[c]["p99_ms"] for c in levels], marker="o", linestyle="--", label="INSERT p99")
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    right.set_xticks(levels, [str(c) for c in levels])
    right.set_xlabel("concurrent clients")
    right.set_ylabel("ms (log)")
    right.set_title("Latency")
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Ingest: one API process, PostgreSQL + NATS JetStream")
    fig.tight_layout()
    path = out_dir / "ingest.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
