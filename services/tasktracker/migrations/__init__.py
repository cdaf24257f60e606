"""Alembic migrations, applied by `tasktracker migrate` and at start of the embedded mode."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

    from tasktracker.config import Settings

HERE = Path(__file__).parent
_REVISION = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def _run(
    engine: AsyncEngine, action: Callable[[Config], None], settings: Settings | None = None
) -> None:
    """Run an Alembic command on the engine's own connection, in one transaction. The settings (else
    the environment's) give the key of migrations that encrypt stored secrets."""

    def _in_connection(connection: Connection) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        config.attributes["settings"] = settings
        action(config)

    async with engine.begin() as conn:
        await conn.run_sync(_in_connection)


async def upgrade(engine: AsyncEngine, revision: str = "head", settings: Settings | None = None) -> None:
    """Apply migrations up to `revision`."""
    if revision == "head" and await _at_head(engine):
        return  # nothing to apply, and Alembic (~0.2 s of import, 1/10 of a warm start) not needed
    from alembic import command

    await _run(engine, lambda config: command.upgrade(config, revision), settings)


async def downgrade(engine: AsyncEngine, revision: str, settings: Settings | None = None) -> None:
    from alembic import command

    await _run(engine, lambda config: command.downgrade(config, revision), settings)


def script_heads() -> set[str] | None:
    """The head revisions of `versions/`, read from the scripts' text without Alembic; None when a
    script does not read as expected (then Alembic decides). `tests/test_migrations.py` checks this
    against Alembic's own heads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    scripts = sorted((HERE / "versions").glob("*.py"))
    for script in scripts:
        source = script.read_text(encoding="utf-8")
        found = {match[1]: match[2] for match in _REVISION.finditer(source)}
        if "revision" not in found or "down_revision" not in found:
            return None
        names = _QUOTED.findall(found["revision"])
        if len(names) != 1:
            return None
        revisions.add(names[0])
        parents.update(_QUOTED.findall(found["down_revision"]))
    if len(revisions) != len(scripts) or not parents <= revisions:
        return None
    return revisions - parents


async def _at_head(engine: AsyncEngine) -> bool:
    """Whether the database's revisions are exactly this code's heads (a warm start's usual case)."""
    heads = script_heads()
    if not heads:
        return False
    try:
        async with engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            return set(current) == heads
    except DBAPIError:  # no such table yet (a new database), or not reachable: Alembic says which
        return False


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
        settings = load_settings(database_url=url)
        engine = create_engine(settings)
        try:
            await upgrade(engine, settings=settings)
        finally:
            await engine.dispose()

    asyncio.run(_main())
