"""The embedded mode (`tasktracker run`: one process, SQLite, in-process broker): `python -m bench embedded`.

Each figure is compared with a baseline measured in the same run on the same machine, so the ratios
mean something on any machine; absolute numbers are printed for the record only.

  ingest  HTTP POST /api/messages (202, durably stored)   vs  GET /api/health over the same HTTP stack
  e2e     messages/s from POST to classified task          vs  bare INSERTs of the same rows (SQLAlchemy core)
  model   built-in classifier, messages/s on one core      vs  a regex keyword matcher over the same texts
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Options, SuiteResult, figure
from tasktracker.ai.builtin import BuiltinClassifier
from tasktracker.api.app import create_app
from tasktracker.config import load_settings
from tasktracker.runtime import Role
from tests.support.app import serve

DATA = Path(__file__).resolve().parents[1] / "services" / "tasktracker" / "ai" / "data" / "dev.jsonl"


def texts(n: int) -> list[str]:
    rows = [json.loads(line)["text"] for line in DATA.read_text().splitlines() if line.strip()]
    return [f"{rows[i % len(rows)]} #{i}" for i in range(n)]


async def _hammer(client: httpx.AsyncClient, requests: list[dict[str, Any]], concurrency: int) -> float:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            item = queue.get_nowait()
            response = await client.request(**item)
            if response.status_code >= 400:
                raise RuntimeError(f"{item['url']}: {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def bench_http(n: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        # Loopback only: no sign-in (the production-topology suites measure with auth off or a token).
        settings = load_settings(data_dir=Path(tmp), classifier="builtin", log_level="warning", auth="off")
        app = create_app(settings, role=Role.all, migrate=True)
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
            health = await _hammer(client, [{"method": "GET", "url": "/api/health"}] * n, concurrency)
            started = time.perf_counter()
            posts = [
                {"method": "POST", "url": "/api/messages", "json": {"content": t, "external_id": str(i)}}
                for i, t in enumerate(texts(n))
            ]
            ingest = await _hammer(client, posts, concurrency)
            while True:
                stats = (
                    await client.get("/api/messages", params={"status": "classified", "limit": 1})
                ).json()
                pending = (
                    await client.get(
                        "/api/messages",
                        params=[("status", "received"), ("status", "classifying"), ("limit", 1)],
                    )
                ).json()
                if not pending["data"] and stats["data"]:
                    break
                await asyncio.sleep(0.05)
            e2e = time.perf_counter() - started
    return {"health_rps": n / health, "ingest_rps": n / ingest, "e2e_mps": n / e2e}


async def bench_bare_insert(n: int) -> float:
    from sqlalchemy import insert

    from tasktracker.db import create_engine, table_of, utcnow
    from tasktracker.migrations import upgrade
    from tasktracker.models import Channel, Message

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))
        engine = create_engine(settings)
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(insert(table_of(Channel)).values(kind="api", name="api", settings={}))
        started = time.perf_counter()
        for i, text in enumerate(texts(n)):
            now = utcnow()
            async with engine.begin() as conn:  # one transaction per message, like the API
                await conn.execute(
                    insert(table_of(Message)).values(
                        channel_id=1,
                        external_id=str(i),
                        content=text,
                        sent_at=now,
                        received_at=now,
                        updated_at=now,
                        status="received",
                        attempts=0,
                        meta={},
                    )
                )
        elapsed = time.perf_counter() - started
        await engine.dispose()
    return n / elapsed


def bench_model(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        BuiltinClassifier.load_or_train(Path(tmp))
        train_s = time.perf_counter() - started
        started = time.perf_counter()
        model = BuiltinClassifier.load_or_train(Path(tmp))
        load_s = time.perf_counter() - started
    sample = texts(n)
    started = time.perf_counter()
    model.classify_batch(sample)
    model_mps = n / (time.perf_counter() - started)
    keywords = re.compile(r"\b(bug|crash|error|fail|broken|add|feature|please|how|what|why|\?)\b", re.I)
    started = time.perf_counter()
    for text in sample:
        keywords.findall(text)
    regex_mps = n / (time.perf_counter() - started)
    return {"train_s": train_s, "load_s": load_s, "model_mps": model_mps, "regex_mps": regex_mps}


def run(options: Options) -> SuiteResult:
    n = options.scaled(1000, 100)
    model = bench_model(options.scaled(5000, 500))
    http = asyncio.run(bench_http(n, 16))
    bare = asyncio.run(bench_bare_insert(n))
    return SuiteResult(
        figures=[
            figure(
                "embedded ingest c=16",
                http["ingest_rps"],
                "msg/s",
                baseline=http["health_rps"],
                baseline_name="GET /api/health c=16",
            ),
            figure(
                "embedded end to end c=16",
                http["e2e_mps"],
                "msg/s",
                baseline=bare,
                baseline_name="SQLAlchemy core INSERT, SQLite",
            ),
            figure(
                "built-in model",
                model["model_mps"],
                "msg/s",
                baseline=model["regex_mps"],
                baseline_name="regex keyword matcher",
            ),
            figure("built-in model load from cache", model["load_s"] * 1000, "ms"),
        ],
        series={**model, **http, "bare_insert_rps": bare},
    )
