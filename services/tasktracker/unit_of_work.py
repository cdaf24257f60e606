"""One unit of work per HTTP request, job, bot update and CLI command.

The boundary opens it (`unit_of_work(resources)`), services and repositories add to its session and
queue side effects on it — events to publish, classification jobs to send, actions to run — and the
boundary commits it once at the end. Only after that commit succeeded are the queued effects sent,
so a job never points at a row that does not exist and an event never announces something that was
rolled back. A failed unit (an exception, or `discard()`) is rolled back and sends nothing.

This module and the job runner (`worker/runner.py`) are the only code that commits, rolls back,
publishes or enqueues (`tests/test_architecture.py` checks it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from tasktracker import telemetry
from tasktracker.broker import CLASSIFY_MESSAGE, enqueue
from tasktracker.config import Settings
from tasktracker.events.bus import EventBus
from tasktracker.events.schemas import Event

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[Any]]


class Resources(Protocol):
    """What a unit of work needs of the process (the `Runtime` has it)."""

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...
    @property
    def bus(self) -> EventBus: ...
    @property
    def broker(self) -> AsyncBroker: ...
    @property
    def settings(self) -> Settings: ...
    def broker_connected(self) -> bool: ...


@dataclass
class UnitOfWork:
    """A transaction and what to do once it is committed."""

    session: AsyncSession
    events: list[Event] = field(default_factory=list)
    classify: list[int] = field(default_factory=list)
    jobs: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    actions: list[AfterCommit] = field(default_factory=list)
    discarded: bool = False

    def queue_event(self, *events: Event) -> None:
        self.events.extend(events)

    def queue_classification(self, message_ids: Iterable[int]) -> None:
        self.classify.extend(message_ids)

    def queue_job(self, name: str, *args: Any) -> None:
        """Send a job once the unit is committed (its rows exist by then). A job that cannot be sent is
        left to the sweep of its domain (exports: the rows stay due)."""
        self.jobs.append((name, args))

    def after_commit(self, action: AfterCommit) -> None:
        """Run once the unit is committed and its events and jobs are sent; a failure is only logged."""
        self.actions.append(action)

    def keep_effects_unsent(self) -> None:
        """Commit the data but send nothing queued so far (an import with no broker to send jobs to)."""
        self.events.clear()
        self.classify.clear()
        self.jobs.clear()

    def discard(self) -> None:
        """Roll back at the end instead of committing, and send nothing."""
        self.discarded = True


@asynccontextmanager
async def unit_of_work(resources: Resources) -> AsyncIterator[UnitOfWork]:
    """Open a unit, commit it when the block ends normally, then send what it queued."""
    async with resources.sessions() as session:
        uow = UnitOfWork(session)
        yield uow  # an exception leaves the block uncommitted: closing the session rolls it back
        if uow.discarded:
            await session.rollback()
            return
        await session.commit()
    await send(resources, uow)


async def send(resources: Resources, uow: UnitOfWork) -> None:
    """What a committed unit queued: events, then jobs, then the other actions. Never raises."""
    await publish(resources.bus, uow.events)
    if uow.classify:
        await send_classification_jobs(resources, uow.classify)
    if uow.jobs:
        await send_jobs(resources, uow.jobs)
    for action in uow.actions:
        try:
            await action()
        except Exception:  # the data is committed; a failed follow-up must not fail the request
            log.warning("an after-commit action failed", exc_info=True)


async def publish(bus: EventBus, events: list[Event]) -> None:
    for event in events:
        try:
            await bus.publish(event)
        except Exception as exc:  # a live feed: losing an event must never fail the write that caused it
            log.warning("could not publish %s: %s", event.type, exc)


async def send_classification_jobs(resources: Resources, message_ids: list[int]) -> int:
    """Send classification jobs; returns how many were sent. Unsent ones are picked up by the sweep.

    The messages are committed already, so a caller never waits on a broker that is down: while it
    is disconnected nothing is tried, and a send that takes longer than `enqueue_timeout_s` stops
    the rest (a job that went out anyway only runs twice, and jobs are idempotent).
    """
    if not resources.broker_connected():
        log.warning("broker not connected; %d message(s) left for the sweep", len(message_ids))
        return 0
    timeout_s = resources.settings.enqueue_timeout_s
    sent = 0
    for message_id in message_ids:
        try:
            with telemetry.span("messages.enqueue", {"message.id": message_id}, kind=SpanKind.PRODUCER):
                # carries the span's context
                await asyncio.wait_for(enqueue(resources.broker, CLASSIFY_MESSAGE, message_id), timeout_s)
            sent += 1
        except TimeoutError:
            log.warning(
                "broker did not take message %s within %.1f s; %d message(s) left for the sweep",
                message_id,
                timeout_s,
                len(message_ids) - sent,
            )
            break
        except Exception:
            log.warning("could not enqueue message %s; the sweep will retry", message_id, exc_info=True)
    return sent


async def send_jobs(resources: Resources, jobs: list[tuple[str, tuple[Any, ...]]]) -> int:
    """Send other jobs (by name, with their arguments); returns how many were sent. Like classification
    jobs: nothing is tried while the broker is away, and a slow broker stops the rest."""
    if not resources.broker_connected():
        log.warning("broker not connected; %d job(s) left for their sweep", len(jobs))
        return 0
    sent = 0
    for name, args in jobs:
        try:
            with telemetry.span(f"{name}.enqueue", kind=SpanKind.PRODUCER):
                await asyncio.wait_for(
                    enqueue(resources.broker, name, *args), resources.settings.enqueue_timeout_s
                )
            sent += 1
        except TimeoutError:
            log.warning(
                "broker did not take a %s job in time; %d job(s) left for their sweep", name, len(jobs) - sent
            )
            break
        except Exception:
            log.warning("could not enqueue a %s job; its sweep will retry", name, exc_info=True)
    return sent
