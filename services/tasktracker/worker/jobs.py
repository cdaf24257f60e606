"""The jobs a worker runs: thin adapters that take ids and run services in units of work.

`messages.classify` is the one job with two units: claim the message (short), classify it outside
any transaction (the LLM may take seconds), then record the result (short).
"""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tasktracker import telemetry
from tasktracker.classification import service as classification
from tasktracker.classification.service import Outcome
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work


async def classify_message(runtime: Runtime, message_id: int) -> Outcome:
    """Classify one stored message, exactly once however often its job is delivered."""
    with telemetry.span("messages.classify", {"message.id": message_id}, kind=SpanKind.CONSUMER) as span:
        outcome = await _classify(runtime, message_id)
        if span.is_recording():
            span.set_attributes(outcome.span_attributes())
    return outcome


async def _classify(runtime: Runtime, message_id: int) -> Outcome:
    async with unit_of_work(runtime) as uow:
        content = await classification.claim(uow.session, runtime.settings, message_id)
    if content is None:
        return Outcome(message_id, skipped=True)

    result = await runtime.classifier.classify(content)  # outside any transaction: may take seconds

    async with unit_of_work(runtime) as uow:
        outcome = await classification.record(uow, runtime.settings, message_id, result)
        if outcome.skipped:  # another delivery of this job finished first: keep nothing of this run
            uow.discard()
    return outcome
