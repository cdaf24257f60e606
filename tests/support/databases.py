"""Fresh test databases, fast: migrated once per session, then copied (SQLite) or emptied and reused
(PostgreSQL).

Every database test used to create a database, run the six migrations into it (~0.7 s) and, on
PostgreSQL, drop it again (`DROP DATABASE` waits for a checkpoint of the whole cluster: ~2 s) — about
half of the suite's time. Now a test gets a database that is exactly what a fresh one is after
`tasktracker migrate`: every table empty, the schema at head.

* SQLite: one migrated template file per session, copied for each test.
* PostgreSQL: a small pool. A database given back is emptied (every row of every table but
  `alembic_version` deleted, identities restarted) and reused, but only if its schema is still the one the
  migrations made — a fingerprint of tables, columns, indexes, triggers, functions and the revision
  is compared. A test that changed the schema, or one that asked for an empty database, gets its
  database dropped as before. The pool's databases are dropped at the end of the session.

A test that needs a database without the schema (migration tests) asks with
`@pytest.mark.empty_database`. An emptied database is the same to every query but not to the planner: its
tables keep their pages and statistics until vacuumed, so a test that checks query plans asks for one no
test has used with `@pytest.mark.fresh_database`.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
  SELECT 'c:' || table_name || '.' || column_name || ':' || data_type || ':' || is_nullable
         || ':' || coalesce(column_default, '') AS x
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'i:' || indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 't:' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT t.tgisinternal
  UNION ALL SELECT 'f:' || p.proname || ':' || md5(p.prosrc) FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
  UNION ALL SELECT 'n:' || nspname FROM pg_namespace
    WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema')
  UNION ALL SELECT 'v:' || version_num FROM alembic_version
) s
"""
_RESTART_SEQUENCES = """
SELECT setval(c.oid, s.seqstart, false) FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
"""
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"


async def migrate(url: str) -> None:
    from tasktracker.migrations import upgrade

    engine = create_async_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class SqliteTemplate:
    """A migrated SQLite file, made once, copied per test."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"
        self._made = False

    async def copy_to(self, target: Path) -> None:
        if not self._made:
            await migrate(f"sqlite+aiosqlite:///{self.path}")
            for leftover in (Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                if leftover.exists():
                    raise RuntimeError(f"{leftover} outlived its engine: the template would be incomplete")
            self._made = True
        shutil.copyfile(self.path, target)


class PostgresPool:
    """Migrated, empty PostgreSQL databases, reused between tests."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url  # postgresql://user@host:port, no database
        self.session = uuid.uuid4().hex[:8]
        self._free: list[str] = []
        self._all: set[str] = set()
        self._fingerprint: str | None = None
        self.reused = 0
        self.dropped = 0

    def url(self, name: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{self.base_url.replace('postgresql://', driver + '://')}/{name}"

    async def _admin(self, database: str = "postgres") -> asyncpg.Connection:
        return await asyncpg.connect(f"{self.base_url}/{database}")

    async def _create(self) -> str:
        name = f"tt_test_{self.session}_{uuid.uuid4().hex[:8]}"
        conn = await self._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self._all.add(name)
        return name

    async def _drop(self, name: str) -> None:
        conn = await self._admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self._all.discard(name)
        self.dropped += 1

    async def take(self, migrated: bool, fresh: bool = False) -> str:
        """`fresh`: a database no test has used, whatever the pool holds."""
        if migrated and self._free and not fresh:
            self.reused += 1
            return self._free.pop()
        name = await self._create()
        if migrated:
            await migrate(self.url(name))
            if self._fingerprint is None:
                conn = await self._admin(name)
                try:
                    self._fingerprint = await conn.fetchval(_FINGERPRINT)
                finally:
                    await conn.close()
        return name

    async def give_back(self, name: str, migrated: bool, reuse: bool = True) -> None:
        """Empty the database for the next test if its schema is untouched; drop it otherwise."""
        if migrated and reuse and await self._empty(name):
            self._free.append(name)
        else:
            await self._drop(name)

    async def _empty(self, name: str) -> bool:
        conn = await self._admin(name)
        try:
            # Whatever the test left connected (a process it started, an engine it did not dispose) is
            # cut off, as DROP DATABASE ... WITH (FORCE) did.
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if await conn.fetchval(_FINGERPRINT) != self._fingerprint:
                return False
            tables = [row["tablename"] for row in await conn.fetch(_TABLES)]
            async with conn.transaction():
                # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE makes new files for
                # every table (0.6 s for the 17). Foreign keys and the count triggers are off for it
                # (the count tables are emptied too); identities start again at their start.
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute("".join(f'DELETE FROM "{table}";' for table in tables))
                await conn.execute(_RESTART_SEQUENCES)
            return True
        except (asyncpg.PostgresError, OSError):
            return False
        finally:
            await conn.close()

    def close(self) -> None:
        """Drop what the pool holds; in a thread of its own, since the browser tests may leave an event
        loop running in this one."""

        async def drop_all() -> None:
            for name in list(self._all):
                await self._drop(name)

        worker = threading.Thread(target=lambda: asyncio.run(drop_all()), name="drop-test-databases")
        worker.start()
        worker.join()
