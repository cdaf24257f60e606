"""`/ws`: a `hello`, then every event of this deployment, with heartbeats. Slow clients are cut off."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from tasktracker import __version__
from tasktracker.events import schemas as events
from tasktracker.events.hub import SLOW_CLIENT_CLOSE_CODE, Hub

router = APIRouter()
log = logging.getLogger(__name__)


@router.websocket("/ws")
async def events_socket(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    heartbeat = websocket.app.state.runtime.settings.ws_heartbeat_s
    await websocket.accept()
    client = hub.register(websocket)
    reader = asyncio.create_task(_drain_incoming(websocket))
    try:
        await websocket.send_text(events.hello(__version__).model_dump_json())
        while not reader.done():
            if client.dropped:
                await websocket.close(code=SLOW_CLIENT_CLOSE_CODE, reason="too slow; reconnect and refetch")
                return
            # Wait for an event, a heartbeat's silence, or the client going away (noticed at once).
            getter = asyncio.create_task(client.queue.get())
            done, _ = await asyncio.wait(
                {getter, reader}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                if reader.done():
                    return
                payload: str | None = events.heartbeat().model_dump_json()
            else:
                payload = getter.result()
            if payload is None:  # server shutting down
                await websocket.close(code=1001)
                return
            await websocket.send_text(payload)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unregister(client)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain_incoming(websocket: WebSocket) -> None:
    """Clients send nothing we need, but reading notices a disconnect promptly."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
