"""Process-level faults: real `tasktracker` processes, and servers the test may stop or kill."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.services import Nats, Postgres, delete_stream, free_port


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for every process of these tests: the built-in model is trained once, then cached."""
    return tmp_path_factory.mktemp("fault-data")


def base_env(data_dir: Path, database_url: str, nats_url: str, **extra: str) -> dict[str, str]:
    names = uuid.uuid4().hex[:10]
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(data_dir),
        "TASKTRACKER_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "TASKTRACKER_NATS_STREAM": f"tt_jobs_{names}",
        "TASKTRACKER_NATS_SUBJECT": f"tt.{names}.jobs",
        "TASKTRACKER_NATS_DURABLE": f"tt_workers_{names}",
        "TASKTRACKER_NATS_EVENTS_SUBJECT": f"tt.{names}.events",
        "TASKTRACKER_CLASSIFIER": "builtin",
        "TASKTRACKER_HEALTH_PORT": str(free_port()),
        "PORT": str(free_port()),
        "TASKTRACKER_LOG_LEVEL": "info",
        "TASKTRACKER_AUTH": "off",  # the processes bind 127.0.0.1; these tests are about faults, not access
    }
    env.update(extra)
    return env


@pytest.fixture
async def fault_database(postgres_server: Postgres) -> AsyncIterator[str]:
    """A fresh database on the machine's PostgreSQL (for faults that do not stop PostgreSQL)."""
    name = f"tt_fault_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield f"{postgres_server.url}/{name}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def delete_streams(nats_server: Nats) -> Iterator[Callable[[dict[str, str]], None]]:
    """Register an env whose stream is deleted from the machine's NATS after the test."""
    envs: list[dict[str, str]] = []
    yield envs.append
    for env in envs:
        with contextlib.suppress(Exception):
            asyncio.run(delete_stream(nats_server.url, env["TASKTRACKER_NATS_STREAM"]))


async def migrate(database_url: str) -> None:
    """Apply the migrations (in a thread: Alembic runs its own event loop)."""
    from tasktracker.config import load_settings
    from tasktracker.migrations import upgrade_sync

    await asyncio.to_thread(upgrade_sync, load_settings(database_url=database_url).effective_database_url)


async def counts(database_url: str) -> dict[str, int]:
    """Messages by status, and the issue and task rows, read straight from PostgreSQL."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM messages GROUP BY status")
        result = {row["status"]: row["n"] for row in rows}
        result["messages"] = sum(row["n"] for row in rows)
        result["issues"] = await conn.fetchval("SELECT count(*) FROM issues")
        result["tasks"] = await conn.fetchval("SELECT count(*) FROM tasks")
        result["messages_with_several_issues"] = await conn.fetchval(
            "SELECT count(*) FROM (SELECT message_id FROM issues GROUP BY message_id HAVING count(*) > 1) s"
        )
        return result
    finally:
        await conn.close()


async def stored_contents(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return {row["content"] for row in await conn.fetch("SELECT content FROM messages")}
    finally:
        await conn.close()
