"""What every channel adapter does once a message is committed: announce it and queue its classification.

Called only after the commit, so a job never points at a row that does not exist, and never for a
message that was already known (a retry), so a repeat delivery queues nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tasktracker.events.schemas import Event, EventType
from tasktracker.messages.schemas import MessagePublic
from tasktracker.metrics import MESSAGES_INGESTED


class Pipeline(Protocol):
    """The part of the runtime an adapter needs after its commit."""

    async def publish(self, events: list[Event]) -> None: ...

    async def enqueue_classification(self, message_ids: list[int]) -> int: ...


async def announce(pipeline: Pipeline, created: Sequence[MessagePublic]) -> None:
    """Publish `message.received` for newly stored messages and send their classification jobs."""
    if not created:
        return
    for message in created:
        MESSAGES_INGESTED.labels(message.channel.kind).inc()
    await pipeline.publish(
        [Event(type=EventType.message_received, data=m.model_dump(mode="json")) for m in created]
    )
    await pipeline.enqueue_classification([m.id for m in created])
