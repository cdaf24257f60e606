"""TaskIQ jobs: thin adapters that take ids, call one service function, and publish after commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskiq import Context, TaskiqDepends

from tasktracker import telemetry
from tasktracker.classification import service as classification
from tasktracker.metrics import CLASSIFICATION_LATENCY, JOBS, model_family
from tasktracker.worker.broker import CLASSIFY_MESSAGE

if TYPE_CHECKING:
    from tasktracker.classification.service import Outcome
    from tasktracker.runtime import Runtime


def register_jobs(runtime: Runtime) -> None:
    async def classify_message(message_id: int, context: Context = TaskiqDepends()) -> None:
        with telemetry.continued(context.message.labels):  # the trace of the request that sent the job
            try:
                outcome = await classification.classify_message(
                    runtime.sessions, runtime.classifier, runtime.settings, message_id
                )
            except Exception:
                JOBS.labels(CLASSIFY_MESSAGE, "error").inc()  # not acked: JetStream delivers it again
                raise
            record_outcome(outcome)
            await runtime.publish(outcome.events)

    if runtime.broker.find_task(CLASSIFY_MESSAGE) is None:
        runtime.broker.register_task(classify_message, task_name=CLASSIFY_MESSAGE)


def record_outcome(outcome: Outcome) -> None:
    """Count a finished classification job by outcome, and time its model call."""
    result = outcome.classification
    if result is not None:  # the model ran, even if another delivery won the race to store it
        CLASSIFICATION_LATENCY.labels(model_family(result.model)).observe(result.latency_ms / 1000)
    label = "failed" if outcome.failed else "skipped" if outcome.skipped else "classified"
    JOBS.labels(CLASSIFY_MESSAGE, label).inc()
