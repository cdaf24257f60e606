"""Engine and session factory: SQLite (aiosqlite) by default, PostgreSQL (asyncpg) by URL."""

from __future__ import annotations

import asyncio
import functools
import json
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CursorResult,
    DateTime,
    Executable,
    Insert,
    Table,
    bindparam,
    event,
    false,
    literal_column,
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
    dbapi_connection.create_function("tt_search", 2, _sqlite_search, deterministic=True)


def _unicode_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class Autocommit:
    """PostgreSQL without transactions, for a unit whose one write is one statement (the group commit of
    `POST /api/messages`): that statement commits on its own, so no BEGIN or COMMIT is sent around it.

    `sessions` make sessions whose every statement commits on its own (on the engine's pool), for what
    such a unit reads or makes on the side (a channel on first use). `fetch` runs a statement on an
    asyncpg connection of a small pool of its own, without SQLAlchemy's session, connection and result
    around it, nor the greenlet each of those awaits in (with the round trips, most of a lone
    message's cost, measured: docs/benchmarks.md, Ingest). A connection that died fails its statement
    (503, as any), and the pool replaces it."""

    def __init__(self, engine: AsyncEngine, settings: Settings, size: int = 4) -> None:
        self.sessions = create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        _, options = engine.dialect.create_connect_args(engine.url)
        for key in ("prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback"):
            options.pop(key, None)
        self._options = {**options, "timeout": settings.database_connect_timeout_s}
        self._size = size
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """The rows of one statement, each a dict by column name (JSON columns as sent: text)."""
        pool = self._pool or await self._open()
        return [dict(record) for record in await pool.fetch(sql, *args)]

    async def _open(self) -> Any:
        import asyncpg

        async with self._opening:
            if self._pool is None:  # connects nothing yet: connections are made as statements need them
                self._pool = await asyncpg.create_pool(
                    min_size=0, max_size=self._size, reset=_as_it_is, **self._options
                )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def _as_it_is(_connection: Any) -> None:
    """`Autocommit`'s connections go back to their pool as they are: its statements change no session
    state (no SET, LISTEN, cursor or lock), and asyncpg's own reset is a round trip after each one
    (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`). A transaction left open
    is still rolled back by asyncpg."""


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


# Statements sent past SQLAlchemy (`driver_fetch`) are shown to these, as SQLAlchemy's
# `before_cursor_execute` shows the rest: the statement-count tests see every statement either way.
driver_statement_hooks: list[Callable[[str], None]] = []


def on_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def driver_fetch(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """Run one statement on the session's asyncpg connection, inside its transaction, past SQLAlchemy's
    execution (PostgreSQL only): for the statements a worker sends for every group. SQLAlchemy's Core
    execution of a compiled statement costs ~100 us of Python on top of asyncpg's own ~35 us (measured:
    docs/benchmarks.md, Workers). The rows are asyncpg records, JSON columns decoded by the dialect's
    codecs (parameters for them are JSON text); a failure is asyncpg's own exception, and the unit
    rolls back as for any other."""
    raw = await _driver(session)
    for hook in driver_statement_hooks:
        hook(sql)
    return cast(list[Any], await raw.fetch(sql, *args))


async def _driver(session: AsyncSession) -> Any:
    """The session's asyncpg connection, its transaction begun."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted: Any = raw.dbapi_connection
    if not adapted._started:  # SQLAlchemy's asyncpg adapter sends BEGIN with its own first statement:
        await adapted._start_transaction()  # one sent past it must not run outside the unit's transaction
    return raw.driver_connection


async def driver_executemany(session: AsyncSession, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """`driver_fetch` for a statement run once for each of `rows`, all in one round trip."""
    raw = await _driver(session)
    for hook in driver_statement_hooks:
        hook(sql)
    await raw.executemany(sql, rows)


async def insert_new_rows(
    session: AsyncSession, model: type[M], rows: Sequence[Mapping[str, Any]], conflict: Sequence[str]
) -> list[M]:
    """`insert_new_many`, faster on PostgreSQL: one `INSERT ... SELECT ... FROM unnest(arrays)` whose
    text is the same whatever the number of rows, so it is built once per column set and prepared once
    per connection (the multi-row VALUES form is compiled afresh for every row count: the costliest
    part of ingesting a message, measured), and sent by `driver_fetch`; a lone row as one VALUES row
    of scalars. The rows come back as plain, detached model objects. No `conflict` columns (PostgreSQL
    only): a plain INSERT, every row new."""
    if not rows:
        return []
    if not on_postgresql(session):
        assert conflict, "a plain INSERT of many rows has its own form elsewhere"
        return await insert_new_many(session, model, rows, conflict)
    columns = tuple(rows[0])
    if len(rows) == 1:  # a lone row as scalars: PostgreSQL decodes and joins no arrays for it
        sql, binders = _unnest_insert(model, columns, tuple(conflict), single=True)
        row = rows[0]
        params = (
            binder(row[name]) if binder else row[name] for name, binder in zip(columns, binders, strict=True)
        )
        records = await driver_fetch(session, sql, *params)
    else:
        sql, binders = _unnest_insert(model, columns, tuple(conflict))
        arrays = (
            [binder(row[name]) for row in rows] if binder else [row[name] for row in rows]
            for name, binder in zip(columns, binders, strict=True)
        )
        records = await driver_fetch(session, sql, *arrays)
    return [cast(M, model.model_construct(**record)) for record in records]


async def insert_or_find_rows(
    target: AsyncSession | Autocommit,
    model: type[M],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
) -> tuple[list[M], list[M]]:
    """PostgreSQL only: `insert_new_rows`, and in the same statement the stored rows whose conflict
    columns match a given row's: (the rows this call made, the rows that were there already).

    One statement, so it commits (or fails) as a whole on a connection without a transaction: a
    group of messages needs no BEGIN and COMMIT around it, and no second statement for its repeats.
    The stored rows are read as of the statement's start (and only when some row was not new): a row
    another transaction committed while this one waited on its key is in neither list. `target`: the
    session of a unit, or `Autocommit` to run the statement on its own connection."""
    if not rows:
        return [], []
    columns = tuple(rows[0])
    sql, binders = _unnest_insert(model, columns, tuple(conflict), find_known=True)
    arrays = tuple(
        [binder(row[name]) for row in rows] if binder else [row[name] for row in rows]
        for name, binder in zip(columns, binders, strict=True)
    )
    if isinstance(target, Autocommit):
        found = await target.fetch(sql, *arrays)
        for name in _json_columns(model):  # asyncpg without SQLAlchemy's codec hands JSON over as text
            for values in found:
                if values[name] is not None:
                    values[name] = json.loads(values[name])
    else:
        connection = await target.connection()
        found = [dict(row) for row in (await connection.exec_driver_sql(sql, arrays)).mappings()]
    new: list[M] = []
    known: list[M] = []
    for values in found:
        made = values.pop("made_here")
        (new if made else known).append(cast(M, model.model_construct(**values)))
    return new, known


@functools.cache
def _json_columns(model: type[SQLModel]) -> list[str]:
    table = table_of(model)
    return [
        c.name for c in table.columns if c.type.compile(dialect=postgresql.dialect()) in ("JSON", "JSONB")
    ]


_unnest_inserts: dict[
    tuple[type[SQLModel], tuple[str, ...], tuple[str, ...], bool, bool], tuple[str, list[Any]]
] = {}


def _unnest_insert(
    model: type[SQLModel],
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    find_known: bool = False,
    single: bool = False,
) -> tuple[str, list[Any]]:
    """The SQL of `insert_new_rows` (or, `find_known`, of `insert_or_find_rows`) for these columns, and
    how each column's values are bound. `single`: for one row, its values as scalars."""
    key = (model, columns, conflict, find_known, single)
    if key not in _unnest_inserts:
        table = table_of(model)
        dialect = postgresql.dialect()
        params, values, scalars, binders = [], [], [], []
        for index, name in enumerate(columns, start=1):
            column_type = table.c[name].type
            type_sql = column_type.compile(dialect=dialect)
            binders.append(column_type.bind_processor(dialect))
            if type_sql in ("JSON", "JSONB"):  # sent as text (serialised by the column's own type)
                params.append(f"${index}::text[]")
                values.append(f"v{index}::{type_sql.lower()}")
                scalars.append(f"${index}::text::{type_sql.lower()}")
            else:
                params.append(f"${index}::{type_sql}[]")
                values.append(f"v{index}")
                scalars.append(f"${index}::{type_sql}")
        aliases = ", ".join(f"v{index}" for index in range(1, len(columns) + 1))
        returning = ", ".join(column.name for column in table.columns)
        on_conflict = f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING " if conflict else ""
        source = (
            f"VALUES ({', '.join(scalars)})"
            if single
            else f"SELECT {', '.join(values)} FROM unnest({', '.join(params)}) AS rows({aliases})"
        )
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) {source} {on_conflict}RETURNING {returning}"
        if find_known:
            # The main query's snapshot is the statement's: `{table}` there holds none of the rows the
            # INSERT makes, only the stored ones. It is read only when some row was not new.
            keys = ", ".join(f"v{columns.index(name) + 1}" for name in conflict)
            stored = ", ".join(f"known.{column.name}" for column in table.columns)
            sql = (
                f"WITH rows AS (SELECT * FROM unnest({', '.join(params)}) AS rows({aliases})), "
                f"new AS (INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(values)} "
                f"FROM rows ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {returning}) "
                f"SELECT true AS made_here, {returning} FROM new UNION ALL "
                f"SELECT false, {stored} FROM {table.name} AS known "
                f"WHERE ({', '.join(f'known.{name}' for name in conflict)}) IN (SELECT {keys} FROM rows) "
                f"AND (SELECT count(*) FROM new) < (SELECT count(*) FROM rows)"
            )
        _unnest_inserts[key] = (sql, binders)
    return _unnest_inserts[key]


async def execute_dml(session: AsyncSession, statement: Executable) -> CursorResult[Any]:
    """Execute an INSERT/UPDATE/DELETE. Its result is a CursorResult (with `rowcount`), typed as Result."""
    return cast("CursorResult[Any]", await session.execute(statement))


# Full-text search ----------------------------------------------------------------------------------------
#
# What `?q=` means, on both backends: every word of the query (up to 8) must begin a word of the text,
# case-insensitively ("check" finds "Checkout", "помил" finds "Помилка"). On PostgreSQL each searched
# table keeps `search_vector`, a stored generated `to_tsvector('simple', text)` with a GIN index — the
# `simple` configuration only lower-cases, so English, Ukrainian and Russian text is indexed alike, with
# no stemming to get wrong. Stored, not an expression index: when PostgreSQL walks the sort's index and
# tests each row (a common word), reading the stored vector is cheap where parsing the text again is not
# (measured: 254 ms against a few ms for a prefix matching 1% of 100,000 tasks). SQLite (the embedded
# mode) reads the rows and tokenises them in Python the same way.

SEARCH_CONFIG = "simple"
MAX_SEARCH_WORDS = 8
_WORD = re.compile(r"\w+")


def search_words(q: str) -> list[str]:
    """The query's words that can match anything: whitespace-separated, each with a letter or digit."""
    return [word for word in q.split() if _WORD.search(word)][:MAX_SEARCH_WORDS]


def tsquery_text(words: Sequence[str]) -> str:
    """A `to_tsquery` input: each word quoted (so no operator in it is obeyed) and matched as a prefix."""
    quoted = ("'" + word.replace("\\", "\\\\").replace("'", "''") + "':*" for word in words)
    return " & ".join(quoted)


def search_document(*columns: Any) -> ColumnElement[str]:
    """The text a search looks in: the columns joined by a space (the GIN index is on this expression)."""
    document: Any = columns[0]
    for column in columns[1:]:
        document = document + literal_column("' '") + column
    return cast("ColumnElement[str]", document)


class matches_search(FunctionElement[bool]):  # lower case: it reads as a SQL function
    """A row matches every word of the search (see above). Arguments: the stored tsvector column and the
    `to_tsquery` text (PostgreSQL), the document expression and the words joined by spaces (SQLite)."""

    type = Boolean()
    inherit_cache = True


@compiles(matches_search)
def _matches_search_sqlite(element: matches_search, compiler: SQLCompiler, **kw: Any) -> str:
    _, _, document, words = list(element.clauses)
    return f"tt_search({compiler.process(document, **kw)}, {compiler.process(words, **kw)})"


@compiles(matches_search, "postgresql")
def _matches_search_postgresql(element: matches_search, compiler: SQLCompiler, **kw: Any) -> str:
    vector, query, _, _ = list(element.clauses)
    return (
        f"{compiler.process(vector, **kw)}"
        f" @@ to_tsquery('{SEARCH_CONFIG}'::regconfig, {compiler.process(query, **kw)})"
    )


def search(table: str, document: Any, q: str) -> ColumnElement[bool]:
    """Rows of `table` whose `document` holds every word of `q` as a word prefix; none when `q` has none.

    The tsquery goes into the SQL as a literal, not a parameter: PostgreSQL then plans each search for
    its words (a rare word by the GIN index, a common one along the sort's index), where the generic
    plan of a prepared statement would have to guess, and a wrong guess reads the whole table."""
    words = search_words(q)
    if not words:
        return false()
    return matches_search(
        literal_column(f"{table}.search_vector"),
        bindparam("search_tsquery", tsquery_text(words), literal_execute=True),
        document,
        bindparam("search_words", " ".join(words)),
    )


def _sqlite_search(document: str | None, words: str | None) -> bool:
    if document is None or not words:
        return False
    tokens = set(_WORD.findall(document.lower()))
    parts = (part for word in words.split(" ") for part in _WORD.findall(word.lower()))
    return all(any(token.startswith(part) for token in tokens) for part in parts)
