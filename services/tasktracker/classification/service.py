"""The pipeline step after ingestion: classify a stored message, record the run, make or link a task.

Idempotent by construction: the run that flips the message to `classified` (a conditional UPDATE)
owns the side effects, and `tasks.source_message_id` is unique, so a redelivered job never creates
a second task.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tasktracker import telemetry
from tasktracker.ai.base import Classifier
from tasktracker.ai.chain import FALLBACK_SUFFIX
from tasktracker.channels import service as channels_service
from tasktracker.classification import duplicates
from tasktracker.classification.schemas import Category, Classification, needs_review
from tasktracker.config import Settings
from tasktracker.db import utcnow
from tasktracker.events.schemas import Event, EventType
from tasktracker.messages import repository as messages_repo
from tasktracker.messages import service as messages_service
from tasktracker.models import Channel, Issue, Message, MessageStatus, Task, TaskStatus
from tasktracker.tasks import repository as tasks_repo
from tasktracker.tasks import service as tasks_service

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


@dataclass
class Outcome:
    message_id: int
    classification: Classification | None = None
    task_id: int | None = None
    task_created: bool = False
    duplicate_of: int | None = None
    skipped: bool = False
    events: list[Event] = field(default_factory=list)

    def span_attributes(self) -> dict[str, str | bool | int | float]:
        """What a trace shows of this run."""
        attributes: dict[str, str | bool | int | float] = {"classification.skipped": self.skipped}
        if self.classification is not None:
            result = self.classification
            attributes |= {
                "classification.model": result.model,
                "classification.category": result.category.value,
                "classification.priority": result.priority.value,
                "classification.confidence": result.confidence,
                "classification.latency_ms": result.latency_ms,
                "classification.fallback": result.model.endswith(FALLBACK_SUFFIX),
            }
        if self.task_id is not None:
            attributes |= {"task.id": self.task_id, "task.created": self.task_created}
        if self.duplicate_of is not None:
            attributes["task.duplicate_of"] = self.duplicate_of
        return attributes


async def classify_message(
    sessions: async_sessionmaker[AsyncSession], classifier: Classifier, settings: Settings, message_id: int
) -> Outcome:
    """Run one classification job. Returns the events to publish once everything is committed."""
    with telemetry.span("messages.classify", {"message.id": message_id}, kind=SpanKind.CONSUMER) as span:
        outcome = await _classify(sessions, classifier, settings, message_id)
        if span.is_recording():
            span.set_attributes(outcome.span_attributes())
    return outcome


async def _classify(
    sessions: async_sessionmaker[AsyncSession], classifier: Classifier, settings: Settings, message_id: int
) -> Outcome:
    async with sessions() as session:
        stale_before = utcnow() - timedelta(seconds=settings.job_ack_wait_s)
        claimed = await messages_repo.claim(session, message_id, stale_before)
        message = await messages_repo.get(session, message_id) if claimed else None
        if message is None:
            await session.rollback()
            return Outcome(message_id, skipped=True)
        if message.attempts > MAX_ATTEMPTS:
            await messages_repo.set_status(session, message_id, MessageStatus.failed)
            await session.commit()
            log.error("message %s failed %s classification attempts; marked failed", message_id, MAX_ATTEMPTS)
            return Outcome(message_id, skipped=True)
        await session.commit()
        content = message.content

    result = await classifier.classify(content)  # outside any transaction: may take seconds

    async with sessions() as session:
        outcome = await record(session, settings, message_id, result)
        await session.commit()
    return outcome


async def record(
    session: AsyncSession, settings: Settings, message_id: int, result: Classification
) -> Outcome:
    """Store a classification and its task in the caller's transaction, exactly once per message."""
    outcome = Outcome(message_id, classification=result)
    message = await messages_repo.get(session, message_id)
    if message is None:
        outcome.skipped = True
        return outcome
    issue = Issue(message_id=message_id, **result.model_dump())
    session.add(issue)
    await session.flush()

    task: Task | None = None
    if result.actionable and result.category != Category.noise:
        task, outcome.task_created, outcome.duplicate_of = await _task_for(
            session, settings, message, issue, result
        )
        outcome.task_id = task.id
        await session.flush()

    if not await messages_repo.finish(session, message_id, outcome.task_id):
        # Another delivery of this job finished first; undo ours.
        await session.rollback()
        outcome.skipped = True
        return outcome

    # The events are built from the rows in hand: `finish` changed only status and task_id.
    channel = await session.get(Channel, message.channel_id)
    assert channel is not None
    message_public = messages_service.to_public(message, channel, issue).model_copy(
        update={"status": MessageStatus.classified, "task_id": outcome.task_id}
    )
    outcome.events.append(
        Event(type=EventType.message_classified, data=message_public.model_dump(mode="json"))
    )
    if task is not None:
        kind = EventType.task_created if outcome.task_created else EventType.task_updated
        task_public = tasks_service.to_public(task, channel if task.channel_id == channel.id else None)
        outcome.events.append(Event(type=kind, data=task_public.model_dump(mode="json")))
    return outcome


async def _task_for(
    session: AsyncSession, settings: Settings, message: Message, issue: Issue, result: Classification
) -> tuple[Task, bool, int | None]:
    """Link the message to an open task that is the same request, or create its task.

    No check for an existing task of this message first: a concurrent run's task is caught by the
    unique `source_message_id` (ON CONFLICT), and that run's `finish` makes this one roll back.
    """
    since = utcnow() - timedelta(hours=settings.duplicate_window_h)
    # Any actionable category: a repeat restated in other words is often filed under a neighbouring
    # category (a bug report vs a request to fix it), and the matcher is what tells requests apart.
    categories = [category for category in Category if category is not Category.noise]
    candidates = await tasks_repo.open_candidates(session, message.channel_id, categories, since)
    match = duplicates.best_match(message.content, candidates, settings.duplicate_threshold)
    linked = await tasks_repo.add_message(session, match[0], utcnow()) if match is not None else None
    if match is not None and linked is not None:  # None: the task was deleted meanwhile
        await tasks_repo.add_activity(
            session,
            match[0],
            "duplicate_linked",
            {"message_id": message.id, "similarity": round(match[1], 3)},
        )
        return linked, False, match[0]

    now = utcnow()
    defaults = await channels_service.routing_defaults(
        session, message.channel_id
    )  # the channel's assignee, labels
    values = {
        "title": result.title or message.content[:80],
        "description": message.content,
        "category": result.category,
        "priority": result.priority,
        "status": TaskStatus.open,
        "assignee": defaults.assignee,
        "labels": list(defaults.labels),
        "needs_review": needs_review(result, settings.review_threshold, settings.priority_review_threshold),
        "confidence": result.confidence,
        "source_message_id": message.id,
        "issue_id": issue.id,
        "channel_id": message.channel_id,
        "message_count": 1,
        "created_at": now,
        "updated_at": now,
    }
    task, created = await tasks_repo.insert_for_message(session, values)
    if created:
        assert task.id is not None  # read back from the table
        await tasks_repo.add_activity(
            session,
            task.id,
            "created",
            {"source": "classification", "message_id": message.id, "model": result.model},
        )
    return task, created, None


async def find_stuck(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> list[int]:
    """Messages whose job was lost, to be enqueued again: never taken for `sweep_stuck_after_s` (the
    broker was down at enqueue), or claimed longer ago than a job may run (`job_ack_wait_s`: the worker
    died). They go back to `received`, so the new job can claim them."""
    async with sessions() as session:
        now = utcnow()
        ids = await messages_repo.stuck(
            session,
            received_before=now - timedelta(seconds=settings.sweep_stuck_after_s),
            classifying_before=now - timedelta(seconds=settings.job_ack_wait_s),
        )
        await messages_repo.requeue(session, ids)
        await session.commit()
    return ids
