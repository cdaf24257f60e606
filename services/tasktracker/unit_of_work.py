"""One unit of work per HTTP request, job, bot update and CLI command.

The boundary opens it (`unit_of_work(resources)`), services and repositories add to its session and
queue side effects on it — events to publish, classification jobs to send, actions to run — and the
boundary commits it once at the end. Only after that commit succeeded are the queued effects sent,
so a job never points at a row that does not exist and an event never announces something that was
rolled back. A failed unit (an exception, or `discard()`) is rolled back and sends nothing.

Two helpers keep the hot paths short without bending that rule, and live here because they commit
or send: `JobSender` sends a committed unit's jobs in the background, many at once (the caller never
waits on a broker round trip), and `GroupCommit` writes concurrent callers' items in one unit and one
commit, answering each caller only after that commit.

This module and the job runner (`worker/runner.py`) are the only code that commits, rolls back,
publishes or enqueues (`tests/test_architecture.py` checks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from tasktracker import telemetry
from tasktracker.broker import CLASSIFY_MESSAGE, JetStreamBroker, enqueue
from tasktracker.config import Settings
from tasktracker.db import Autocommit
from tasktracker.events.bus import EventBus
from tasktracker.events.schemas import Event

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[Any]]
T = TypeVar("T")
R = TypeVar("R")


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
class Effects:
    """What to do once a transaction is committed: events to publish, jobs to send, actions to run."""

    events: list[Event] = field(default_factory=list, kw_only=True)
    classify: list[int] = field(default_factory=list, kw_only=True)
    jobs: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list, kw_only=True)
    actions: list[AfterCommit] = field(default_factory=list, kw_only=True)

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


@dataclass
class UnitOfWork(Effects):
    """A transaction and what to do once it is committed.

    `direct`: in a unit opened with `autocommit`, where to run the unit's one write (a statement that
    commits on its own, `db.Autocommit.fetch`); None in a transaction."""

    session: AsyncSession
    discarded: bool = False
    direct: Autocommit | None = None

    def discard(self) -> None:
        """Roll back at the end instead of committing, and send nothing."""
        self.discarded = True


@asynccontextmanager
async def unit_of_work(resources: Resources, *, autocommit: bool = False) -> AsyncIterator[UnitOfWork]:
    """Open a unit, commit it when the block ends normally, then send what it queued.

    `autocommit` (PostgreSQL, a process with `db.Autocommit`): no transaction: each statement commits
    on its own, and there is no BEGIN or COMMIT to wait for. Only for a unit whose write is one
    statement (a `GroupCommit` whose handler writes once, through `uow.direct`), which then commits
    or fails as a whole; what else its session does (a channel made on first use) commits at once."""
    direct: Autocommit | None = getattr(resources, "autocommit", None) if autocommit else None
    if direct is not None:
        uow = UnitOfWork(direct.sessions(), direct=direct)
        try:
            yield uow
        except BaseException:
            await uow.session.close()
            raise
        if uow.session.in_transaction():  # used for a read or a channel: each statement committed itself
            await uow.session.close()
        if not uow.discarded:
            await send(resources, uow)
        return
    async with resources.sessions() as session:
        uow = UnitOfWork(session)
        yield uow  # an exception leaves the block uncommitted: closing the session rolls it back
        if uow.discarded:
            await session.rollback()
            return
        await session.commit()
    await send(resources, uow)


@asynccontextmanager
async def effects_of_committed(resources: Resources) -> AsyncIterator[Effects]:
    """Effects of rows another unit has committed already (a `GroupCommit`'s): what the block queues
    is sent when it ends normally, as a unit's would be after its commit, with no session of its own."""
    effects = Effects()
    yield effects
    await send(resources, effects)


async def send(resources: Resources, uow: Effects) -> None:
    """What a committed unit queued: events, then jobs, then the other actions. Never raises.

    Classification jobs go to the process's `JobSender` when it has a running one (sent in the
    background, many at once); other jobs, and classification jobs without a sender, are sent here.
    A sender is handed its jobs before the events are published: its turn of the loop then comes
    before the connection's flusher's, and on one NATS connection (`JobSender`) the jobs and the
    events leave in one write.
    """
    sender: JobSender | None = getattr(resources, "job_sender", None)
    queued = bool(uow.classify) and sender is not None and sender.running
    if queued:
        assert sender is not None
        sender.submit(uow.classify)
    await publish(resources.bus, uow.events)
    if uow.classify and not queued:
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


class JobSender:
    """Sends classification jobs in the background, many at once, so no request waits on the broker.

    A committed unit hands its message ids over (`submit`) and is done; the sender publishes whatever
    has gathered as one pipelined burst (each job's publish and JetStream acknowledgement in flight
    together) and goes on with what gathered meanwhile. What cannot be sent (broker down, a publish
    that times out) is left to the sweep, exactly as before: the messages are committed already. At
    stop the sender sends what is still queued, bounded by `enqueue_timeout_s`.
    """

    def __init__(self, resources: Resources, max_burst: int = 256) -> None:
        self.resources = resources
        self.max_burst = max_burst
        self._pending: list[tuple[int, dict[str, str]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="job-sender")

    def submit(self, message_ids: Iterable[int]) -> None:
        headers = telemetry.trace_headers()
        self._pending.extend((message_id, headers) for message_id in message_ids)
        self._idle.clear()
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                burst, self._pending = self._pending[: self.max_burst], self._pending[self.max_burst :]
                try:
                    await self._send(burst)
                except asyncio.CancelledError:
                    self._pending[:0] = burst
                    raise
                except Exception:  # never let the sender die: what failed is the sweep's
                    log.warning("sending %d job(s) failed; the sweep will retry", len(burst), exc_info=True)
            self._idle.set()

    async def _send(self, burst: list[tuple[int, dict[str, str]]]) -> None:
        resources = self.resources
        if not resources.broker_connected():
            log.warning("broker not connected; %d message(s) left for the sweep", len(burst))
            return
        timeout_s = resources.settings.enqueue_timeout_s
        traced = telemetry.enabled()
        broker = resources.broker
        if not traced and isinstance(broker, JetStreamBroker):
            # All of the burst in flight at once, answered by one subscription (`publish_jobs`), on the
            # event bus's connection when it has one: the jobs and their messages' events (published in
            # the same turn, see `send`) then leave in one write, not one on each connection.
            client = getattr(resources.bus, "client", None)
            failed = await broker.publish_jobs(CLASSIFY_MESSAGE, burst, timeout_s, client=client)
            if failed:
                log.warning("%d of %d job(s) not sent; the sweep will retry them", len(failed), len(burst))
            return

        async def one(message_id: int, labels: dict[str, str]) -> None:
            if not traced:  # not even the no-op span and context switch a job would cost
                await enqueue(resources.broker, CLASSIFY_MESSAGE, message_id)
                return
            with (
                telemetry.continued(labels),  # the trace of the request that queued it
                telemetry.span("messages.enqueue", {"message.id": message_id}, kind=SpanKind.PRODUCER),
            ):
                await enqueue(resources.broker, CLASSIFY_MESSAGE, message_id)

        # One deadline for the burst (its publishes start together), not a `wait_for` and its task per job.
        try:
            async with asyncio.timeout(timeout_s):
                results = await asyncio.gather(
                    *(one(m, labels) for m, labels in burst), return_exceptions=True
                )
        except TimeoutError:
            log.warning(
                "%d job(s) not all acknowledged within %.1f s; the sweep will retry the unsent",
                len(burst),
                timeout_s,
            )
            return
        failed = [m for (m, _), r in zip(burst, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            log.warning("%d of %d job(s) not sent; the sweep will retry them", len(failed), len(burst))

    async def stop(self) -> None:
        """Send what is queued (bounded), then stop."""
        if self._task is None:
            return
        if self._pending and self.resources.broker_connected():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.resources.settings.enqueue_timeout_s + 1)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._pending:
            log.warning("%d job(s) unsent at stop; the sweep will send them", len(self._pending))


Handler = Callable[[UnitOfWork, list[T]], Awaitable[list["R | Exception"]]]


class GroupCommit(Generic[T, R]):
    """Group commit: items that concurrent callers submit are handled in one unit of work and one
    commit, and each caller gets its own result only once that commit succeeded.

    `handle(uow, items)` returns one result per item, or an exception for an item it refused (it must
    then have written nothing for that item). If the unit fails (the handler raises, or the commit
    does), every caller of the group gets that error and nothing of the group is stored.

    There is no waiting window: an item that comes while no unit is open starts one at once (no
    latency added when the load is light); items that come while units are committing gather and go
    together in the next one. `max_units` units may be open at once.

    `autocommit`: a handler that writes the group in one statement needs no transaction around it
    (`unit_of_work`'s `autocommit`): that statement is the commit, two round trips fewer a group.
    """

    def __init__(
        self,
        resources: Resources,
        handle: Handler[T, R],
        *,
        max_batch: int = 256,
        max_units: int = 2,
        autocommit: bool = False,
    ) -> None:
        self.resources = resources
        self.handle = handle
        self.autocommit = autocommit
        self.max_batch = max_batch
        self.max_units = max_units
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._units = 0
        self.groups = 0  # units committed (for tests and metrics)

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._start_unit()
        return await future

    def _start_unit(self) -> None:
        if self._queue and self._units < self.max_units:
            self._units += 1
            asyncio.get_running_loop().create_task(self._drain(), name="group-commit")

    async def _drain(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                await self._commit(group)
        finally:
            self._units -= 1
            self._start_unit()

    async def _commit(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            async with unit_of_work(self.resources, autocommit=self.autocommit) as uow:
                results = await self.handle(uow, [item for item, _ in group])
                if len(results) != len(group):
                    raise RuntimeError(f"group handler gave {len(results)} results for {len(group)} items")
        except BaseException as exc:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self.groups += 1
        for (_, future), result in zip(group, results, strict=True):
            if future.done():  # the caller went away; its item is stored all the same
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
