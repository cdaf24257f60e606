"""`/ws`: a `hello`, then every event of this deployment, with heartbeats. Slow clients are cut off.

Only pages of this origin (or of `TASKTRACKER_WS_ORIGINS`) may connect: the feed carries message
contents, and browsers let any page open a WebSocket anywhere. Clients without an `Origin` header
are not browsers and are let in.

The caller must be signed in (any role): the session cookie, a one-time `?ticket=` from
`POST /api/auth/ws-ticket`, or a Bearer token; anyone else is accepted and closed at once with 4401
(a browser sees close codes only after the handshake, so it knows to sign in rather than retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from tasktracker import __version__
from tasktracker.api.access import WebSocketPrincipal
from tasktracker.config import Settings
from tasktracker.events import schemas as events
from tasktracker.events.hub import SLOW_CLIENT_CLOSE_CODE, Hub

router = APIRouter()
log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003
NOT_AUTHENTICATED = 4401  # app-defined, after HTTP 401: sign in (or get a ticket) and reconnect


def origin_allowed(settings: Settings, origin: str | None, host: str) -> bool:
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    allowed = settings.ws_origin_list
    if "*" in allowed or origin in allowed:
        return True
    netloc = urlsplit(origin).netloc
    # Same origin: the page was served by this host (port included, as browsers compare origins).
    return bool(netloc) and netloc == host.strip().lower()


@router.websocket("/ws")
async def events_socket(websocket: WebSocket, principal: WebSocketPrincipal) -> None:
    hub: Hub = websocket.app.state.hub
    settings: Settings = websocket.app.state.runtime.settings
    if not origin_allowed(settings, websocket.headers.get("origin"), websocket.headers.get("host", "")):
        log.warning("websocket from origin %r refused", websocket.headers.get("origin"))
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the handshake answers 403
        return
    await websocket.accept()
    if principal is None:
        await websocket.close(code=NOT_AUTHENTICATED, reason="sign in first")
        return
    client = hub.register(websocket)
    reader = asyncio.create_task(_drain_incoming(websocket))
    timeout = settings.ws_send_timeout_s

    async def send(payload: str) -> None:
        await asyncio.wait_for(websocket.send_text(payload), timeout)

    try:
        await send(events.hello(__version__).model_dump_json())
        while True:
            if reader.done():
                if reader.result() == UNSUPPORTED_DATA:
                    await asyncio.wait_for(
                        websocket.close(code=UNSUPPORTED_DATA, reason="this feed takes no binary frames"),
                        timeout,
                    )
                return
            if client.dropped:
                await asyncio.wait_for(
                    websocket.close(code=SLOW_CLIENT_CLOSE_CODE, reason="too slow; reconnect and refetch"),
                    timeout,
                )
                return
            # Wait for an event, a heartbeat's silence, or the client going away (noticed at once).
            getter = asyncio.create_task(client.queue.get())
            done, _ = await asyncio.wait(
                {getter, reader}, timeout=settings.ws_heartbeat_s, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                if reader.done():
                    continue
                payload: str | None = events.heartbeat().model_dump_json()
            else:
                payload = getter.result()
            if payload is None:  # server shutting down
                await websocket.close(code=1001)
                return
            await send(payload)
    except (WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
        pass  # gone, or not reading: the server cuts a stalled connection (api/server.py)
    finally:
        hub.unregister(client)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain_incoming(websocket: WebSocket) -> int | None:
    """Clients send nothing we need, but reading notices a disconnect promptly. Returns 1003 on a
    binary frame (the feed speaks text), None when the client went away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            if message.get("bytes") is not None:
                return UNSUPPORTED_DATA
    return None
