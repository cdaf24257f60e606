"""The process's long-lived resources, made at start (never at import) and closed at stop.

A `Runtime` holds the engine and session factory, the taskiq broker, the event bus, the classifier
(and the trainer of its built-in model) and the settings. It sends and runs nothing itself: units
of work (`unit_of_work.py`) publish and enqueue through it, and a process that runs jobs adds a
`Worker` (`worker/runner.py`) on top of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from tasktracker.ai.base import Classifier
from tasktracker.broker import broker_connected, create_broker
from tasktracker.config import Settings
from tasktracker.corrections import Retrainer
from tasktracker.db import Autocommit, create_engine, create_sessionmaker
from tasktracker.events.bus import EventBus, InProcessBus, NatsBus
from tasktracker.unit_of_work import JobSender

if TYPE_CHECKING:
    from tasktracker.ai.duplicate_judge import SecondOpinion

log = logging.getLogger(__name__)


YOUNG_COLLECTION_THRESHOLD = 10_000  # Python's default: 700


def freeze_heap() -> None:
    """Once a server process has started: move what start-up made (modules, the app, the model) out of
    the garbage collector's generations, and collect the young one every 10,000 allocations.

    It lives as long as the process, yet every full collection walked it: the worker's, over the
    built-in model's vocabularies and the caches, paused the process 100-400 ms a few times a minute
    under load (end-to-end p99, docs/benchmarks.md), the API's ~220,000 start-up objects made its
    ingest p99. No collection first: one takes ~0.3 s and finds next to nothing after start-up. A
    request or a group makes hundreds of short-lived objects: young collections every 10,000
    allocations instead of 700 cut the API's CPU a message by ~10% (c=64, batch) in the same minutes.
    The collector, paused while `tasktracker run` and `api` start (cli.py, `_serve`), is on from here.
    """
    from tasktracker.metrics import FROZEN_OBJECTS

    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)
    gc.enable()
    FROZEN_OBJECTS.set(gc.get_freeze_count())


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
    # The LLM's second opinion on duplicate close calls (a worker with an LLM configured), else None.
    duplicate_judge: SecondOpinion | None = None
    broker_ready: asyncio.Event = field(default_factory=asyncio.Event)
    job_sender: JobSender | None = None
    autocommit: Autocommit | None = None  # PostgreSQL: units without a transaction (`unit_of_work`)
    _background: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def runs_jobs(self) -> bool:
        return self.role in (Role.worker, Role.all)

    def broker_connected(self) -> bool:
        return self.broker_ready.is_set() and broker_connected(self.broker)

    async def start(self) -> None:
        """Connect the bus, and the broker in the background (with retries: the process starts, and
        reports itself not ready, while NATS is down)."""
        await self.bus.start()
        self.job_sender = JobSender(self)
        self.job_sender.start()
        if self.retrainer is not None:
            self._background.append(asyncio.create_task(self.retrainer.initialise(), name="retrain-init"))
        self._background.append(asyncio.create_task(self._connect_broker(), name="broker-connect"))

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

    async def stop(self) -> None:
        if self.job_sender is not None:  # what requests queued goes out before the broker closes
            await self.job_sender.stop()
        await cancel_all(self._background)
        if self.broker_ready.is_set():
            with contextlib.suppress(Exception):
                await self.broker.shutdown()
        with contextlib.suppress(Exception):
            await self.bus.stop()
        for resource in (self.classifier, self.duplicate_judge):
            close = getattr(resource, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        if self.autocommit is not None:
            with contextlib.suppress(Exception):
                await self.autocommit.close()
        await self.engine.dispose()


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel background tasks, newest first, wait for each to end, and forget them."""
    for task in reversed(tasks):
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()


def build_runtime(settings: Settings, role: Role, classifier: Classifier | None = None) -> Runtime:
    """Make the resources of a process. A given classifier (tests) replaces the configured chain."""
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    retrainer = None
    judge = None
    deferred = False
    if classifier is None and role is Role.api:
        from tasktracker.ai.factory import DeferredClassifier

        deferred = True
        classifier = DeferredClassifier(settings, lambda: _load_classifier(runtime))
    elif classifier is None:
        from tasktracker.ai.factory import build_classifiers

        classifiers = build_classifiers(settings)
        classifier = classifiers.chain
        retrainer = Retrainer(settings, sessions, classifiers.builtin)
        if settings.duplicate_llm_wanted:
            from tasktracker.ai.duplicate_judge import build_second_opinion

            # The classifier's LLM limit, so both together stay within `llm_concurrency`.
            judge = build_second_opinion(
                settings, getattr(getattr(classifier, "llm", None), "semaphore", None)
            )
    bus: EventBus = (
        InProcessBus()
        if settings.embedded_broker
        else NatsBus(settings.nats_url, settings.nats_events_subject)
    )
    runtime = Runtime(
        settings=settings,
        role=role,
        engine=engine,
        sessions=sessions,
        broker=create_broker(settings),
        bus=bus,
        classifier=classifier,
        retrainer=retrainer,
        duplicate_judge=judge,
        autocommit=Autocommit(engine, settings) if engine.dialect.name == "postgresql" else None,
    )
    if deferred:
        log.debug("classifier deferred until the first /api/classify")
    return runtime


async def _load_classifier(runtime: Runtime) -> Classifier:
    """The API's classifier on first use: the configured chain, its built-in model brought up to date
    with the stored corrections (as a worker does at start)."""
    from tasktracker.ai.factory import build_classifiers

    classifiers = await asyncio.to_thread(build_classifiers, runtime.settings)
    retrainer = Retrainer(runtime.settings, runtime.sessions, classifiers.builtin)
    await retrainer.initialise()
    runtime.retrainer = retrainer
    log.info("classifier loaded in the API process: %s", classifiers.chain.name)
    return classifiers.chain
