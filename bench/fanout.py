"""Fan-out: 1,000 WebSocket clients on one API process; how late an event reaches them, and what an
idle client costs in memory.

The clients run in their own process (`bench/wsclients.py`). Each event is a `message.received`
caused by a POST from this process; the latency is from just before that POST to each client's
receipt (so it includes the POST's commit and the trip through NATS). The baseline is the same with
one client.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from bench.e2e import listen, stop_listening
from bench.harness import Options, SuiteResult, figure, percentile, rss_mb, stack


async def one_level(url: str, clients: int, events: int, api_pid: int, token: str | None) -> dict[str, Any]:
    before = rss_mb(api_pid)
    ws = listen(url.replace("http://", "ws://") + "/ws", clients, record="all", token=token)
    try:
        await asyncio.sleep(1.0)
        idle = rss_mb(api_pid)
        sent: dict[str, float] = {}
        tag = uuid.uuid4().hex[:6]
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
            for i in range(events):
                ext = f"fan-{tag}-{i}"
                sent[ext] = time.time()
                response = await client.post(
                    "/api/messages", json={"content": f"fan-out probe {i}", "external_id": ext}
                )
                response.raise_for_status()
                await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)
    finally:
        received = stop_listening(ws)
    per_event: dict[str, list[float]] = {}
    for _client, kind, key, t in received["events"]:
        if kind == "message.received" and key in sent:
            per_event.setdefault(key, []).append((t - sent[key]) * 1000)
    every = [v for values in per_event.values() for v in values]
    reached_all = [max(v) for v in per_event.values() if len(v) == clients]
    return {
        "clients": clients,
        "deliveries": len(every),
        "expected": clients * events,
        "p50_ms": percentile(every, 50),
        "p99_ms": percentile(every, 99),
        "last_client_ms_median": percentile(reached_all, 50),
        "rss_before_mb": before,
        "rss_idle_mb": idle,
        "kb_per_client": (idle - before) * 1024 / clients,
    }


async def measure(options: Options) -> dict[str, Any]:
    levels = [1, 100, 1000] if not options.quick else [1, 50]
    events = options.scaled(20, 3)
    result: dict[str, Any] = {"levels": {}}
    async with stack(apis=1, workers=0, token=options.token) as topology:
        url = topology.api_urls[0]
        pid = topology.apis[0].pid
        for clients in levels:
            result["levels"][clients] = await one_level(url, clients, events, pid, topology.token)
    return result


def run(options: Options) -> SuiteResult:
    series = asyncio.run(measure(options))
    levels = series["levels"]
    top = levels[max(levels)]
    one = levels[1]
    return SuiteResult(
        figures=[
            figure(
                f"fan-out to {top['clients']} clients p99",
                top["p99_ms"],
                "ms",
                baseline=one["p99_ms"],
                baseline_name="one client p99",
                target=250,
                better="lower",
            ),
            figure(
                f"fan-out to {top['clients']}: event delivered",
                top["deliveries"] / top["expected"] * 100,
                "%",
                target=100,
            ),
            figure("memory per idle WebSocket client", top["kb_per_client"], "KiB"),
        ],
        series=series,
    )


def plot(result: SuiteResult, out_dir: Any) -> list[Any]:
    import matplotlib.pyplot as plt

    levels = {int(k): v for k, v in result["series"]["levels"].items()}
    xs = sorted(levels)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(xs, [levels[c]["p50_ms"] for c in xs], marker="o", label="p50")
    ax.plot(xs, [levels[c]["p99_ms"] for c in xs], marker="o", label="p99")
    ax.plot(
        xs, [levels[c]["last_client_ms_median"] for c in xs], marker="o", label="last client (median event)"
    )
    ax.axhline(250, color="grey", linestyle="--", label="target p99 250 ms")
    ax.set_xscale("log")
    ax.set_xlabel("WebSocket clients on one API process (log)")
    ax.set_ylabel("ms from POST to receipt")
    ax.set_title("Fan-out latency against clients")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "fanout.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
