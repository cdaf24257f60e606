"""WebSocket clients in their own process: `python -m bench.wsclients URL --clients N`.

Connects N clients to `/ws`, prints `ready N` on stdout once all are connected, then records when each
client receives each event (wall clock, to compare with the sender in another process) until it
reads `stop` on stdin, and prints one JSON object: `{"events": [[client, type, key, t], ...]}` where
`key` is the message's `external_id` (message events) or `source_message_id` (task events), plus the
`message.received` id → external_id map.

With `BENCH_WS_TOKEN` set, each client sends it as `Authorization: Bearer …` (auth on, as in production).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

import websockets

WS_TOKEN_VARIABLE = "BENCH_WS_TOKEN"


async def main(url: str, clients: int, record: str) -> None:
    events: list[tuple[int, str, Any, float]] = []
    ids: dict[int, str] = {}
    sockets: list[Any] = []
    token = os.environ.get(WS_TOKEN_VARIABLE)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    for i in range(clients):
        for attempt in range(5):
            try:
                sockets.append(
                    await websockets.connect(
                        url, max_queue=None, ping_interval=None, additional_headers=headers
                    )
                )
                break
            except OSError:
                if attempt == 4:
                    raise
                await asyncio.sleep(0.2)
        if i % 100 == 99:
            await asyncio.sleep(0)  # let the server breathe between hundreds

    async def listen(index: int, socket: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in socket:
                now = time.time()
                event = json.loads(raw)
                kind = event.get("type")
                if kind not in ("message.received", "message.classified", "task.created"):
                    continue
                if record == "first" and index != 0 and kind != "message.received":
                    continue
                data = event["data"]
                if kind == "task.created":
                    key = data.get("source_message_id")
                else:
                    key = data.get("external_id")
                    if kind == "message.received" and index == 0:
                        ids[data["id"]] = key
                events.append((index, kind, key, now))

    listeners = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]
    print(f"ready {len(sockets)}", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    for socket in sockets:
        with contextlib.suppress(Exception):
            await socket.close()
    for listener in listeners:
        listener.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    json.dump({"events": events, "ids": ids}, sys.stdout)


if __name__ == "__main__":
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(
        main(
            sys.argv[1],
            int(sys.argv[2]) if len(sys.argv) > 2 else 1,
            sys.argv[3] if len(sys.argv) > 3 else "all",
        )
    )
