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
