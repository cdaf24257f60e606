"""WebSocket fan-out for one API process: a bounded queue per client; slow clients are disconnected.

Broadcasting never awaits a client, so a client that stops reading cannot stall ingestion. Every client
gets the same feed, so the silence that calls for a heartbeat is the feed's: one timer here puts a
heartbeat in every queue once nothing was broadcast for `heartbeat_s`, instead of a timer per client
per event (docs/benchmarks.md, Fan-out).

The hub's subscription is the process's only one to the bus: `Listener`s in the process (the API's
credential cache) are fed from it, so each event crosses from NATS and is parsed once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Protocol

from fastapi import WebSocket

from tasktracker.events.bus import EventBus
from tasktracker.events.schemas import INTERNAL_EVENTS, Event, heartbeat
from tasktracker.metrics import WEBSOCKET_CLIENTS

log = logging.getLogger(__name__)

SLOW_CLIENT_CLOSE_CODE = 4008  # app-defined: "you fell behind, reconnect and refetch"


# Put in a client's queue to wake its task without a frame to send (its reader ended, it was dropped).
WAKE = ""


class Client:
    def __init__(self, websocket: WebSocket, queue_size: int) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(queue_size)
        self.dropped = False

    def wake(self) -> None:
        """Have the client's task look at its state now (a full queue wakes it anyway)."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(WAKE)


class Listener(Protocol):
    """Something in the process that follows the bus through the hub."""

    def on_event(self, event: Event) -> None: ...

    def on_gap(self) -> None:
        """The subscription failed and is being renewed: events may have been missed meanwhile."""


class Hub:
    def __init__(self, queue_size: int = 256, heartbeat_s: float = 20.0) -> None:
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self.clients: set[Client] = set()
        self._pump: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._last_sent = 0.0  # loop time of the last broadcast
        self.listeners: list[Listener] = []

    def start(self, bus: EventBus, listeners: Iterable[Listener] = ()) -> None:
        self.listeners = list(listeners)
        self._last_sent = asyncio.get_running_loop().time()
        self._pump = asyncio.create_task(self._run(bus), name="ws-hub-pump")
        self._beat = asyncio.create_task(self._heartbeats(), name="ws-hub-heartbeat")

    async def stop(self) -> None:
        for task in (self._pump, self._beat):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for client in list(self.clients):
            client.queue.put_nowait(None) if not client.queue.full() else None

    async def _run(self, bus: EventBus) -> None:
        while True:
            try:
                async for event in bus.subscribe():
                    for listener in self.listeners:
                        try:
                            listener.on_event(event)
                        except Exception:
                            log.exception("an event listener failed on %s", event.type)
                    self.broadcast(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event subscription failed; resubscribing")
                for listener in self.listeners:
                    listener.on_gap()
                await asyncio.sleep(1)

    async def _heartbeats(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + self.heartbeat_s - loop.time()))
            if loop.time() - self._last_sent >= self.heartbeat_s:
                self.broadcast(heartbeat())

    def broadcast(self, event: Event) -> None:
        if event.type in INTERNAL_EVENTS:
            return
        self._last_sent = asyncio.get_running_loop().time()
        if not self.clients:
            return
        payload = event.model_dump_json()
        for client in list(self.clients):
            if client.dropped:
                continue
            try:
                client.queue.put_nowait(payload)
            except asyncio.QueueFull:
                client.dropped = True
                log.warning("websocket client fell behind; disconnecting it")

    def register(self, websocket: WebSocket) -> Client:
        client = Client(websocket, self.queue_size)
        self.clients.add(client)
        WEBSOCKET_CLIENTS.inc()
        return client

    def unregister(self, client: Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
            WEBSOCKET_CLIENTS.dec()
