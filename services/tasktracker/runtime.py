"""The process's long-lived resources, made at start (never at import) and closed at stop.

One `Runtime` serves every role: `api` (HTTP + WebSocket, sends jobs), `worker` (runs jobs and the
sweep), and `all` (the embedded mode: everything in one process, sharing an in-process bus).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from tasktracker import telemetry
from tasktracker.ai.base import Classifier
from tasktracker.config import ClassifierMode, Settings
from tasktracker.corrections import Retrainer
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.events.bus import EventBus, InProcessBus, NatsBus
from tasktracker.events.schemas import Event
from tasktracker.worker.broker import CLASSIFY_MESSAGE, broker_connected, create_broker, enqueue

log = logging.getLogger(__name__)


class Role(StrEnum):
    api = "api"
    worker = "worker"
    all = "all"


@dataclass
class Runtime:
    settings: Settings
    role: Role
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: AsyncBroker
    bus: EventBus
    classifier: Classifier
    retrainer: Retrainer | None = None
    broker_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _finish: asyncio.Event = field(default_factory=asyncio.Event)
    _receiver: asyncio.Task[None] | None = None

    @property
    def runs_jobs(self) -> bool:
        return self.role in (Role.worker, Role.all)

    # Events and jobs -------------------------------------------------------------------------------

    async def publish(self, events: list[Event]) -> None:
        for event in events:
            try:
                await self.bus.publish(event)
            except Exception as exc:  # a live feed: losing an event must never fail the write that caused it
                log.warning("could not publish %s: %s", event.type, exc)

    async def enqueue_classification(self, message_ids: list[int]) -> int:
        """Send classification jobs; returns how many were sent. Unsent ones are picked up by the sweep.

        The messages are committed already, so a caller never waits on a broker that is down: while it
        is disconnected nothing is tried, and a send that takes longer than `enqueue_timeout_s` stops
        the rest (a job that went out anyway only runs twice, and jobs are idempotent).
        """
        sent = 0
        if not self.broker_connected():
            log.warning("broker not connected; %d message(s) left for the sweep", len(message_ids))
            return 0
        for message_id in message_ids:
            try:
                with telemetry.span("messages.enqueue", {"message.id": message_id}, kind=SpanKind.PRODUCER):
                    # carries the span's context
                    await asyncio.wait_for(
                        enqueue(self.broker, CLASSIFY_MESSAGE, message_id), self.settings.enqueue_timeout_s
                    )
                sent += 1
            except TimeoutError:
                log.warning(
                    "broker did not take message %s within %.1f s; %d message(s) left for the sweep",
                    message_id,
                    self.settings.enqueue_timeout_s,
                    len(message_ids) - sent,
                )
                break
            except Exception:
                log.warning("could not enqueue message %s; the sweep will retry", message_id, exc_info=True)
        return sent

    # Lifecycle --------------------------------------------------------------------------------------

    async def after_corrections(self, session: AsyncSession) -> None:
        """Called after a person corrected a classification: retrain when enough have come in."""
        if self.retrainer is not None:
            await self.retrainer.maybe_retrain(session)

    async def start(self) -> None:
        await self.bus.start()
        if self.retrainer is not None:
            self._background.append(asyncio.create_task(self.retrainer.initialise(), name="retrain-init"))
        if (
            self.runs_jobs
            and self.settings.ollama_pull
            and self.settings.classifier is not ClassifierMode.builtin
        ):
            self._background.append(asyncio.create_task(self._pull_model(), name="ollama-pull"))
        if self.runs_jobs:
            from tasktracker.worker.jobs import register_jobs

            register_jobs(self)
            self.broker.is_worker_process = True
        self._background.append(asyncio.create_task(self._connect_broker(), name="broker-connect"))

    async def _pull_model(self) -> None:
        """Pull the configured Ollama model if missing; meanwhile the built-in model answers."""
        from tasktracker.ai.ollama_models import PullProgress, ensure_model

        def progress(p: PullProgress) -> None:
            log.info(
                "pulling %s: %s %s",
                self.settings.ollama_model,
                p.status,
                f"{p.percent:.0f}%" if p.percent else "",
            )

        try:
            await ensure_model(self.settings, progress)
        except Exception as exc:
            log.warning("could not make sure Ollama has %s: %s", self.settings.ollama_model, exc)

    async def _connect_broker(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.broker.startup()
                break
            except Exception as exc:
                log.warning("broker not reachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)
        self.broker_ready.set()
        log.info("broker connected")
        if self.runs_jobs:
            if not isinstance(self.broker, InMemoryBroker):  # the in-memory broker runs jobs as they are sent
                self._receiver = asyncio.create_task(self._receive(), name="job-receiver")
                self._background.append(self._receiver)
            self._background.append(asyncio.create_task(self._sweep_loop(), name="stuck-sweep"))

    async def _receive(self) -> None:
        """Consume jobs until `_finish` is set; then let in-flight jobs finish (bounded by the grace period)."""
        with ThreadPoolExecutor(max_workers=2) as executor:
            while not self._finish.is_set():
                receiver = Receiver(
                    broker=self.broker,
                    executor=executor,
                    run_startup=False,
                    max_async_tasks=self.settings.worker_concurrency,
                    ack_type=AcknowledgeType.WHEN_EXECUTED,  # ack after the job's transaction committed
                    wait_tasks_timeout=self.settings.shutdown_grace_s,
                )
                try:
                    await receiver.listen(self._finish)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job receiver failed; restarting it")
                    await asyncio.sleep(1)

    async def sweep_once(self) -> int:
        from tasktracker.classification.service import find_stuck

        ids = await find_stuck(self.sessions, self.settings)
        if ids:
            log.info("sweep: re-enqueueing %d stuck message(s)", len(ids))
            with telemetry.span("messages.sweep", {"messages.count": len(ids)}):
                await self.enqueue_classification(ids)
        return len(ids)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep_once()
                await self._check_corrections()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def _check_corrections(self) -> None:
        """Workers learn of corrections made through another process (the API) on each sweep."""
        if self.retrainer is not None:
            async with self.sessions() as session:
                await self.retrainer.maybe_retrain(session)

    async def _finish_in_memory_jobs(self) -> None:
        """The in-memory broker runs each job as a task of its own and forgets it at shutdown: give
        running jobs the grace period, then cancel them (the sweep retries them after a restart)."""
        if not isinstance(self.broker, InMemoryBroker):
            return
        running = set(self.broker._running_tasks)  # taskiq offers no public handle on them
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=self.settings.shutdown_grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def broker_connected(self) -> bool:
        return self.broker_ready.is_set() and broker_connected(self.broker)

    async def stop(self) -> None:
        self._finish.set()  # stop fetching jobs; running ones finish, unacked ones return to the stream
        if self._receiver is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._receiver), self.settings.shutdown_grace_s + 1)
        for task in reversed(self._background):
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._background.clear()
        await self._finish_in_memory_jobs()
        if self.broker_ready.is_set():
            with contextlib.suppress(Exception):
                await self.broker.shutdown()
        with contextlib.suppress(Exception):
            await self.bus.stop()
        close = getattr(self.classifier, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        await self.engine.dispose()


def build_runtime(settings: Settings, role: Role, classifier: Classifier | None = None) -> Runtime:
    """Make the resources of a process. A given classifier (tests) replaces the configured chain."""
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    retrainer = None
    if classifier is None:
        from tasktracker.ai.factory import build_classifiers

        classifiers = build_classifiers(settings)
        classifier = classifiers.chain
        retrainer = Retrainer(settings, sessions, classifiers.builtin)
    bus: EventBus = (
        InProcessBus()
        if settings.embedded_broker
        else NatsBus(settings.nats_url, settings.nats_events_subject)
    )
    return Runtime(
        settings=settings,
        role=role,
        engine=engine,
        sessions=sessions,
        broker=create_broker(settings),
        bus=bus,
        classifier=classifier,
        retrainer=retrainer,
    )
