"""Scale-out on one box: 2 API + 2 worker processes against 1 + 1, and where the limit then is.

Ingest (c=64, the load generator spreading its connections over the API processes, no worker running)
and the worker drain (a stored backlog) are measured separately for 1 and for 2 processes, in the same
run. During each, the CPU time of every party is taken (the API processes, the workers, PostgreSQL's
backends, nats-server, the load generator and the whole machine): on a 2-core machine the limit is
whoever is left wanting when the cores are full.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psutil

from bench.harness import Options, Stack, SuiteResult, figure, run_load, stack
from bench.worker import backlog, drain


def _cpu_of(names: tuple[str, ...]) -> float:
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] in names:
                times = proc.cpu_times()
                total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _cpu_pids(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


class CpuSplit:
    """CPU seconds per party over a stretch of time, as cores busy (1.0 = one core all the time)."""

    def __init__(self, topology: Stack) -> None:
        self.topology = topology

    def snapshot(self) -> dict[str, float]:
        machine = psutil.cpu_times()
        return {
            "wall": time.perf_counter(),
            "api": _cpu_pids([p.pid for p in self.topology.apis]),
            "worker": _cpu_pids([p.pid for p in self.topology.workers]),
            "postgres": _cpu_of(("postgres", "postmaster")),
            "nats": _cpu_of(("nats-server",)),
            "machine": machine.user + machine.system + getattr(machine, "nice", 0.0),
        }

    @staticmethod
    def cores(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        wall = after["wall"] - before["wall"]
        return {k: round((after[k] - before[k]) / wall, 2) for k in before if k != "wall"}


async def ingest(apis: int, n: int, token: str | None) -> dict[str, Any]:
    async with stack(apis=apis, workers=0, token=token) as topology:
        split = CpuSplit(topology)
        before = split.snapshot()
        load = run_load(topology.load_args("messages", concurrency=64, requests=n))
        after = split.snapshot()
    load["cores"] = CpuSplit.cores(before, after)
    return load


async def workers(count: int, n: int, token: str | None) -> dict[str, Any]:
    async with stack(apis=1, workers=0, token=token) as topology:
        await backlog(topology, n, topology.token)
        for _ in range(count):
            topology.start_worker()
        await topology.wait_ready()
        split = CpuSplit(topology)
        before = split.snapshot()
        result = await drain(topology)
        after = split.snapshot()
    result["cores"] = CpuSplit.cores(before, after)
    return result


async def measure(options: Options) -> dict[str, Any]:
    n = options.scaled(options.requests, 200)
    backlog_n = options.scaled(options.requests, 200)
    return {
        "ingest": {1: await ingest(1, n, options.token), 2: await ingest(2, n, options.token)},
        "workers": {
            1: await workers(1, backlog_n, options.token),
            2: await workers(2, backlog_n, options.token),
        },
    }


def run(options: Options) -> SuiteResult:
    series = asyncio.run(measure(options))
    ingest_, workers_ = series["ingest"], series["workers"]
    return SuiteResult(
        figures=[
            figure(
                "scale-out: 2 API processes, c=64",
                ingest_[2]["per_s"],
                "msg/s",
                baseline=ingest_[1]["per_s"],
                baseline_name="1 API process, c=64",
            ),
            figure(
                "scale-out: 2 API processes, c=64 p99",
                ingest_[2]["p99_ms"],
                "ms",
                baseline=ingest_[1]["p99_ms"],
                baseline_name="1 API process p99",
                better="lower",
            ),
            figure(
                "scale-out: 2 worker processes",
                workers_[2]["per_s"],
                "msg/s",
                baseline=workers_[1]["per_s"],
                baseline_name="1 worker process",
            ),
        ],
        series=series,
    )


def plot(result: SuiteResult, out_dir: Any) -> list[Any]:
    import matplotlib.pyplot as plt

    series = result["series"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((axes[0], "ingest", "ingest, c=64"), (axes[1], "workers", "worker drain")):
        runs = {int(k): v for k, v in series[key].items()}
        parties = ["api", "worker", "postgres", "nats"]
        bottom = [0.0, 0.0]
        for party in parties:
            values = [runs[c]["cores"].get(party, 0.0) for c in (1, 2)]
            ax.bar(["1 process", "2 processes"], values, bottom=bottom, label=party)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for i, c in enumerate((1, 2)):
            ax.text(i, bottom[i] + 0.03, f"{runs[c]['per_s']:.0f} msg/s", ha="center")
        ax.axhline(2.0, color="grey", linestyle="--", label="the machine: 2 cores")
        ax.set_ylabel("cores busy")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle("Scale-out on one 2-core box: where the CPU goes")
    fig.tight_layout()
    path = out_dir / "scaleout.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
