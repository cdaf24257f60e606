"""Alembic migrations, applied by `tasktracker migrate` and at start of the embedded mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def _run(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on the engine's own connection, in one transaction."""

    def _in_connection(connection: Connection) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        action(config)

    async with engine.begin() as conn:
        await conn.run_sync(_in_connection)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    await _run(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda config: command.downgrade(config, revision))


async def pending(engine: AsyncEngine) -> list[str]:
    """Head revisions of this code that the database has not reached (empty: up to date)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())

    def _current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    return sorted(heads - current)


async def wait_for_head(engine: AsyncEngine, timeout_s: float, poll_s: float = 2.0) -> list[str]:
    """Wait until another process (the migration Job) has brought the schema to this code's head.

    Returns the revisions still missing when `timeout_s` ran out (empty: up to date); an unreachable
    database counts as not there yet.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    missing: list[str] = ["(database not reachable)"]
    while True:
        try:
            missing = await pending(engine)
        except Exception as exc:
            missing = [f"(database not reachable: {type(exc).__name__})"]
        if not missing or loop.time() >= deadline:
            return missing
        await asyncio.sleep(min(poll_s, max(deadline - loop.time(), 0.0)))


def upgrade_sync(url: str) -> None:
    from tasktracker.config import load_settings
    from tasktracker.db import create_engine

    async def _main() -> None:
        engine = create_engine(load_settings(database_url=url))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(_main())
