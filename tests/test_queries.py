"""The task and message lists: search, filters, sorts and keyset pages answer alike on SQLite and
PostgreSQL, and on PostgreSQL each of them is answered from the index built for it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tasktracker.classification.schemas import PRIORITY_RANK
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.messages import repository as messages_repository
from tasktracker.migrations import upgrade
from tasktracker.models import Channel, Message, Task
from tasktracker.models.task import PRIORITY_RANK_BY_VALUE
from tasktracker.tasks import repository as tasks_repository
from tasktracker.tasks.repository import SORTS, TaskFilters

TEXTS = [
    ("Checkout page throws 500", "since the last deploy-fix, see foo@bar.com"),
    ("Помилка в оплаті", "Оплата карткою не проходить з ранку"),
    ("Ошибка входа", "не могу войти в аккаунт после обновления"),
    ("Add dark mode", "users keep asking for a dark theme"),
    ("Notifications are late", "push notifications arrive an hour late"),
    ("Quote 'it' \\ breaks", "a title with a quote and a backslash"),
]


@pytest.fixture
async def sessions(make_settings: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _seed(sessions: async_sessionmaker[AsyncSession], copies: int = 1) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    async with sessions() as session:
        session.add(Channel(kind="api", name="api"))
        await session.flush()
        n = 0
        for copy in range(copies):
            for title, description in TEXTS:
                n += 1
                # Every third row shares its timestamp with the previous one: pages must break ties by id.
                at = now + timedelta(minutes=n - (n % 3 == 0))
                task = Task(
                    title=title,
                    description=description,
                    category=["bug", "feature", "question", "task"][n % 4],
                    priority=["low", "medium", "high", "urgent"][(n * 7) % 4],
                    status=["open", "in_progress", "completed", "closed"][(n * 3) % 4],
                    assignee=None if n % 3 else f"dev{n % 2}",
                    needs_review=n % 5 == 0,
                    channel_id=1,
                    created_at=at,
                    updated_at=at + timedelta(hours=(n * 13) % 7),
                )
                session.add(task)
                await session.flush()
                session.add(
                    Message(
                        channel_id=1,
                        external_id=f"{copy}-{n}",
                        content=f"{title}. {description}",
                        received_at=at,
                        sent_at=at,
                        updated_at=at,
                        status="classified" if n % 4 else "failed",
                        task_id=task.id,
                    )
                )
        await session.commit()


async def _titles(session: AsyncSession, q: str) -> set[str]:
    rows, _ = await tasks_repository.list_page(session, TaskFilters(q=q), "-created_at", 200, None)
    return {t.title for t in rows}


async def _contents(session: AsyncSession, q: str) -> set[str]:
    rows, _ = await messages_repository.list_page(session, messages_repository.MessageFilters(q=q), 200, None)
    return {m.content.split(".")[0] for m in rows}


async def test_search_matches_word_prefixes_in_any_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    async with sessions() as session:
        assert await _titles(session, "checkout") == {"Checkout page throws 500"}
        assert await _titles(session, "CHECK") == {"Checkout page throws 500"}  # a prefix, any case
        assert await _titles(session, "heckout") == set()  # a word's start, not any substring
        assert await _titles(session, "deploy") == {"Checkout page throws 500"}  # in the description
        assert await _titles(session, "помил") == {"Помилка в оплаті"}
        assert await _titles(session, "ОПЛАТ") == {"Помилка в оплаті"}
        assert await _titles(session, "войти аккаунт") == {"Ошибка входа"}  # every word must match
        assert await _titles(session, "войти dark") == set()
        assert await _titles(session, "dark") == {"Add dark mode"}
        assert await _titles(session, "late notif") == {"Notifications are late"}
        assert await _titles(session, "500") == {"Checkout page throws 500"}
        # Operators and quotes are text, never syntax; a query of nothing but punctuation finds nothing.
        assert await _titles(session, "quote 'it'") == {"Quote 'it' \\ breaks"}
        assert await _titles(session, "!!!") == set()
        for hostile in ("a & b", "x | !y", "(", "'", "\\", ":*", "a:*B", "o'reilly", "dark <-> mode", "\x01"):
            await _titles(session, hostile)  # answers (maybe nothing); never an error
        # Messages search their content the same way.
        assert await _contents(session, "notif") == {"Notifications are late"}
        assert await _contents(session, "оплат карт") == {"Помилка в оплаті"}
        assert await _contents(session, "heckout") == set()


async def _walk(session: AsyncSession, filters: TaskFilters, sort: str, limit: int) -> list[Task]:
    seen: list[Task] = []
    cursor = None
    while True:
        rows, cursor = await tasks_repository.list_page(session, filters, sort, limit, cursor)
        seen += rows
        if cursor is None:
            return seen


def _expected(tasks: list[Task], filters: TaskFilters, sort: str) -> list[int]:
    def keep(t: Task) -> bool:
        return (
            (not filters.status or t.status in filters.status)
            and (not filters.category or t.category in filters.category)
            and (not filters.priority or t.priority in filters.priority)
            and (filters.assignee is None or t.assignee == (filters.assignee or None))
            and (filters.needs_review is None or t.needs_review == filters.needs_review)
        )

    field = sort.lstrip("-")

    def key(t: Task) -> tuple[Any, int]:
        value = PRIORITY_RANK_BY_VALUE[t.priority] if field == "priority" else getattr(t, field)
        return value, t.id or 0

    return [t.id or 0 for t in sorted(filter(keep, tasks), key=key, reverse=sort.startswith("-"))]


async def test_every_sort_and_filter_pages_through_all_rows_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions, copies=6)
    async with sessions() as session:
        everything, _ = await tasks_repository.list_page(session, TaskFilters(), "-created_at", 200, None)
        assert len(everything) == 36
        cases = [
            TaskFilters(),
            TaskFilters(status=["open", "in_progress"]),
            TaskFilters(category=["bug"]),
            TaskFilters(priority=["urgent", "low"]),
            TaskFilters(assignee=""),
            TaskFilters(assignee="dev1"),
            TaskFilters(needs_review=True),
            TaskFilters(status=["closed"], needs_review=True),
        ]
        rng = random.Random(5)
        for filters in cases:
            for sort in SORTS:
                limit = rng.choice([1, 4, 7])
                got = [t.id for t in await _walk(session, filters, sort, limit)]
                assert got == _expected(everything, filters, sort), (filters, sort, limit)


def test_the_priority_index_ranks_as_the_classifier_does() -> None:
    assert {p.value: rank for p, rank in PRIORITY_RANK.items()} == PRIORITY_RANK_BY_VALUE


async def _planned(session: AsyncSession, run: Any) -> str:
    """The plan of the list statement `run` executes, with table scans priced out (a few rows would
    otherwise rightly be read by a scan): shows which index the statement *can* be answered from."""
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if " LIMIT " in statement:
            caught.append((statement, parameters))

    engine = session.bind
    event.listen(engine.sync_engine, "before_cursor_execute", catch)
    try:
        await run(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", catch)
    statement, parameters = caught[0]
    connection = await session.connection()
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", tuple(parameters))
    return "\n".join(row[0] for row in rows)


@pytest.mark.fresh_database  # plans depend on the tables' pages and statistics, which emptying keeps
async def test_postgres_answers_each_list_query_from_its_index(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """A query's expressions must match its index's exactly, or PostgreSQL silently reads the table."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite plans are not checked")
    await _seed(sessions, copies=3)

    def tasks(filters: TaskFilters, sort: str = "-created_at", cursor: str | None = None) -> Any:
        return lambda session: tasks_repository.list_page(session, filters, sort, 50, cursor)

    def messages(filters: messages_repository.MessageFilters) -> Any:
        return lambda session: messages_repository.list_page(session, filters, 50, None)

    async with sessions() as session:
        _, cursor = await tasks_repository.list_page(session, TaskFilters(), "-priority", 2, None)
        cases = {
            "ix_tasks_search": tasks(TaskFilters(q="checkout page")),
            "ix_tasks_priority_rank_id": tasks(TaskFilters(), "-priority", cursor),
            "ix_tasks_category_created_at_id": tasks(TaskFilters(category=["bug"])),
            "ix_tasks_assignee_created_at_id": tasks(TaskFilters(assignee="")),
            "ix_tasks_review_status_created_at_id": tasks(TaskFilters(status=["closed"], needs_review=True)),
            "ix_messages_search": messages(messages_repository.MessageFilters(q="оплат")),
            "ix_messages_status_received_at_id": messages(
                messages_repository.MessageFilters(status=["failed"])
            ),
        }
        for index, run in cases.items():
            plan = await _planned(session, run)
            assert index in plan, f"{index} not used:\n{plan}"
