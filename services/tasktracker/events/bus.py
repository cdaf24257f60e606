"""The event bus between whoever changes data (API, worker) and every API replica's WebSocket hub.

Embedded mode uses an in-process bus. Production uses a NATS subject with no queue group, so every
API replica receives every event and pushes it to its own clients. Events are a live feed, not a
record: a client that was away refetches (the dashboard does so on reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from tasktracker.events.schemas import Event

log = logging.getLogger(__name__)


class EventBus(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def publish(self, event: Event) -> None: ...
    def subscribe(self) -> AsyncIterator[Event]: ...
    @property
    def connected(self) -> bool: ...


class InProcessBus:
    """Fan-out inside one process; each subscriber has a bounded queue and drops when it falls behind."""

    def __init__(self, queue_size: int = 1024) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._queue_size = queue_size

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._subscribers.clear()

    @property
    def connected(self) -> bool:
        return True

    async def publish(self, event: Event) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event subscriber is behind; dropping %s", event.type)

    async def subscribe(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)


class NatsBus:
    """Events over a core NATS subject: every subscriber (API replica) gets every event.

    Connecting happens in the background with retries, so a process starts (and reports itself
    not ready) while NATS is down, and catches up when it comes back.

    The process's own events reach its own subscribers directly, as the objects published: the
    connection is made with `no_echo`, so NATS does not send them back to be read and parsed again
    (per ingested message, a socket read, a wake-up and a parse of the API's CPU; 500 of them for a
    batch of 500). Other processes' events come over NATS as before.
    """

    def __init__(self, url: str, subject: str, queue_size: int = 65536) -> None:
        self.url = url
        self.subject = subject
        self._client: NatsClient | None = None
        self._ready = asyncio.Event()
        self._connector: asyncio.Task[None] | None = None
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[Event]] = set()

    async def start(self) -> None:
        self._connector = asyncio.create_task(self._connect(), name="events-connect")

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            try:
                self._client = await nats.connect(
                    self.url,
                    name="tasktracker-events",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    error_cb=quiet_nats_error,
                    no_echo=True,  # this process's events reach its subscribers directly (`publish`)
                )
                self._ready.set()
                return
            except Exception as exc:
                log.warning("event bus: NATS not reachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15.0)

    async def stop(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._client is not None and not self._client.is_closed:
            with contextlib.suppress(Exception):
                await self._client.drain()
        self._client = None
        self._ready.clear()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    @property
    def client(self) -> NatsClient | None:
        """The connection, while connected: the API's job sender publishes on it too (`JobSender`)."""
        return self._client if self.connected else None

    async def publish(self, event: Event) -> None:
        if self._client is None:
            raise ConnectionError("event bus is not connected")
        await self._client.publish(self.subject, event.model_dump_json().encode())
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        for queue in self._subscribers:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event subscriber is behind; dropping %s", event.type)

    async def subscribe(self) -> AsyncIterator[Event]:
        await self._ready.wait()
        assert self._client is not None
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)

        async def arrived(msg: Msg) -> None:  # another process's event
            try:
                event = Event.model_validate_json(msg.data)
            except ValueError:
                log.warning("ignoring malformed event on %s", self.subject)
                return
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event subscriber is behind; dropping %s", event.type)

        sub = await self._client.subscribe(self.subject, cb=arrived, pending_msgs_limit=self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
            if self._client is not None and not self._client.is_closed:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()


async def quiet_nats_error(exc: Exception) -> None:
    """nats-py logs every failed (re)connect with a traceback; one line is enough."""
    log.warning("nats: %s: %s", type(exc).__name__, exc)
