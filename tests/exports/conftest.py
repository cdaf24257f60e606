"""Fixtures for exports: the trackers' stand-ins served over HTTP, and the whole app beside them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tasktracker.config import Settings
from tests.channels.conftest import running
from tests.support.app import eventually, get_json, serve
from tests.support.trackers import FakeGitHub, FakeJira, FakeLinear, StandIn, WebhookReceiver

WEBHOOK_SECRET = "sync-back-secret-0123"


@contextlib.asynccontextmanager
async def served(stand_in: StandIn) -> AsyncIterator[StandIn]:
    async with serve(stand_in.app) as base:
        stand_in.base_url = base  # type: ignore[attr-defined]
        try:
            yield stand_in
        finally:
            stand_in.released.set()


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    async with served(FakeGitHub()) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def jira() -> AsyncIterator[FakeJira]:
    async with served(FakeJira()) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def linear() -> AsyncIterator[FakeLinear]:
    async with served(FakeLinear()) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with served(WebhookReceiver()) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def export_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Fast schedules: the worker looks for due exports every 0.1 s, retries after 0.2 s, 0.4 s ..."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "export_poll_interval_s": 0.1,
            "export_backoff_s": 0.2,
            "export_http_timeout_s": 1.0,
            "export_max_attempts": 4,
            "public_url": "https://tt.example.com",
            # The stand-ins listen on loopback, which exports may not reach unless allowed.
            "export_allowed_hosts": "127.0.0.1",
        }
        values.update(overrides)
        return make_settings(**values)

    return factory


@pytest.fixture
async def app(export_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(export_settings()) as client:
        yield client


def github_target(fake: FakeGitHub, **extra: Any) -> dict[str, Any]:
    return {
        "name": "web repo",
        "kind": "github",
        "config": {"repository": fake.repository, "api_url": fake.base_url, "labels": ["from-tracker"]},
        "token": fake.token,
        "webhook_secret": WEBHOOK_SECRET,
        **extra,
    }


def jira_target(fake: FakeJira, **extra: Any) -> dict[str, Any]:
    return {
        "name": "ops jira",
        "kind": "jira",
        "config": {"base_url": fake.base_url, "email": fake.email, "project_key": fake.project},
        "token": fake.token,
        "webhook_secret": WEBHOOK_SECRET,
        **extra,
    }


def linear_target(fake: FakeLinear, **extra: Any) -> dict[str, Any]:
    return {
        "name": "eng linear",
        "kind": "linear",
        "config": {"team_id": fake.team_id, "api_url": f"{fake.base_url}/graphql"},
        "token": fake.token,
        "webhook_secret": WEBHOOK_SECRET,
        **extra,
    }


async def add_target(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/export-targets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def add_task(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "Checkout throws 500",
        "description": "Since the last deploy.\n\nEvery card payment fails.",
        "category": "bug",
        "priority": "high",
        "assignee": "ann",
        "labels": ["payments"],
        **extra,
    }
    response = await client.post("/api/tasks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def export_to(client: httpx.AsyncClient, task_id: int, target_id: int) -> dict[str, Any]:
    response = await client.post(f"/api/tasks/{task_id}/exports", json={"target_id": target_id})
    assert response.status_code == 202, response.text
    return response.json()


async def settled(
    client: httpx.AsyncClient,
    task_id: int,
    export_id: int,
    states: tuple[str, ...] = ("exported",),
    timeout: float = 15,
) -> dict[str, Any]:
    """The export once it reached one of `states`."""

    async def check() -> dict[str, Any] | None:
        for export in await get_json(client, f"/api/tasks/{task_id}/exports"):
            if export["id"] == export_id and export["status"] in states:
                return export
        return None

    return await eventually(check, timeout=timeout)


async def task_status(client: httpx.AsyncClient, task_id: int) -> str:
    return (await get_json(client, f"/api/tasks/{task_id}"))["status"]
