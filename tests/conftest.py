"""Fixtures: every database test runs on SQLite and on the real PostgreSQL; NATS is real."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasktracker.config import Settings, load_settings
from tests.support.databases import PostgresPool, SqliteTemplate
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


@pytest.fixture(scope="session")
def postgres_pool(postgres_server: Postgres) -> Iterator[PostgresPool]:
    pool = PostgresPool(postgres_server.url)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database on each backend: migrated to head with every table empty, as after
    `tasktracker migrate` (tests/support/databases.py); without the schema for tests marked
    `empty_database`."""
    migrated = request.node.get_closest_marker("empty_database") is None
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if migrated:
            template: SqliteTemplate = request.getfixturevalue("sqlite_template")
            await template.copy_to(path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pool: PostgresPool = request.getfixturevalue("postgres_pool")
    name = await pool.take(migrated)
    try:
        yield pool.url(name)
    finally:
        await pool.give_back(name, migrated)


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
