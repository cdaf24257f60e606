"""Readiness: the one check behind `GET /api/health/ready`, the bot's `/status` and the worker's probe.

`readiness(runtime)` looks at what a process needs to do its work — the database, the broker, the
event bus and the classifier — and never raises. A classifier running on its fallback is
`degraded`, which does not make the process unready; anything `down` does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tasktracker.db import ping
from tasktracker.runtime import Runtime

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]  # name -> "ok" | "degraded[: why]" | "down: why"

    @property
    def down(self) -> list[str]:
        return [name for name, state in self.checks.items() if state.startswith("down")]

    @property
    def ready(self) -> bool:
        return not self.down

    @property
    def status(self) -> str:
        return "ok" if self.ready else "unavailable"


async def readiness(runtime: Runtime, timeout_s: float = CHECK_TIMEOUT_S) -> Readiness:
    """Check the process's dependencies; each check is bounded by `timeout_s`."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(ping(runtime.engine), timeout=timeout_s)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"
    checks["broker"] = "ok" if runtime.broker_connected() else "down: not connected"
    checks["events"] = "ok" if runtime.bus.connected else "down: not connected"
    try:
        ready = await asyncio.wait_for(runtime.classifier.ready(), timeout=timeout_s)
        checks["classifier"] = "ok" if ready else "degraded"
    except Exception as exc:
        checks["classifier"] = f"degraded: {type(exc).__name__}"
    # Which model answers and why (champion/challenger: the LLM only once it beat the built-in model).
    if (choice := getattr(runtime.classifier, "status", None)) is not None:
        checks["classifier_choice"] = choice
    # Whether the LLM judges duplicate close calls, and why (it too must have earned it).
    if runtime.duplicate_judge is not None:
        runtime.duplicate_judge.start()  # a worker's first readiness check starts the gate
        checks["duplicate_llm"] = runtime.duplicate_judge.status
    return Readiness(checks)
