"""Engine and session factory: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    DateTime,
    Executable,
    Insert,
    Table,
    and_,
    event,
    func,
    or_,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import class_mapper
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Date, TypeDecorator
from sqlmodel import SQLModel

from tasktracker.config import Settings

M = TypeVar("M", bound=SQLModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class utc_date(FunctionElement[Any]):  # lower case: it reads as a SQL function
    """The UTC calendar day of a `UTCDateTime` column.

    PostgreSQL's `date(timestamptz)` takes the day in the session's time zone (the server's or the
    role's setting), so it is converted to UTC first; SQLite stores UTC already.
    """

    type = Date()
    inherit_cache = True


@compiles(utc_date)
def _utc_date(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date(timezone('UTC', {compiler.process(element.clauses, **kw)}))"


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: SQLite has one writer at a time anyway, and queueing in the pool is cheaper
        # than lock retries between connections (measured: ~40% more messages/s under concurrency).
        # Code must therefore never hold two sessions at once on SQLite.
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=60
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # No pre-ping: it is a round trip on every checkout. A connection that died (server restarted)
        # fails its statement instead; SQLAlchemy then invalidates the whole pool, that one request
        # answers 503 `database_unavailable`, and the next ones get fresh connections.
        # A server that is away must not hold a request for asyncpg's default minute.
        connect_args={"timeout": settings.database_connect_timeout_s},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; searches must be case-insensitive in Cyrillic too.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def database_unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be reached (down, restarting, unreachable), as
    opposed to a bug: such requests answer 503 and may be retried."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError, socket.gaierror, PoolTimeout)):
            return True
        if isinstance(current, DBAPIError) and (
            current.connection_invalidated or isinstance(current, (OperationalError, InterfaceError))
        ):
            return True
        if isinstance(current, OSError) and "connect call failed" in str(current).lower():
            return True  # asyncio's error when every address of a host refused the connection
        if type(current).__name__ in _UNAVAILABLE_DRIVER_ERRORS:
            return True
        current = current.__cause__ or current.__context__
    return False


# asyncpg's names for a server that is starting, shutting down or went away mid-conversation.
_UNAVAILABLE_DRIVER_ERRORS = frozenset(
    {"CannotConnectNowError", "ConnectionDoesNotExistError", "AdminShutdownError", "CrashShutdownError"}
)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (SQLModel sets `__table__` but does not declare it)."""
    table = class_mapper(model, configure=False).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return table


def insert_ignoring_conflicts(
    dialect_name: str, table: Table, values: Mapping[str, Any], conflict: Sequence[str]
) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING for the backend in use (idempotent writes without races)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(conflict))


async def insert_new(
    session: AsyncSession, model: type[M], values: Mapping[str, Any], conflict: Sequence[str]
) -> M | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING the row: the new row (in the session), or None when
    the conflict columns matched a stored one. One round trip instead of an insert and a read-back."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(model)
    )
    return (await session.scalars(stmt)).one_or_none()


async def insert_new_many(
    session: AsyncSession, model: type[M], rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
) -> list[M]:
    """One multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING: the rows that were new (in no
    particular order); rows whose conflict columns matched a stored one (or an earlier row of the
    same statement) are left out."""
    if not rows:
        return []
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(model)
        .values([dict(row) for row in rows])
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(model)
    )
    return list((await session.scalars(stmt)).all())


async def execute_dml(session: AsyncSession, statement: Executable) -> CursorResult[Any]:
    """Execute an INSERT/UPDATE/DELETE. Its result is a CursorResult (with `rowcount`), typed as Result."""
    return cast("CursorResult[Any]", await session.execute(statement))


def contains_words(columns: Any, q: str) -> ColumnElement[bool]:
    """Case-insensitive search on every backend: each word must appear in one of the columns."""
    cols = columns if isinstance(columns, (list, tuple)) else [columns]
    clauses = []
    for word in q.split()[:8]:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        clauses.append(or_(*(func.lower(col).like(pattern, escape="\\") for col in cols)))
    return and_(*clauses)
