"""A worker's JetStream consumer: the jobs of each pull go straight to their groups, without taskiq's
per-job machinery for the classification jobs.

taskiq's `Receiver` takes the jobs one at a time from the broker and runs each as its own execution: a
queue hop, a task, its semaphores, the message validated into a pydantic model, dependency injection,
a result and the middlewares, then the ack. A worker classifying hundreds of messages a second spent
a tenth of its time there, and since the jobs reached the groups (`worker/batch.py`) one hop at a
time, a group that started found only the few that had got through meanwhile. Here every job of a
pull is read at once: `messages.classify` jobs are decoded here (one `json.loads`, the ids and the
trace context) and all submitted before any group starts, so a group takes up to a full batch; every
other job (`exports.push`) goes through taskiq's `Receiver.callback` as before.

The delivery promises are the `Receiver`'s with `WHEN_EXECUTED`, unchanged: a job is acknowledged only
after it ran, so after its group's commit; one that failed (the model could not handle its text, the
database went away) is acknowledged all the same, as taskiq does, and its message stays claimed until
the sweep finds the claim stale (`job_ack_wait_s`) and sends the job again, up to `job_max_deliver`
attempts, after which the claim marks the message failed (a dead letter). A worker that dies leaves
its jobs unacknowledged: JetStream delivers them again after `ack_wait`. At shutdown the jobs in hand
get the grace period to finish; the ones not yet started return after `ack_wait`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from nats.aio.msg import Msg
from taskiq import AckableMessage
from taskiq.receiver import Receiver

from tasktracker import telemetry
from tasktracker.broker import CLASSIFY_MESSAGE, JetStreamBroker
from tasktracker.runtime import Runtime
from tasktracker.worker import jobs
from tasktracker.worker.batch import ClassifyGroups

log = logging.getLogger(__name__)


def classify_job(data: bytes) -> tuple[int, dict[str, Any]] | None:
    """(message id, labels) of a `messages.classify` job as `broker.enqueue` sends it; None for any
    other job, or one this reading does not expect (taskiq's own path takes it then)."""
    try:
        job = json.loads(data)
        if job.get("task_name") != CLASSIFY_MESSAGE or job.get("kwargs"):
            return None
        (message_id,) = job["args"]
        labels = job.get("labels") or {}
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if type(message_id) is not int or not isinstance(labels, dict):
        return None
    return message_id, labels


class JobConsumer:
    """Consumes the JetStream broker's jobs until `finish` is set, holding at most `in_hand` at once."""

    def __init__(
        self,
        runtime: Runtime,
        broker: JetStreamBroker,
        groups: ClassifyGroups,
        receiver: Receiver,
        *,
        in_hand: int,
    ) -> None:
        self.runtime = runtime
        self.broker = broker
        self.groups = groups
        self.receiver = receiver
        self._slots = asyncio.Semaphore(in_hand)
        self._running: set[asyncio.Task[None]] = set()

    async def run(self, finish: asyncio.Event, grace_s: float) -> None:
        """Pull and start jobs until `finish`; then give the running ones `grace_s` to end."""
        pulling = asyncio.create_task(self._pull(), name="job-pull")
        stop = asyncio.create_task(finish.wait(), name="job-pull-stop")
        try:
            await asyncio.wait({pulling, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pulling, stop):
                task.cancel()
            await asyncio.gather(pulling, stop, return_exceptions=True)
            if self._running:
                _, late = await asyncio.wait(set(self._running), timeout=grace_s)
                for task in late:  # not acknowledged: delivered again after ack_wait
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        if pulling.done() and not pulling.cancelled() and pulling.exception() is not None:
            raise pulling.exception()  # type: ignore[misc]

    async def _pull(self) -> None:
        async for messages in self.broker.pull_batches():
            for message in messages:
                await self._slots.acquire()  # returns at once while a slot is free
                self._start(message)

    def _start(self, message: Msg) -> None:
        job = classify_job(message.data)
        if job is not None:
            work = self._classify(message, *job)
        else:
            work = self.receiver.callback(AckableMessage(data=message.data, ack=message.ack))
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("job failed outside its handler", exc_info=task.exception())

    async def _classify(self, message: Msg, message_id: int, labels: dict[str, Any]) -> None:
        with telemetry.continued(labels):  # the trace of the request that sent the job
            try:
                await jobs.classify_message(self.runtime, message_id, self.groups)
            except Exception:  # its claim stays: the sweep sends it again once the claim is stale
                log.warning("classification of message %s failed", message_id, exc_info=True)
        await message.ack()  # after the job ran, whatever came of it: taskiq's WHEN_EXECUTED


def consumer_for(
    runtime: Runtime, groups: ClassifyGroups, make_receiver: Callable[[], Receiver], in_hand: int
) -> JobConsumer | None:
    """The lean consumer when the runtime's broker is JetStream; None for the others (taskiq's own)."""
    broker = runtime.broker
    if not isinstance(broker, JetStreamBroker):
        return None
    return JobConsumer(runtime, broker, groups, make_receiver(), in_hand=in_hand)
