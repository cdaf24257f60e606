"""The export job and the export schedule: thin adapters over the exports service in units of work.

`exports.push` (by export id) claims the row in one short unit, talks to the tracker outside any
transaction, and records the outcome in another. `schedule` sends a job for every due export: new
ones whose job was lost, retries whose backoff ran out, status changes to push, and exported issues
not re-read for `export_reconcile_interval_s` (sync back when a webhook was missed).
"""

from __future__ import annotations

import logging
import time

from opentelemetry.trace import SpanKind

from tasktracker import telemetry
from tasktracker.broker import PUSH_EXPORT
from tasktracker.exports import service
from tasktracker.exports.clients.base import Retryable
from tasktracker.exports.egress import EgressPolicy
from tasktracker.metrics import JOBS
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


async def push_export(runtime: Runtime, export_id: int) -> service.Outcome | None:
    """Bring one export in step with its tracker; None when there was nothing to do."""
    with telemetry.span(PUSH_EXPORT, {"export.id": export_id}, kind=SpanKind.CONSUMER):
        async with unit_of_work(runtime) as uow:
            plan = await service.claim(uow.session, runtime.settings, export_id)
        if plan is None:
            JOBS.labels(PUSH_EXPORT, "skipped").inc()
            return None
        started = time.monotonic()
        try:
            policy = EgressPolicy.from_settings(runtime.settings)
            async with policy.client(runtime.settings.export_http_timeout_s) as http:
                outcome = await service.talk(plan, service.client_for(plan, http))
        except Exception as exc:  # a bug or a surprise: counted as an attempt, so never retried forever
            log.exception("export %s: unexpected failure", export_id)
            outcome = service.Outcome(error=Retryable(f"unexpected failure: {type(exc).__name__}: {exc}"))
        async with unit_of_work(runtime) as uow:
            await service.record(uow, runtime.settings, plan, outcome)
        label = "failed" if outcome.error else "done"
        JOBS.labels(PUSH_EXPORT, label).inc()
        log.info(
            "export %s (%s %s): %s in %.0f ms",
            export_id,
            plan.kind.value,
            plan.target_name,
            outcome.error or ("created" if outcome.created else "in step"),
            (time.monotonic() - started) * 1000,
        )
        return outcome


async def schedule(runtime: Runtime) -> int:
    """Send a job for every due export; how many."""
    async with unit_of_work(runtime) as uow:
        return await service.schedule_due(uow, runtime.settings)
