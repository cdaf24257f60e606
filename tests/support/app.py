"""Run the real app over real HTTP on a free port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tasktracker.ai.base import Classifier
from tasktracker.classification.schemas import Category, Classification, Priority
from tasktracker.config import Settings
from tasktracker.runtime import Role, build_runtime
from tasktracker.unit_of_work import send_classification_jobs
from tasktracker.worker.runner import Worker
from tests.support.services import free_port


class ScriptedClassifier(Classifier):
    """A stand-in classifier whose answers the test decides (by keyword), for pipeline mechanics."""

    name = "scripted"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[str] = []
        self.fail_next = 0

    async def classify(self, text: str) -> Classification:
        self.calls.append(text)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("scripted failure")
        lowered = text.lower()
        category = Category.noise
        for cat in (Category.bug, Category.feature, Category.question, Category.task):
            if cat.value in lowered:
                category = cat
                break
        priority = Priority.urgent if "urgent" in lowered else Priority.medium
        confidence = 0.3 if "unsure" in lowered else 0.9
        return Classification(
            category=category,
            priority=priority,
            actionable=category != Category.noise,
            title=text.splitlines()[0][:80],
            summary=text[:500],
            confidence=confidence,
            model="scripted",
            latency_ms=1.0,
        )

    async def ready(self) -> bool:
        return True


@contextlib.asynccontextmanager
async def serve(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Serve the app on 127.0.0.1 and yield its base URL; lifespan runs for real."""
    port = port or free_port()
    options = getattr(app.state, "uvicorn_options", {"ws": "websockets-sansio"})  # as `tasktracker run`
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an (async) check until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


async def get_json(client: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
    response = await client.get(url, **kwargs)
    response.raise_for_status()
    return response.json()


class WorkerProcess:
    """What `tasktracker worker` runs, inside the test: a worker's runtime with a `Worker` on top."""

    def __init__(self, settings: Settings, classifier: Classifier | None = None) -> None:
        self.runtime = build_runtime(settings, Role.worker, classifier)
        self.worker = Worker(self.runtime)

    async def start(self) -> None:
        await self.runtime.start()
        await self.worker.start()

    async def stop(self) -> None:
        await self.worker.stop()
        await self.runtime.stop()

    async def enqueue_classification(self, message_ids: list[int]) -> int:
        return await send_classification_jobs(self.runtime, message_ids)

    def __getattr__(self, name: str) -> Any:  # the runtime's resources: sessions, classifier, broker_ready
        return getattr(self.runtime, name)
