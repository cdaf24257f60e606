"""Fixtures: every database test runs on SQLite and on the real PostgreSQL; NATS is real."""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tasktracker.config import Settings, load_settings
from tests.support.databases import PostgresPool, SqliteTemplate
from tests.support.services import Nats, Postgres

SEED_ENV = "TASKTRACKER_BUILTIN_MODEL_SEED_DIR"


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


@pytest.fixture(scope="session", autouse=True)
def builtin_model_seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built-in model, trained once for the session into a seed directory that every runtime and
    every process the tests start loads it from (`TASKTRACKER_BUILTIN_MODEL_SEED_DIR`), as a container
    loads the one trained at image build, instead of training it again (~2 s) in each fresh data dir.
    Tests of training itself call `BuiltinClassifier.load_or_train` without a seed."""
    from tasktracker.ai.builtin import BuiltinClassifier

    seed = tmp_path_factory.mktemp("builtin-model-seed")
    BuiltinClassifier.load_or_train(seed)
    previous = os.environ.get(SEED_ENV)
    os.environ[SEED_ENV] = str(seed)
    yield seed
    if previous is None:
        os.environ.pop(SEED_ENV, None)
    else:
        os.environ[SEED_ENV] = previous


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """Every httpx client builds a TLS context and loads the whole CA bundle into it (~40 ms) even to
    speak plain HTTP to 127.0.0.1, and the suite's tests and apps make a client or more per test. The
    default context (verify=True, no client certificate) is built once and shared; a client that asks
    for anything else gets its own, as before."""
    from httpx._transports import default

    build = default.create_ssl_context
    shared: list[ssl.SSLContext] = []

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is not True or cert is not None or not trust_env:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        if not shared:
            shared.append(build())
        return shared[0]

    default.create_ssl_context = create_ssl_context
    yield
    default.create_ssl_context = build


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The same argon2id hashing at its lowest cost (1 pass over 8 KiB instead of 3 over 64 MiB: ~0.3 s a
    hash or a check on this machine), since the suite signs in, makes users and checks wrong passwords
    hundreds of times. A hash keeps its parameters, so one made at either cost verifies at the other. A
    test about the cost itself (the time an unknown user's sign-in takes) is marked
    `real_password_cost`."""
    from argon2 import PasswordHasher

    from tasktracker.auth import passwords

    if request.node.get_closest_marker("real_password_cost") is None:
        monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    passwords._dummy_hash.cache_clear()  # the unknown user's dummy hash, made at this test's cost
    yield
    passwords._dummy_hash.cache_clear()


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
    `empty_database`; on PostgreSQL one no test has used for tests marked `fresh_database`."""
    migrated = request.node.get_closest_marker("empty_database") is None
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if migrated:
            template: SqliteTemplate = request.getfixturevalue("sqlite_template")
            await template.copy_to(path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    pool: PostgresPool = request.getfixturevalue("postgres_pool")
    fresh = request.node.get_closest_marker("fresh_database") is not None
    name = await pool.take(migrated, fresh)
    try:
        yield pool.url(name)
    finally:
        await pool.give_back(name, migrated, reuse=not fresh)


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
