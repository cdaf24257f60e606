"""End to end at a steady rate: `POST /api/messages` → `task.created` on a WebSocket, on the production
topology (one API process, one worker process, PostgreSQL + NATS JetStream).

The load generator sends at a fixed rate from its own process and records each message's send time;
a WebSocket client in another process records when `message.classified` and `task.created` arrive
(same machine, same wall clock). Only actionable messages become tasks, so the `task.created`
latency is over those. The baseline is the POST's own latency (202 after the commit): the ratio is
how much longer the whole pipeline takes than the acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from typing import Any

from bench.harness import ROOT, Options, SuiteResult, figure, percentile, run_load, stack
from bench.worker import cpu_s
from bench.wsclients import WS_TOKEN_VARIABLE

RATE = 200.0


def listen(ws_url: str, clients: int = 1, record: str = "all", *, token: str | None) -> subprocess.Popen[str]:
    """WebSocket clients in their own process; with `token`, each connects with it as a Bearer header."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.wsclients", ws_url, str(clients), record],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, WS_TOKEN_VARIABLE: token or ""},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        raise RuntimeError(f"websocket clients did not connect: {line!r}")
    return proc


def stop_listening(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate("stop\n", timeout=120)
    return json.loads(out)


def latencies(sent_at: dict[str, float], received: dict[str, Any]) -> dict[str, list[float]]:
    ids = {int(k): v for k, v in received["ids"].items()}
    result: dict[str, list[float]] = {"message.received": [], "message.classified": [], "task.created": []}
    for _client, kind, key, t in received["events"]:
        external = ids.get(key) if kind == "task.created" else key
        if external in sent_at:
            result[kind].append((t - sent_at[external]) * 1000)
    return result


async def measure(options: Options) -> dict[str, Any]:
    duration = options.scaled(20, 2)
    async with stack(apis=1, workers=1, token=options.token) as topology:
        url = topology.api_urls[0]
        ws = listen(url.replace("http://", "ws://") + "/ws", token=topology.token)
        roles = {"api": topology.apis[0].pid, "worker": topology.workers[0].pid}
        try:
            await asyncio.sleep(0.5)
            before = {role: cpu_s([pid]) for role, pid in roles.items()} | {"postgres": postgres_cpu_s()}
            load = run_load(topology.load_args("paced", concurrency=8, rate=RATE, duration=duration))
            await asyncio.sleep(3)  # the last messages' classification
            after = {role: cpu_s([pid]) for role, pid in roles.items()} | {"postgres": postgres_cpu_s()}
        finally:
            received = stop_listening(ws)
    lat = latencies(load.pop("sent_at"), received)
    # Where the CPU went, per message sent (PostgreSQL: every server process on the machine).
    cpu = {role: (after[role] - before[role]) * 1000 / max(load["items"], 1) for role in before}
    return {"load": load, "latency_ms": lat, "cpu_ms_per_msg": cpu}


def postgres_cpu_s() -> float:
    """CPU time of the PostgreSQL server processes so far (0 when none can be read)."""
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            with contextlib.suppress(psutil.Error):
                total += sum(proc.cpu_times()[:2])
    return total


def run(options: Options) -> SuiteResult:
    result = asyncio.run(measure(options))
    lat = result["latency_ms"]
    post_p50, post_p99 = result["load"]["p50_ms"], result["load"]["p99_ms"]
    created = lat["task.created"]
    if not created:
        raise RuntimeError("no task.created event was matched to a sent message")
    series = {
        "rate": RATE,
        "load": result["load"],
        **{f"{kind} p{p}": percentile(v, p) for kind, v in lat.items() for p in (50, 99)},
        "tasks_created": len(created),
        "classified": len(lat["message.classified"]),
        "latency_ms": {k: sorted(v) for k, v in lat.items()},
        "cpu_ms_per_msg": result["cpu_ms_per_msg"],
    }
    cpu = result["cpu_ms_per_msg"]
    return SuiteResult(
        figures=[
            figure(
                f"e2e at {RATE:g}/s: POST → task.created p50",
                percentile(created, 50),
                "ms",
                baseline=post_p50,
                baseline_name="POST → 202 p50",
                target=20,
                better="lower",
            ),
            figure(
                f"e2e at {RATE:g}/s: POST → task.created p99",
                percentile(created, 99),
                "ms",
                baseline=post_p99,
                baseline_name="POST → 202 p99",
                target=100,
                better="lower",
            ),
            figure(
                f"e2e at {RATE:g}/s: POST → message.classified p99",
                percentile(lat["message.classified"], 99),
                "ms",
                baseline=post_p99,
                baseline_name="POST → 202 p99",
                better="lower",
            ),
            *(
                figure(f"e2e at {RATE:g}/s: {role} CPU per message", cpu[role], "ms", better="lower")
                for role in ("api", "worker", "postgres")
            ),
        ],
        series=series,
    )


def plot(result: SuiteResult, out_dir: Any) -> list[Any]:
    import matplotlib.pyplot as plt

    lat = result["series"]["latency_ms"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind in ("message.received", "message.classified", "task.created"):
        values = lat.get(kind) or []
        if values:
            ax.plot(values, [i / len(values) for i in range(len(values))], label=kind)
    ax.axvline(20, color="grey", linestyle=":", label="target p50 20 ms")
    ax.axvline(100, color="grey", linestyle="--", label="target p99 100 ms")
    ax.set_xscale("log")
    ax.set_xlabel("ms after the POST was sent (log)")
    ax.set_ylabel("share of messages")
    ax.set_title(f"End to end at {result['series']['rate']:g} msg/s: 1 API + 1 worker")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "e2e.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
