"""`tasktracker worker`: consume classification jobs until SIGTERM, then finish in-flight work."""

from __future__ import annotations

import asyncio
import logging
import signal

from tasktracker.config import Settings
from tasktracker.probes import ProbeServer, runtime_checks
from tasktracker.runtime import Role, build_runtime
from tasktracker.worker.runner import running

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    runtime = build_runtime(settings, Role.worker)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    probes = ProbeServer(settings.health_port, lambda: runtime_checks(runtime))
    async with running(runtime):
        if settings.health_port:
            await probes.start()
        log.info(
            "worker started: stream %s, durable consumer %s", settings.nats_stream, settings.nats_durable
        )
        await stop.wait()
        log.info("worker stopping; unacknowledged jobs return to the stream after ack_wait")
        await probes.stop()
