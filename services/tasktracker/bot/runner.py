"""`tasktracker bot`: one process that long-polls Telegram (exactly one replica per token).

With NATS it only stores messages and sends jobs (the workers classify); without NATS it is a
self-contained embedded process that also classifies, like `tasktracker run` without the API.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from tasktracker.ai.base import Classifier
from tasktracker.bot.gateway import TelegramGateway
from tasktracker.config import Settings
from tasktracker.probes import ProbeServer, runtime_checks
from tasktracker.runtime import Role, build_runtime
from tasktracker.worker.runner import running

log = logging.getLogger(__name__)


async def run_bot(
    settings: Settings, stop: asyncio.Event | None = None, classifier: Classifier | None = None
) -> None:
    """Poll until SIGINT/SIGTERM (or `stop`); raises when Telegram refuses the token."""
    runtime = build_runtime(settings, Role.all if settings.embedded_broker else Role.api, classifier)
    if settings.embedded_broker:
        from tasktracker.migrations import upgrade

        await upgrade(runtime.engine)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread (tests)
            break
    async with running(runtime):
        gateway = TelegramGateway(runtime)

        async def readiness() -> dict[str, str]:
            checks = await runtime_checks(runtime)
            checks["telegram"] = "ok" if gateway.telegram_reachable else "down: not reachable"
            return checks

        probes = ProbeServer(settings.health_port, readiness)
        try:
            if settings.health_port:
                await probes.start()
            await gateway.start(polling=True, replies=settings.bot_reply)
            assert gateway.polling is not None
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({stopping, gateway.polling}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if gateway.polling.done() and not gateway.polling.cancelled():
                gateway.polling.result()  # the token was refused: fail the command
        finally:
            await probes.stop()
            await gateway.stop()
