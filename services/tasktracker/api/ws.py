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
from tasktracker.events.hub import SLOW_CLIENT_CLOSE_CODE, WAKE, Hub

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
    reader.add_done_callback(lambda _: client.wake())  # a client gone is noticed at once
    timeout = settings.ws_send_timeout_s
    # One task per client, woken only by its queue (events and the hub's heartbeats). Sends are not
    # wrapped in a timeout: while the socket's buffer has room a send does not wait, and a client that
    # leaves it full for `ws_send_timeout_s` is cut off by the server (api/server.py), which ends the
    # send. No task, `wait` or timer is made per event (docs/benchmarks.md, Fan-out).
    try:
        await websocket.send_text(events.hello(__version__).model_dump_json())
        while True:
            payload = await client.queue.get()
            if reader.done():
                if reader.result() == UNSUPPORTED_DATA:
                    async with asyncio.timeout(timeout):
                        await websocket.close(
                            code=UNSUPPORTED_DATA, reason="this feed takes no binary frames"
                        )
                return
            if client.dropped:
                async with asyncio.timeout(timeout):
                    await websocket.close(
                        code=SLOW_CLIENT_CLOSE_CODE, reason="too slow; reconnect and refetch"
                    )
                return
            if payload is None:  # server shutting down
                await websocket.close(code=1001)
                return
            if payload != WAKE:
                await websocket.send_text(payload)
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
