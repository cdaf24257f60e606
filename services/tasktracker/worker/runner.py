"""The job side of a process: registers the jobs, receives them, sweeps lost ones, checks for retraining.

A `Worker` sits on top of a `Runtime` (whose resources it uses) in the processes that run jobs:
`tasktracker worker`, and the embedded `tasktracker run` / `tasktracker bot`. Make it before the
runtime starts (the broker must know it is a worker when it connects), start it after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from taskiq import Context, InMemoryBroker, TaskiqDepends
from taskiq.acks import AcknowledgeType
from taskiq.receiver import Receiver

from tasktracker import telemetry
from tasktracker.broker import CLASSIFY_MESSAGE, PUSH_EXPORT, jobs_in_hand
from tasktracker.classification import service as classification
from tasktracker.config import ClassifierMode
from tasktracker.exports import jobs as export_jobs
from tasktracker.runtime import Runtime, cancel_all
from tasktracker.unit_of_work import send_classification_jobs, unit_of_work
from tasktracker.worker import jobs
from tasktracker.worker.batch import ClassifyGroups
from tasktracker.worker.consumer import consumer_for

log = logging.getLogger(__name__)

WARM_UP_TIMEOUT_S = 10.0


class Worker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._finish = asyncio.Event()
        self._receiver: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []
        # The classification jobs in hand at once go through together (`worker/batch.py`).
        self.groups = ClassifyGroups(runtime, max_batch=self.settings.worker_concurrency)
        self._register()
        runtime.broker.is_worker_process = True

    def _register(self) -> None:
        runtime, groups = self.runtime, self.groups

        async def classify_message(message_id: int, context: Context = TaskiqDepends()) -> None:
            with telemetry.continued(context.message.labels):  # the trace of the request that sent the job
                await jobs.classify_message(runtime, message_id, groups)

        if runtime.broker.find_task(CLASSIFY_MESSAGE) is None:
            runtime.broker.register_task(classify_message, task_name=CLASSIFY_MESSAGE)

        async def push_export(export_id: int, context: Context = TaskiqDepends()) -> None:
            with telemetry.continued(context.message.labels):
                await export_jobs.push_export(runtime, export_id)

        if runtime.broker.find_task(PUSH_EXPORT) is None:
            runtime.broker.register_task(push_export, task_name=PUSH_EXPORT)

    async def start(self) -> None:
        """Receive jobs and sweep once the runtime's broker is connected."""
        if self.settings.ollama_pull and self.settings.classifier is not ClassifierMode.builtin:
            self._background.append(asyncio.create_task(self._pull_model(), name="ollama-pull"))
        self._background.append(asyncio.create_task(self._run(), name="worker"))
        self._background.append(asyncio.create_task(self._exports_loop(), name="export-schedule"))

    async def _run(self) -> None:
        await self.runtime.broker_ready.wait()
        if not isinstance(self.runtime.broker, InMemoryBroker):  # it runs jobs as they are sent
            await self._warm_up()
            self._receiver = asyncio.create_task(self._receive(), name="job-receiver")
        await self._sweep_loop()

    async def _warm_up(self) -> None:
        """A fresh worker's first groups paid for its first connection, statements and model call
        while the jobs behind them waited (bench e2e: the first ~25 messages of a run, ~100 ms each,
        were its p99); the jobs wait in the stream instead while the worker warms up, ~20 ms. Never a
        reason not to take jobs."""
        try:
            await asyncio.wait_for(self.groups.warm_up(), WARM_UP_TIMEOUT_S)
        except Exception as exc:
            log.warning("warming up failed (%s: %s); taking jobs cold", type(exc).__name__, exc)

    async def _receive(self) -> None:
        """Consume jobs until `_finish` is set; then let in-flight jobs finish (bounded by the grace period).

        On JetStream the worker's own consumer (`worker/consumer.py`) takes each pull's jobs at once and
        gives the classification jobs straight to their groups; other brokers go through taskiq's
        `Receiver` alone."""
        with ThreadPoolExecutor(max_workers=2) as executor:

            def receiver() -> Receiver:
                return Receiver(
                    broker=self.runtime.broker,
                    executor=executor,
                    run_startup=False,
                    max_async_tasks=jobs_in_hand(self.settings),
                    ack_type=AcknowledgeType.WHEN_EXECUTED,  # ack after the job's transaction committed
                    wait_tasks_timeout=self.settings.shutdown_grace_s,
                )

            while not self._finish.is_set():
                consumer = consumer_for(self.runtime, self.groups, receiver, jobs_in_hand(self.settings))
                try:
                    if consumer is not None:
                        await consumer.run(self._finish, self.settings.shutdown_grace_s)
                    else:
                        await receiver().listen(self._finish)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job receiver failed; restarting it")
                    await asyncio.sleep(1)

    async def sweep(self) -> int:
        """Put messages whose job was lost back into the queue; returns how many."""
        async with unit_of_work(self.runtime) as uow:
            ids = await classification.find_stuck(uow.session, self.settings)
        if ids:
            log.info("sweep: re-enqueueing %d stuck message(s)", len(ids))
            with telemetry.span("messages.sweep", {"messages.count": len(ids)}):
                await send_classification_jobs(self.runtime, ids)
        return len(ids)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.sweep()
                await self._check_corrections()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def _exports_loop(self) -> None:
        """Send the due exports' jobs: retries after their backoff, status changes, the periodic re-read."""
        await self.runtime.broker_ready.wait()
        while True:
            try:
                await export_jobs.schedule(self.runtime)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("export schedule failed")
            await asyncio.sleep(self.settings.export_poll_interval_s)

    async def _check_corrections(self) -> None:
        """Workers learn of corrections made through another process (the API) on each sweep."""
        if self.runtime.retrainer is not None:
            await self.runtime.retrainer.maybe_retrain()

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

    async def _finish_in_memory_jobs(self) -> None:
        """The in-memory broker runs each job as a task of its own and forgets it at shutdown: give
        running jobs the grace period, then cancel them (the sweep retries them after a restart)."""
        broker = self.runtime.broker
        if not isinstance(broker, InMemoryBroker):
            return
        running = set(broker._running_tasks)  # taskiq offers no public handle on them
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=self.settings.shutdown_grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def stop(self) -> None:
        """Stop fetching jobs; running ones finish, unacknowledged ones return to the stream. The
        runtime is stopped after this, by whoever started it."""
        self._finish.set()
        if self._receiver is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._receiver), self.settings.shutdown_grace_s + 1)
            self._background.append(self._receiver)
        await cancel_all(self._background)
        await self._finish_in_memory_jobs()


@asynccontextmanager
async def running(runtime: Runtime) -> AsyncIterator[Worker | None]:
    """Start a process's runtime, with a `Worker` on top when its role runs jobs; stop both in order."""
    worker = Worker(runtime) if runtime.runs_jobs else None
    await runtime.start()
    try:
        if worker is not None:
            await worker.start()
        yield worker
    finally:
        if worker is not None:
            await worker.stop()
        await runtime.stop()
