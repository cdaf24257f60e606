"""TaskIQ jobs: thin adapters that take ids, call one service function, and publish after commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskiq import Context, TaskiqDepends

from tasktracker import telemetry
from tasktracker.classification import service as classification
from tasktracker.worker.broker import CLASSIFY_MESSAGE

if TYPE_CHECKING:
    from tasktracker.runtime import Runtime


def register_jobs(runtime: Runtime) -> None:
    async def classify_message(message_id: int, context: Context = TaskiqDepends()) -> None:
        with telemetry.continued(context.message.labels):  # the trace of the request that sent the job
            outcome = await classification.classify_message(
                runtime.sessions, runtime.classifier, runtime.settings, message_id
            )
            await runtime.publish(outcome.events)

    if runtime.broker.find_task(CLASSIFY_MESSAGE) is None:
        runtime.broker.register_task(classify_message, task_name=CLASSIFY_MESSAGE)
