"""WebSocket fan-out for one API process: a bounded queue per client; slow clients are disconnected.

Broadcasting never awaits a client, so a client that stops reading cannot stall ingestion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import WebSocket

from tasktracker.events.bus import EventBus
from tasktracker.events.schemas import INTERNAL_EVENTS, Event
from tasktracker.metrics import WEBSOCKET_CLIENTS

log = logging.getLogger(__name__)

SLOW_CLIENT_CLOSE_CODE = 4008  # app-defined: "you fell behind, reconnect and refetch"


class Client:
    def __init__(self, websocket: WebSocket, queue_size: int) -> None:
        self.websocket = websocket
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(queue_size)
        self.dropped = False


class Hub:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self.clients: set[Client] = set()
        self._pump: asyncio.Task[None] | None = None

    def start(self, bus: EventBus) -> None:
        self._pump = asyncio.create_task(self._run(bus), name="ws-hub-pump")

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        for client in list(self.clients):
            client.queue.put_nowait(None) if not client.queue.full() else None

    async def _run(self, bus: EventBus) -> None:
        while True:
            try:
                async for event in bus.subscribe():
                    self.broadcast(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event subscription failed; resubscribing")
                await asyncio.sleep(1)

    def broadcast(self, event: Event) -> None:
        if event.type in INTERNAL_EVENTS:
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
