"""`tasktracker worker`: consume classification jobs until SIGTERM, then finish in-flight work."""

from __future__ import annotations

import asyncio
import logging
import signal

from tasktracker.config import Settings
from tasktracker.metrics import refresh_queue_lag
from tasktracker.probes import ProbeServer, runtime_checks
from tasktracker.runtime import Role, build_runtime, freeze_heap
from tasktracker.worker.runner import running

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    runtime = build_runtime(settings, Role.worker)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    probes = ProbeServer(
        settings.health_port,
        lambda: runtime_checks(runtime),
        metrics_token=token,
        before_scrape=lambda: refresh_queue_lag(runtime.broker, settings.nats_stream, settings.nats_durable),
    )
    async with running(runtime):
        if settings.health_port:
            await probes.start()
        freeze_heap()  # started, the model loaded: see `freeze_heap`
        log.info(
            "worker started: stream %s, durable consumer %s", settings.nats_stream, settings.nats_durable
        )
        await stop.wait()
        log.info("worker stopping; unacknowledged jobs return to the stream after ack_wait")
        await probes.stop()
