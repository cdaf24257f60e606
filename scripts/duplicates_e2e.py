"""Duplicate linking end to end: each labelled pair posted through the REST API, one after the other.

    .venv/bin/python scripts/duplicates_e2e.py services/tasktracker/ai/data/duplicates_check.jsonl

For every pair, message `a` and then message `b` go to `POST /api/messages` in a channel of their own,
in a fresh embedded process (SQLite, in-process broker) with the real built-in classifier. `b` counts
as linked when it joined `a`'s task. So the classifier (both must be actionable and get the same
category), the open-task window and the matcher all count, as for a user. Prints precision and recall,
by language and by kind (cross-language pairs apart). Numbers are reported, nothing is asserted.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import uvicorn

from tasktracker.ai.duplicates_eval import read_pairs
from tasktracker.api.app import create_app
from tasktracker.config import load_settings
from tasktracker.runtime import Role


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _settled(client: httpx.AsyncClient, message_id: int) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = (await client.get(f"/api/messages/{message_id}")).json()
        if message["status"] in ("classified", "failed"):
            return message
        await asyncio.sleep(0.02)
    raise TimeoutError(f"message {message_id} was not classified")


async def main(path: Path) -> None:
    pairs = read_pairs(path)
    with tempfile.TemporaryDirectory() as data_dir:
        # On 127.0.0.1 only: no sign-in needed.
        settings = load_settings(data_dir=Path(data_dir), classifier="builtin", environment="test", auth="off")
        app = create_app(settings, role=Role.all, migrate=True)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 (uvicorn has no started event)
            await asyncio.sleep(0.05)
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # linked right, linked wrong, missed
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                for number, pair in enumerate(pairs):
                    ids = []
                    for text in (pair.a, pair.b):
                        posted = await client.post(
                            "/api/messages",
                            json={"content": text, "author": "e2e", "channel": f"pair-{number}"},
                        )
                        posted.raise_for_status()
                        ids.append((await _settled(client, posted.json()["id"]))["id"])
                    first, second = [await _settled(client, i) for i in ids]
                    linked = first["task_id"] is not None and first["task_id"] == second["task_id"]
                    for key in ("all", f"lang={pair.lang}", f"kind={pair.kind}"):
                        if linked:
                            counts[key][0 if pair.duplicate else 1] += 1
                        elif pair.duplicate:
                            counts[key][2] += 1
        finally:
            server.should_exit = True
            await serving
    print(f"{path.name}: {len(pairs)} pairs through the API, {sum(p.duplicate for p in pairs)} duplicates")
    for key in sorted(counts, key=lambda k: (k != "all", k)):
        right, wrong, missed = counts[key]
        precision = right / (right + wrong) if right + wrong else float("nan")
        recall = right / (right + missed) if right + missed else float("nan")
        print(
            f"  {key:22} linked right {right:3}  wrong {wrong:3}  missed {missed:3}  P {precision:.3f}  R {recall:.3f}"
        )


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
