"""The TaskIQ broker: in-process for the embedded mode, NATS JetStream in production.

JetStream settings follow what must not be lost: a work-queue stream (a message leaves it once a
worker acknowledges it), a named durable pull consumer (KEDA measures its lag), explicit acks sent
after the job's transaction commits, an `ack_wait` above the slowest LLM call, and bounded redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq.kicker import AsyncKicker
from taskiq.labels import LabelType
from taskiq_nats import PullBasedJetStreamBroker

from tasktracker import telemetry
from tasktracker.config import Settings
from tasktracker.events.bus import quiet_nats_error
from tasktracker.jetstream import ensure_consumer, ensure_stream

CLASSIFY_MESSAGE = "messages.classify"
PUSH_EXPORT = "exports.push"
STATUS_HEADER = "Status"  # how nats-py hands over a JetStream status reply (nats.js.api.Header.STATUS)
HEARTBEAT = "100"
GROUPS_AT_ONCE = 2  # a worker's classification groups that may run at once (`worker/batch.py`)


def jobs_in_hand(settings: Settings) -> int:
    """The jobs a worker process holds at once: enough to fill every group that runs at once, and one
    more group's worth waiting. With only one group's worth in hand, a group that finished left the
    next to start with the few jobs that had come in meanwhile (groups of ~14 under a backlog, where
    64 fit, and a statement per message where a group costs ~14 in all)."""
    return settings.worker_concurrency * (GROUPS_AT_ONCE + 1)


class JetStreamBroker(PullBasedJetStreamBroker):
    """taskiq-nats' pull broker, with the stream and consumer brought in step with the settings (it
    only reuses an existing stream and never compares an existing consumer): see `jetstream`, with
    jobs handed over as they arrive (`listen`), and many jobs published at once (`publish_jobs`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acks: dict[str, asyncio.Future[None]] = {}  # publish_jobs' jobs awaiting JetStream's answer
        self._acks_prefixes: dict[NatsClient, str] = {}  # by connection: publish_jobs' reply subjects
        self._token_prefix, self._tokens = secrets.token_hex(8), itertools.count()

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        """taskiq's view of `pull_batches`: each job on its own."""
        async for jobs in self.pull_batches():
            for message in jobs:
                yield AckableMessage(data=message.data, ack=message.ack)

    async def pull_batches(self) -> AsyncGenerator[list[Msg], None]:
        """The jobs as they arrive, each time all of those that came together, in pulls of up to
        `pull_consume_batch`.

        taskiq-nats loops on nats-py's `fetch(batch, timeout)`, which, once the stream is empty, waits
        until the whole batch has arrived or the timeout (5 s) is over before it returns any job: at a
        low rate a lone message waited seconds. Here one pull request of up to `batch` jobs (expiring
        after the timeout) is kept open, and the jobs are handed over the moment they come; the next
        request goes out when the batch is used up or the request expired (JetStream's 408), or when
        nothing came within its lifetime (a request lost in a reconnect). At most `batch` jobs are
        requested and not yet handed over, so the consumer's own limit still bounds what this process
        holds. The replies are gathered by a subscription callback (no task per job, as
        `Subscription.next_msg` makes), so a busy worker takes what came meanwhile in one piece.
        """
        batch, timeout = self.pull_consume_batch, self.pull_consume_timeout or 5.0
        stream = self.stream_config.name or self.stream_name
        pull_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{self.durable}"
        request = json.dumps({"batch": batch, "expires": int(timeout * 1e9)}).encode()
        arrived: list[Msg] = []
        came = asyncio.Event()

        async def gather(message: Msg) -> None:
            arrived.append(message)
            came.set()

        subscription = await self.client.subscribe(self.client.new_inbox(), cb=gather)
        try:
            while True:
                await self.client.publish(pull_subject, request, reply=subscription.subject)
                remaining, deadline = batch, time.monotonic() + timeout + 1.0
                while remaining > 0:
                    if not arrived:
                        came.clear()
                        try:
                            await asyncio.wait_for(came.wait(), max(deadline - time.monotonic(), 0.01))
                        except TimeoutError:
                            break
                    replies, arrived[:] = arrived[:], []
                    jobs, status = [], None
                    for message in replies:
                        code = message.headers.get(STATUS_HEADER) if message.headers else None
                        if code is None:
                            jobs.append(message)
                        elif code != HEARTBEAT:
                            status = code  # 408 expired, 404 nothing to give, 409 consumer changed
                    remaining -= len(jobs)
                    if jobs:
                        yield jobs
                    if status is not None:  # the request is over: ask again
                        if status != "408":  # not the normal end of a request: do not spin on it
                            await asyncio.sleep(0.1)
                        break
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def publish_jobs(
        self,
        task_name: str,
        jobs: Sequence[tuple[int, dict[str, str]]],
        within_s: float,
        client: NatsClient | None = None,
    ) -> list[int]:
        """Publish one job of `task_name` per (argument, labels), all in flight at once, and wait up to
        `within_s` seconds for JetStream to acknowledge them; returns the arguments of the jobs not stored
        (refused, or no answer in time).

        What `enqueue` sends, job by job, as taskiq's JSON (`TaskiqMessage`, the labels also as headers,
        as taskiq-nats' `kick` does), without taskiq's kicker and nats-py's request for each: the kicker
        builds and validates a pydantic model, and `JetStreamContext.publish` makes a request whose
        `wait_for` costs a task and a timer; ~90 us of CPU a job in all, measured, where a publish with a
        reply subject of one shared subscription and a callback per acknowledgement costs ~15.

        `client`: another NATS connection to publish on (and to be answered on) than the broker's own:
        the API's event bus's, so a job and the event of its message leave in one write."""
        if not jobs:
            return []
        client = client or self.client
        inbox = await self._acks_inbox(client)
        loop = asyncio.get_running_loop()
        waiting: dict[str, tuple[asyncio.Future[None], int]] = {}
        for argument, labels in jobs:
            # taskiq's task id, unique across processes as a uuid4 is, without its system call per job
            token = f"{self._token_prefix}{next(self._tokens):016x}"
            body = {
                "task_id": token,
                "task_name": task_name,
                "labels": labels,
                "labels_types": dict.fromkeys(labels, LabelType.STR.value),
                "args": [argument],
                "kwargs": {},
            }
            future = loop.create_future()
            waiting[token] = (future, argument)
            self._acks[token] = future
            await client.publish(
                self.subject, json.dumps(body).encode(), reply=f"{inbox}.{token}", headers=labels or None
            )
        try:
            done, _ = await asyncio.wait([future for future, _ in waiting.values()], timeout=within_s)
        finally:
            for token in waiting:
                self._acks.pop(token, None)
        return [
            argument
            for future, argument in waiting.values()
            if future not in done or future.exception() is not None
        ]

    async def _acks_inbox(self, client: NatsClient) -> str:
        """The prefix of the reply subjects of `publish_jobs` on `client`: one subscription there for
        every acknowledgement."""
        prefix = self._acks_prefixes.get(client)
        if prefix is None:
            prefix = client.new_inbox()

            async def acknowledged(message: Msg) -> None:
                future = self._acks.get(message.subject.rsplit(".", 1)[-1])
                if future is None or future.done():
                    return
                # A PubAck carries the stream and sequence; an error or a status (503: no stream) does not.
                if b'"seq"' in message.data and b'"error"' not in message.data:
                    future.set_result(None)
                else:
                    future.set_exception(RuntimeError(f"job not stored: {message.data[:200]!r}"))

            await client.subscribe(f"{prefix}.*", cb=acknowledged)
            self._acks_prefixes[client] = prefix
        return prefix

    async def _add_or_reuse_stream(self) -> None:
        await ensure_stream(self.js, self.stream_config)

    async def _startup_consumer(self) -> None:
        assert self.consumer_config is not None
        await ensure_consumer(self.js, self.stream_config.name or self.stream_name, self.consumer_config)
        self.consumer = await self.js.pull_subscribe(
            subject=self.subject, durable=self.durable, config=self.consumer_config
        )


def create_broker(settings: Settings) -> AsyncBroker:
    if settings.embedded_broker:
        return InMemoryBroker(max_async_tasks=settings.worker_concurrency)
    return JetStreamBroker(
        servers=settings.nats_url,
        subject=settings.nats_subject,
        stream_name=settings.nats_stream,
        durable=settings.nats_durable,
        stream_config=StreamConfig(
            name=settings.nats_stream,
            subjects=[settings.nats_subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            max_age=settings.job_max_age_s,
        ),
        consumer_config=ConsumerConfig(
            durable_name=settings.nats_durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=settings.job_ack_wait_s,
            max_deliver=settings.job_max_deliver,
            # The jobs in hand and as many requested but not yet handed over (`listen`).
            max_ack_pending=max(2 * jobs_in_hand(settings), 64),
            filter_subject=settings.nats_subject,
        ),
        # Ask for as many jobs per pull request as the worker holds: one round trip for all of them
        # (they wait acknowledged-pending, far inside ack_wait). A request of one group's worth was
        # answered only once the loop was free of the group running, so groups starved.
        pull_consume_batch=jobs_in_hand(settings),
        pull_consume_timeout=5.0,
        name="tasktracker",
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        connect_timeout=2,
        error_cb=quiet_nats_error,
    )


def broker_connected(broker: AsyncBroker) -> bool:
    if isinstance(broker, PullBasedJetStreamBroker):
        return bool(broker.client.is_connected)
    return True


async def enqueue(broker: AsyncBroker, task_name: str, *args: Any) -> None:
    """Send a job by name: the sender needs no import of the job's code.

    The current trace context rides in the job's labels (`traceparent`), so the job continues the trace.
    """
    await AsyncKicker(task_name, broker, {}).with_labels(**telemetry.trace_headers()).kiq(*args)
