"""A tiny HTTP server for the probes of processes that serve no HTTP themselves (worker, bot).

`GET /healthz` is liveness (the event loop answers), `GET /readyz` is readiness: the given async
callable returns named checks, and any check that reads "down..." makes the answer 503 ("degraded",
e.g. a classifier on its fallback, still serves). It listens
on `TASKTRACKER_HEALTH_PORT` (default 8081; 0 turns it off).

`python -m tasktracker.probes` is the container image's HEALTHCHECK: it finds the role the container
runs (the arguments of PID 1) and asks the endpoint that role serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasktracker.runtime import Runtime

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
MAX_REQUEST_LINE = 4096
READ_TIMEOUT_S = 5.0
CHECK_TIMEOUT_S = 4.0


class ProbeServer:
    """Serves /healthz and /readyz until stopped. Use as `async with ProbeServer(port, ready):`."""

    def __init__(self, port: int, ready: ReadinessCheck, host: str = "0.0.0.0") -> None:
        self.host = host
        self.port = port
        self.ready = ready
        self._server: asyncio.Server | None = None

    @property
    def bound_port(self) -> int:
        """The port listened on (differs from `port` when that was 0, as in tests)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        log.info("probes listening on %s:%d (/healthz, /readyz)", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ProbeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await self._answer(reader)
            payload = json.dumps(body).encode()
            head = (
                f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the prober went away or sent garbage; nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[str, dict[str, object]]:
        line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT_S)
        if len(line) > MAX_REQUEST_LINE:
            return "414 URI Too Long", {"detail": "request line too long"}
        while (await asyncio.wait_for(reader.readline(), READ_TIMEOUT_S)) not in (b"\r\n", b"\n", b""):
            pass  # headers: not needed
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return "400 Bad Request", {"detail": "not an HTTP request"}
        method, target = parts[0], parts[1].split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", {"detail": "only GET"}
        if target == LIVENESS_PATH:
            return "200 OK", {"status": "ok"}
        if target == READINESS_PATH:
            return await self._readiness()
        return "404 Not Found", {"detail": f"no probe at {target}; use /healthz or /readyz"}

    async def _readiness(self) -> tuple[str, dict[str, object]]:
        try:
            checks = await asyncio.wait_for(self.ready(), CHECK_TIMEOUT_S)
        except Exception as exc:
            checks = {"readiness": f"down: {type(exc).__name__}"}
        down = [name for name, state in checks.items() if state.startswith("down")]  # "degraded" still serves
        body: dict[str, object] = {"status": "unavailable" if down else "ok", "down": down, "checks": checks}
        return ("503 Service Unavailable" if down else "200 OK"), body


async def runtime_checks(runtime: Runtime) -> dict[str, str]:
    """Readiness of a worker or bot process: the same checks as `/api/health/ready` (`health.readiness`:
    database, broker, event bus, classifier). Imported when called: the HEALTHCHECK needs none of it."""
    from tasktracker.health import readiness

    return (await readiness(runtime)).checks


# The image's HEALTHCHECK ------------------------------------------------------------------------------

ROLES_ON_API_PORT = {"api", "run"}
ROLES_ON_HEALTH_PORT = {"worker", "bot"}


def container_role(cmdline: Sequence[str]) -> str | None:
    """The `tasktracker` subcommand in a process's arguments (`tasktracker worker` -> "worker")."""
    words = [word for arg in cmdline for word in arg.split()]  # `watchfiles ... "tasktracker worker"`
    for index, word in enumerate(words):
        if Path(word).name == "tasktracker":
            rest = [part for part in words[index + 1 :] if not part.startswith("-")]
            return rest[0] if rest else None
    return None


def health_url(role: str | None, port: int, health_port: int) -> str | None:
    """Where the role answers its liveness probe; None for roles that serve nothing (migrate, ...)."""
    if role in ROLES_ON_API_PORT:
        return f"http://127.0.0.1:{port}/api/health"
    if role in ROLES_ON_HEALTH_PORT and health_port:
        return f"http://127.0.0.1:{health_port}{LIVENESS_PATH}"
    return None


def _pid1_cmdline() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def healthcheck(cmdline: Sequence[str] | None = None) -> int:
    """Exit status for the image's HEALTHCHECK: 0 when the role's endpoint answers 200."""
    from tasktracker.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    role = container_role(_pid1_cmdline() if cmdline is None else cmdline)
    url = health_url(role, settings.port, settings.health_port)
    if url is None:
        return 0  # a one-shot or probe-less role: running is healthy
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as exc:
        print(f"{role}: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(healthcheck(sys.argv[1:] or None))
