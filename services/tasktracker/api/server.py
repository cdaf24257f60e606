"""How uvicorn serves the app: one set of options for `tasktracker run/api` and the tests.

The WebSocket protocol is uvicorn's own with a bounded send side: a socket send buffer of
`SEND_BUFFER_BYTES`, and a peer that leaves it full (stops reading) for `ws_send_timeout_s` is cut
off, so a stalled dashboard can neither pin server memory nor hold its connection open.

Frames go out uncompressed (no `permessage-deflate`): the feed's events are a few hundred bytes of
JSON, and compressing each one once per client cost a sixth of the API's CPU in a fan-out to 1,000
clients (py-spy, docs/benchmarks.md, Fan-out) plus a compressor's state per connection.
"""

from __future__ import annotations

import logging
import socket
from asyncio import BaseTransport, TimerHandle
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from tasktracker.config import Settings

log = logging.getLogger(__name__)

SEND_BUFFER_BYTES = 128 * 1024  # the kernel's socket buffer (Linux doubles it for bookkeeping)
WRITE_BUFFER_BYTES = 64 * 1024  # asyncio's buffer above the socket: writes wait past this


class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
    stall_timeout_s: float = 10.0
    _stall: TimerHandle | None = None

    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self.transport.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            self._stall = self.loop.call_later(self.stall_timeout_s, self._cut_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        super().connection_lost(exc)

    def _cut_stalled(self) -> None:
        self._stall = None
        log.warning(
            "websocket client read nothing for %.0f s with its buffer full; cut off", self.stall_timeout_s
        )
        self.transport.abort()  # close() would wait for the buffer to drain, which never happens


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    protocol = type(
        "BoundedWebSocketProtocol",
        (BoundedWebSocketProtocol,),
        {"stall_timeout_s": settings.ws_send_timeout_s},
    )
    return {
        "ws": protocol,
        "ws_per_message_deflate": False,  # see the module's docstring
        # X-Forwarded-* are applied by the app itself, from trusted proxies only (api/hosts.py).
        "proxy_headers": False,
    }
