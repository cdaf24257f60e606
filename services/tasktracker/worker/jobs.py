"""The jobs a worker runs: thin adapters that take ids and run services in units of work.

`messages.classify` is the one job with two units: claim the message (short), classify it outside
any transaction (the LLM may take seconds), then record the result (short). A worker runs it through
its `ClassifyGroups` (`worker/batch.py`: the jobs in hand share the claim, one classifier call and the
record); `classify_message` is the same job alone.
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tasktracker import telemetry
from tasktracker.broker import CLASSIFY_MESSAGE
from tasktracker.classification import service as classification
from tasktracker.classification.open_tasks import OpenTasks
from tasktracker.classification.service import Exhausted, Outcome
from tasktracker.metrics import CLASSIFICATION_LATENCY, JOBS, model_family
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work
from tasktracker.worker.batch import ClassifyGroups, second_opinions


async def classify_message(
    runtime: Runtime, message_id: int, groups: ClassifyGroups | None = None
) -> Outcome:
    """Classify one stored message, exactly once however often its job is delivered; in a group with
    the other jobs in hand when `groups` is given."""
    with telemetry.span("messages.classify", {"message.id": message_id}, kind=SpanKind.CONSUMER) as span:
        try:
            if groups is not None:
                outcome = await groups.submit(message_id)
            else:
                outcome = await _classify(runtime, message_id)
        except Exception:
            JOBS.labels(CLASSIFY_MESSAGE, "error").inc()  # the sweep sends it again (claim gone stale)
            raise
        record_outcome(outcome)
        if span.is_recording():
            span.set_attributes(outcome.span_attributes())
    return outcome


def record_outcome(outcome: Outcome) -> None:
    """Count a finished classification job by outcome, and time its model call."""
    result = outcome.classification
    if result is not None:  # the model ran, even if another delivery won the race to store it
        CLASSIFICATION_LATENCY.labels(model_family(result.model)).observe(result.latency_ms / 1000)
    label = "failed" if outcome.failed else "skipped" if outcome.skipped else "classified"
    JOBS.labels(CLASSIFY_MESSAGE, label).inc()


async def _classify(runtime: Runtime, message_id: int) -> Outcome:
    async with unit_of_work(runtime) as uow:
        content = await classification.claim(uow.session, runtime.settings, message_id)
    if isinstance(content, Exhausted):
        return Outcome(message_id, skipped=True, failed=True)
    if content is None:
        return Outcome(message_id, skipped=True)

    result = await runtime.classifier.classify(content)  # outside any transaction: may take seconds
    opinion = (await second_opinions(runtime, OpenTasks(), [(message_id, result)])).get(message_id)

    async with unit_of_work(runtime) as uow:
        outcome = await classification.record(uow, runtime.settings, message_id, result, opinion)
        if outcome.skipped:  # another delivery of this job finished first: keep nothing of this run
            uow.discard()
    return outcome
