"""Fixtures: every database test runs on SQLite and on the real PostgreSQL; NATS is real."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tasktracker.config import Settings, load_settings
from tests.support.services import Nats, Postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    server = Postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_server() -> Iterator[Nats]:
    server = Nats()
    yield server
    server.stop()


async def _create_pg_database(base: str) -> str:
    name = f"tt_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def _drop_pg_database(base: str, name: str) -> None:
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    server: Postgres = request.getfixturevalue("postgres_server")
    name = await _create_pg_database(server.url)
    try:
        yield f"{server.url.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        await _drop_pg_database(server.url, name)


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "classifier": "builtin",
            "sweep_interval_s": 3600,
            "ws_heartbeat_s": 5,
            "health_port": 0,  # worker and bot probe servers: tests that want one pick a free port
            # Every caller a local admin, so tests of other things need no sign-in; tests of access
            # ask for auth="on".
            "auth": "off",
        }
        values.update(overrides)
        return load_settings(**values)

    return factory


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API leaves an event loop running in the main thread,
    which the asyncio tests after it could not start their own loop beside."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
