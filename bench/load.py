"""The load generator, run as its own process: `python -m bench.load ...` prints one JSON object.

HTTP/1.1 with keep-alive on raw asyncio streams (uvloop when installed), one connection per concurrent
client: a general-purpose client (httpx) spends more CPU per request than the server under test, and on
a 2-core machine that would measure the client. Each request has a body of its own (a distinct
`external_id`), so every POST stores a new row.

Modes:
  messages   POST /api/messages, one message per request
  batch      POST /api/messages/batch, `--batch` messages per request
  insert     the baseline: single-row INSERTs (one transaction each) straight into PostgreSQL with
             asyncpg, one connection per concurrent client, the same columns as the API writes
  paced      POST /api/messages at a fixed rate (`--rate`) for `--duration` s, from `--concurrency`
             connections; prints the send time of each message (for the end-to-end suite)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from bench.harness import percentile, texts


class Connection:
    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{self.extra}\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


def _bodies(n: int, tag: str, batch: int, channel: str) -> list[bytes]:
    contents = texts(n * batch)
    if batch == 1:
        return [
            json.dumps({"content": c, "external_id": f"{tag}-{i}", "channel": channel}).encode()
            for i, c in enumerate(contents)
        ]
    return [
        json.dumps(
            {
                "messages": [
                    {"content": contents[j], "external_id": f"{tag}-{j}", "channel": channel}
                    for j in range(i * batch, (i + 1) * batch)
                ]
            }
        ).encode()
        for i in range(n)
    ]


async def http_load(args: argparse.Namespace) -> dict[str, Any]:
    urls = args.url.split(",")
    tag = args.tag or uuid.uuid4().hex[:8]
    path = "/api/messages/batch" if args.mode == "batch" else "/api/messages"
    bodies = _bodies(args.requests, tag, args.batch if args.mode == "batch" else 1, args.channel)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    conns = []
    for i in range(args.concurrency):
        parts = urlsplit(urls[i % len(urls)])
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80, headers)
        await conn.open()
        conns.append(conn)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0
    errors: list[str] = []

    async def client(conn: Connection) -> None:
        nonlocal next_index
        while next_index < len(bodies):
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            status, payload = await conn.post(path, body)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 400 and len(errors) < 5:
                errors.append(f"{status} {payload[:300]!r}")

    # a short warm-up on every connection (imports, caches, pool connections), not counted
    warm = _bodies(args.concurrency, f"{tag}-warm", 1, args.channel)
    await asyncio.gather(*(c.post("/api/messages", b) for c, b in zip(conns, warm, strict=True)))
    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    per_request = args.batch if args.mode == "batch" else 1
    return _summary(latencies, elapsed, statuses, errors, len(bodies) * per_request)


async def paced_load(args: argparse.Namespace) -> dict[str, Any]:
    """Send at a steady rate; each message's content carries its index, the sender records when it
    went out (wall clock, to compare with the WebSocket side in another process)."""
    parts = urlsplit(args.url.split(",")[0])
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    tag = args.tag or uuid.uuid4().hex[:8]
    contents = texts(int(args.rate * args.duration) + 1)
    total = int(args.rate * args.duration)
    queue: asyncio.Queue[int] = asyncio.Queue()
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []

    async def client() -> None:
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 80, headers)
        await conn.open()
        try:
            while True:
                i = await queue.get()
                if i < 0:
                    return
                ext = f"{tag}-{i}"
                body = json.dumps({"content": contents[i], "external_id": ext}).encode()
                sent_at[ext] = time.time()
                started = time.perf_counter()
                status, payload = await conn.post("/api/messages", body)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 400 and len(errors) < 5:
                    errors.append(f"{status} {payload[:300]!r}")
        finally:
            await conn.close()

    clients = [asyncio.create_task(client()) for _ in range(args.concurrency)]
    started = time.perf_counter()
    for i in range(total):
        delay = started + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in clients:
        queue.put_nowait(-1)
    await asyncio.gather(*clients)
    elapsed = time.perf_counter() - started
    summary = _summary(latencies, elapsed, statuses, errors, total)
    summary["sent_at"] = sent_at
    return summary


async def insert_load(args: argparse.Namespace) -> dict[str, Any]:
    """The baseline: what PostgreSQL does with single-row INSERTs at this concurrency, no HTTP, no ORM."""
    import asyncpg

    tag = args.tag or uuid.uuid4().hex[:8]
    contents = texts(args.requests)
    conns = [await asyncpg.connect(args.database) for _ in range(args.concurrency)]
    channel_id = await conns[0].fetchval(
        "INSERT INTO channels (kind, name, enabled, settings, created_at) "
        "VALUES ('api', $1, true, '{}', now()) RETURNING id",
        f"baseline-{tag}",
    )
    sql = (
        "INSERT INTO messages (channel_id, external_id, content, sent_at, received_at, updated_at, "
        "status, attempts, meta) VALUES ($1, $2, $3, now(), now(), now(), 'received', 0, '{}') "
        "ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id"
    )
    latencies: list[float] = []
    next_index = 0

    async def client(conn: Any) -> None:
        nonlocal next_index
        while next_index < len(contents):
            i = next_index
            next_index += 1
            started = time.perf_counter()
            await conn.fetchval(sql, channel_id, f"{tag}-{i}", contents[i])
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    return _summary(latencies, elapsed, {201: len(latencies)}, [], len(contents))


def _summary(
    latencies: list[float], elapsed: float, statuses: dict[int, int], errors: list[str], items: int
) -> dict[str, Any]:
    return {
        "requests": len(latencies),
        "items": items,
        "elapsed_s": elapsed,
        "per_s": items / elapsed if elapsed else 0.0,
        "requests_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=0.0) * 1000,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("mode", choices=["messages", "batch", "insert", "paced"])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="API base URL(s), comma-separated")
    parser.add_argument("--database", help="asyncpg URL (mode insert)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--channel", default="bench")
    parser.add_argument("--tag", default=None)
    parser.add_argument("--token", default=None)
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    runner = {"messages": http_load, "batch": http_load, "insert": insert_load, "paced": paced_load}
    result = asyncio.run(runner[args.mode](args))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
