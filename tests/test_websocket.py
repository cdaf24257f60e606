"""`/ws` at its edges: foreign origins, binary frames, a client that stops reading; and the Host and
X-Forwarded-* checks in front of every request (issue 8: D3, D12, D13, D15)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, eventually, get_json, serve


@contextlib.asynccontextmanager
async def _app(settings):
    app = create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


def _ws_url(client: httpx.AsyncClient) -> str:
    return str(client.base_url).replace("http://", "ws://").rstrip("/") + "/ws"


async def _handshake(
    client: httpx.AsyncClient, *, host: str | None = None, sock: socket.socket | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A WebSocket handshake by hand (any Host header; a socket set up by the caller)."""
    address, port = str(client.base_url).removeprefix("http://").rstrip("/").split(":")
    if sock is None:
        reader, writer = await asyncio.open_connection(address, int(port))
    else:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (address, int(port)))
        reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws HTTP/1.1\r\nHost: {host or f'{address}:{port}'}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return reader, writer, await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


async def test_only_pages_of_this_origin_or_configured_ones_may_open_the_feed(make_settings) -> None:
    async with _app(make_settings(ws_origins="https://board.example.com")) as client:
        url = _ws_url(client)
        own = "http://" + url.removeprefix("ws://").removesuffix("/ws")
        for origin in (None, own, "https://board.example.com"):
            async with websockets.connect(url, origin=origin) as ws:  # type: ignore[arg-type]
                assert '"hello"' in await asyncio.wait_for(ws.recv(), 5)
        for origin in ("https://evil.example.net", own.replace("127.0.0.1", "localhost"), "null"):
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(url, origin=origin):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 403, origin


async def test_a_binary_frame_is_answered_with_close_1003(make_settings) -> None:
    async with _app(make_settings()) as client, websockets.connect(_ws_url(client)) as ws:
        await ws.recv()  # hello
        await ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


async def test_a_client_that_stops_reading_is_cut_off_promptly(make_settings) -> None:
    """A raw client with a tiny receive buffer completes the handshake, then reads nothing."""
    async with _app(make_settings(ws_send_timeout_s=2, ws_queue_size=16)) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader, writer, status = await _handshake(client, sock=sock)
        assert b" 101 " in status
        await eventually(lambda: len(hub.clients) == 1)
        started = time.monotonic()
        big = "x" * 19_000
        for i in range(60):  # ~1.2 MB of task.created events, far past every buffer
            created = await client.post("/api/tasks", json={"title": f"t{i}", "description": big})
            assert created.status_code == 201
        await eventually(lambda: len(hub.clients) == 0, timeout=20)
        # The server dropped the connection itself: reading now ends (EOF or reset) instead of waiting.
        with contextlib.suppress(ConnectionError):
            while await asyncio.wait_for(reader.read(65536), 10):
                pass
        assert time.monotonic() - started < 25
        writer.close()


async def test_requests_for_foreign_host_names_are_refused(make_settings) -> None:
    async with _app(make_settings(trusted_hosts="tracker.example.com")) as client:
        for host in ("evil.example.net", "tracker.example.com.evil.net", ""):
            response = await client.get("/api/tasks", headers={"host": host})
            assert response.status_code == 400 and response.json()["code"] == "untrusted_host", host
        for host in ("tracker.example.com", "TRACKER.example.com:8443", "localhost:8000", "127.0.0.1"):
            assert (await client.get("/api/tasks", headers={"host": host})).status_code == 200, host
        assert (await client.get("/api/health", headers={"host": "10.1.2.3:8000"})).status_code == 200
        _, writer, status = await _handshake(client, host="evil.example.net")
        assert b" 403 " in status
        writer.close()


async def test_forwarded_headers_count_only_from_trusted_proxies(make_settings) -> None:
    forged = {
        "x-forwarded-proto": "https",
        "x-forwarded-host": "evil.example.net",
        "x-forwarded-prefix": "/x",
    }
    async with _app(make_settings(forwarded_allow_ips="10.0.0.0/8")) as client:
        ws_url = (await get_json(client, "/api/config", headers=forged))["ws_url"]
        assert ws_url == _ws_url(client)  # built from Host: the peer (127.0.0.1) is no trusted proxy
    async with _app(make_settings()) as client:  # loopback is trusted by default
        ws_url = (await get_json(client, "/api/config", headers=forged))["ws_url"]
        assert ws_url == "wss://evil.example.net/x/ws"
