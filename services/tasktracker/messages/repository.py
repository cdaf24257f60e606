"""SQL for messages and their classification runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.db import (
    Autocommit,
    driver_executemany,
    driver_fetch,
    execute_dml,
    insert_new,
    insert_new_rows,
    insert_or_find_rows,
    on_postgresql,
    search,
    table_of,
    utcnow,
)
from tasktracker.models import Issue, Message, MessageStatus
from tasktracker.pagination import SortSpec, page


@dataclass
class MessageFilters:
    status: Sequence[str] = ()
    category: Sequence[str] = ()
    channel_ids: Sequence[int] = ()
    task_id: int | None = None
    q: str | None = None


MESSAGE_SORT = SortSpec(key=col(Message.received_at), id=col(Message.id), descending=True, kind="datetime")


async def insert(session: AsyncSession, values: dict[str, Any]) -> tuple[Message, bool]:
    """Insert unless (channel, external id) is known; return the stored row and whether it is new."""
    new = await insert_new(session, Message, values, ["channel_id", "external_id"])
    if new is not None:
        return new, True
    row = (
        await session.execute(
            select(Message).where(
                col(Message.channel_id) == values["channel_id"],
                col(Message.external_id) == values["external_id"],
            )
        )
    ).scalar_one()
    return row, False


async def insert_many(
    session: AsyncSession, rows: Sequence[dict[str, Any]], direct: Autocommit | None = None
) -> list[tuple[Message, bool]]:
    """Insert many at once, each unless its (channel, external id) is known; in the order given, the
    stored row and whether this call made it.

    On PostgreSQL one statement inserts the new rows and reads the known ones (`insert_or_find_rows`),
    so it commits as a whole even without a transaction around it; a second, a SELECT, only for a row
    another transaction stored while this one ran. On SQLite: the INSERT, then one SELECT for the rows
    that were known already. `direct`: run the statement there (on PostgreSQL, a unit without a
    transaction)."""
    keys = [(row["channel_id"], row["external_id"]) for row in rows]
    conflict = ["channel_id", "external_id"]
    known: dict[tuple[int, str], Message] = {}
    if session.bind.dialect.name == "postgresql":
        made, found = await insert_or_find_rows(direct or session, Message, rows, conflict)
        known = {(m.channel_id, m.external_id): m for m in found}
    else:
        made = await insert_new_rows(session, Message, rows, conflict)
    new = {(m.channel_id, m.external_id): m for m in made}
    missing = [key for key in dict.fromkeys(keys) if key not in new and key not in known]
    if missing:
        stmt = select(Message).where(tuple_(col(Message.channel_id), col(Message.external_id)).in_(missing))
        known.update({(m.channel_id, m.external_id): m for m in (await session.scalars(stmt)).all()})
    result: list[tuple[Message, bool]] = []
    for key in keys:
        if key in new:
            result.append((new.pop(key), True))  # the first of repeated keys is the one that made it
        else:
            result.append((known.get(key) or _made_earlier(result, key), False))
    return result


def _made_earlier(result: list[tuple[Message, bool]], key: tuple[int, str]) -> Message:
    for message, _ in result:
        if (message.channel_id, message.external_id) == key:
            return message
    raise LookupError(f"message {key} neither inserted nor found")


async def get(session: AsyncSession, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def list_page(
    session: AsyncSession, filters: MessageFilters, limit: int, cursor: str | None
) -> tuple[list[Message], str | None]:
    stmt = select(Message)
    if filters.status:
        stmt = stmt.where(col(Message.status).in_(filters.status))
    if filters.channel_ids:
        stmt = stmt.where(col(Message.channel_id).in_(filters.channel_ids))
    if filters.task_id is not None:
        stmt = stmt.where(col(Message.task_id) == filters.task_id)
    if filters.q:
        stmt = stmt.where(search("messages", col(Message.content), filters.q))
    if filters.category:
        stmt = stmt.where(col(Message.category).in_(filters.category))
    return await page(session, stmt, MESSAGE_SORT, limit, cursor, lambda message: message.received_at)


async def latest_issues(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, Issue]:
    if not message_ids:
        return {}
    ids = (
        select(func.max(col(Issue.id)))
        .where(col(Issue.message_id).in_(message_ids))
        .group_by(col(Issue.message_id))
    )
    rows = await session.execute(select(Issue).where(col(Issue.id).in_(ids)))
    return {issue.message_id: issue for issue in rows.scalars()}


async def issues_for(session: AsyncSession, message_ids: Sequence[int]) -> list[Issue]:
    if not message_ids:
        return []
    rows = await session.execute(
        select(Issue).where(col(Issue.message_id).in_(message_ids)).order_by(col(Issue.id))
    )
    return list(rows.scalars())


async def claim(session: AsyncSession, message_id: int, stale_before: datetime) -> Message | None:
    """Take a message for classification; returns it as claimed (UPDATE ... RETURNING), or None when
    it is done, or another run holds a fresh claim.

    A claim older than `stale_before` belongs to a run that died (its job was never acknowledged), so it
    may be taken over. Only a successful claim counts as an attempt: a duplicate delivery of the job
    while another worker classifies the message neither calls the model again nor uses up attempts.
    """
    claimable = or_(
        col(Message.status).in_([MessageStatus.received, MessageStatus.failed]),
        and_(col(Message.status) == MessageStatus.classifying, col(Message.updated_at) < stale_before),
    )
    stmt = (
        update(Message)
        .where(col(Message.id) == message_id, claimable)
        .values(status=MessageStatus.classifying, attempts=col(Message.attempts) + 1, updated_at=utcnow())
        .returning(Message)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def finish(session: AsyncSession, message_id: int, task_id: int | None, category: str) -> bool:
    """Mark classified exactly once: the run that flips the status owns the side effects."""
    result = await execute_dml(
        session,
        update(Message)
        .where(col(Message.id) == message_id, col(Message.status) != MessageStatus.classified)
        .values(status=MessageStatus.classified, task_id=task_id, category=category, updated_at=utcnow()),
    )
    return bool(result.rowcount)


# The worker's statements for a group of messages, built once. They run as Core on the session's
# connection: the ORM forms (`update(Message) ... returning(Message)`, a flush of changed objects) cost
# ~1.5 ms of Python each per group on top of the ~0.6 ms of the statement itself (measured), most of a
# small group's time. Dialect-neutral: the embedded SQLite runs the same ones.
_messages = table_of(Message)
_CLAIM_MANY = (
    update(_messages)
    .where(
        _messages.c.id.in_(bindparam("ids", expanding=True)),
        or_(
            _messages.c.status.in_([MessageStatus.received.value, MessageStatus.failed.value]),
            and_(
                _messages.c.status == MessageStatus.classifying.value,
                _messages.c.updated_at < bindparam("stale_before"),
            ),
        ),
    )
    .values(
        status=MessageStatus.classifying.value, attempts=_messages.c.attempts + 1, updated_at=bindparam("now")
    )
    .returning(*_messages.c)
)
_FINISH_MANY = (
    update(_messages)
    .where(
        _messages.c.id.in_(
            select(_messages.c.id)
            .where(
                _messages.c.id.in_(bindparam("ids", expanding=True)),
                _messages.c.status != MessageStatus.classified.value,
            )
            .order_by(_messages.c.id)
            .with_for_update()
            .scalar_subquery()
        )
    )
    .values(status=MessageStatus.classified.value, updated_at=bindparam("now"))
    .returning(*_messages.c)
)
_SET_RESULTS = (
    update(_messages)
    .where(_messages.c.id == bindparam("message_id"))
    .values(category=bindparam("category"), task_id=bindparam("task_id"))
)
_FINISH_WITH_RESULTS = _SET_RESULTS.values(status=MessageStatus.classified.value, updated_at=bindparam("now"))


_issues = table_of(Issue)
_INSERT_ISSUES = sql_insert(_issues).returning(_issues.c.id, sort_by_parameter_order=True)

# On PostgreSQL the same statements go to the session's asyncpg connection directly (`driver_fetch`):
# a group's claim and results are a worker's per-group work, and SQLAlchemy's execution of each was
# as much Python again as asyncpg's. A group of one's id as a scalar (an array costs PostgreSQL more
# to decode than the statement saves); the results as one executemany, a round trip for the group.
_COLUMNS = ", ".join(column.name for column in _messages.c)
_PG_CLAIM = (
    f"UPDATE messages SET status = '{MessageStatus.classifying.value}', attempts = attempts + 1, "
    f"updated_at = $2 WHERE id {{ids}} AND (status IN "
    f"('{MessageStatus.received.value}', '{MessageStatus.failed.value}') OR "
    f"(status = '{MessageStatus.classifying.value}' AND updated_at < $3)) RETURNING {_COLUMNS}"
)
_PG_CLAIM_MANY = _PG_CLAIM.format(ids="= ANY($1::integer[])")
_PG_CLAIM_ONE = _PG_CLAIM.format(ids="= $1")  # a group of one: no array to decode
_PG_SET_RESULTS = "UPDATE messages SET category = $2, task_id = $3{finish} WHERE id = $1"
_PG_RESULTS = _PG_SET_RESULTS.format(finish="")
_PG_FINISH_WITH_RESULTS = _PG_SET_RESULTS.format(
    finish=f", status = '{MessageStatus.classified.value}', updated_at = $4"
)


class Claimed(NamedTuple):
    row: Mapping[str, Any]  # every column, as claimed

    @property
    def id(self) -> int:
        return int(self.row["id"])

    @property
    def attempts(self) -> int:
        return int(self.row["attempts"])

    @property
    def content(self) -> str:
        return str(self.row["content"])

    def finished(self, now: datetime) -> Message:
        """The message as `finish_many` would return it, flipped to classified at `now`: for a unit
        that claimed it itself (see `set_results_many`'s `finished_at`)."""
        return Message.model_construct(
            **{**self.row, "status": MessageStatus.classified.value, "updated_at": now}
        )


async def claim_many(
    session: AsyncSession, message_ids: Sequence[int], stale_before: datetime
) -> list[Claimed]:
    """`claim` for many messages in one statement; the ones taken, as claimed."""
    if on_postgresql(session):
        ids: int | list[int] = message_ids[0] if len(message_ids) == 1 else list(message_ids)
        sql = _PG_CLAIM_ONE if len(message_ids) == 1 else _PG_CLAIM_MANY
        records = await driver_fetch(session, sql, ids, utcnow(), stale_before)
        return [Claimed(dict(record)) for record in records]
    connection = await session.connection()
    params = {"ids": list(message_ids), "stale_before": stale_before, "now": utcnow()}
    rows = await connection.execute(_CLAIM_MANY, params)
    return [Claimed(dict(row._mapping)) for row in rows]


async def finish_many(session: AsyncSession, message_ids: Sequence[int]) -> list[Message]:
    """`finish` for many messages in one statement: the ones this call flipped to classified, which own
    their side effects, as detached rows (`set_results_many` writes their category and task id). Rows
    are locked in id order, so two workers finishing overlapping batches wait for each other instead of
    deadlocking."""
    connection = await session.connection()
    rows = await connection.execute(_FINISH_MANY, {"ids": sorted(message_ids), "now": utcnow()})
    return [Message.model_construct(**row._mapping) for row in rows]


async def insert_issues(session: AsyncSession, issues: Sequence[Issue]) -> None:
    """Store new classification runs in one statement (PostgreSQL; one per row on SQLite) and give
    each its id. They stay out of the session: nothing changes them afterwards."""
    if not issues:
        return
    rows = [issue.model_dump(exclude={"id"}) for issue in issues]
    if on_postgresql(session):
        ids = {row.message_id: row.id for row in await insert_new_rows(session, Issue, rows, ())}
        for issue in issues:  # one run a message here: `record_batch` records each message once
            issue.id = ids[issue.message_id]
        return
    result = await (await session.connection()).execute(_INSERT_ISSUES, rows)
    for issue, (issue_id,) in zip(issues, result, strict=True):
        issue.id = issue_id


async def set_results_many(
    session: AsyncSession,
    results: Sequence[tuple[int, str | None, int | None]],
    finished_at: datetime | None = None,
) -> None:
    """(message id, category, task id) of finished messages, in one executemany. With `finished_at`,
    this is also their `finish_many` (status classified at that time): only for messages the caller's
    unit claimed itself, whose row locks kept every other delivery from finishing them first."""
    if results and on_postgresql(session):  # one round trip for all of them (asyncpg's executemany)
        if finished_at is None:
            await driver_executemany(session, _PG_RESULTS, results)
        else:
            await driver_executemany(session, _PG_FINISH_WITH_RESULTS, [(*r, finished_at) for r in results])
    elif results:
        connection = await session.connection()
        rows = [
            {"message_id": m, "category": category, "task_id": task_id} for m, category, task_id in results
        ]
        if finished_at is None:
            await connection.execute(_SET_RESULTS, rows)
        else:
            await connection.execute(_FINISH_WITH_RESULTS, [{**row, "now": finished_at} for row in rows])


async def set_status_many(session: AsyncSession, message_ids: Sequence[int], status: MessageStatus) -> None:
    if message_ids:
        await session.execute(
            update(Message)
            .where(col(Message.id).in_(list(message_ids)))
            .values(status=status, updated_at=utcnow())
        )


async def set_status(session: AsyncSession, message_id: int, status: MessageStatus) -> None:
    await session.execute(
        update(Message).where(col(Message.id) == message_id).values(status=status, updated_at=utcnow())
    )


async def retry_failed(session: AsyncSession, message_id: int) -> bool:
    """A failed message back to `received` with its attempts reset; False when it is not `failed`."""
    result = await execute_dml(
        session,
        update(Message)
        .where(col(Message.id) == message_id, col(Message.status) == MessageStatus.failed)
        .values(status=MessageStatus.received, attempts=0, updated_at=utcnow()),
    )
    return bool(result.rowcount)


async def stuck(
    session: AsyncSession, received_before: datetime, classifying_before: datetime, limit: int = 500
) -> list[int]:
    """Messages never taken since `received_before`, or whose claim is older than `classifying_before`."""
    rows = await session.execute(
        select(col(Message.id))
        .where(
            or_(
                and_(
                    col(Message.status) == MessageStatus.received, col(Message.updated_at) < received_before
                ),
                and_(
                    col(Message.status) == MessageStatus.classifying,
                    col(Message.updated_at) < classifying_before,
                ),
            )
        )
        .order_by(col(Message.updated_at))
        .limit(limit)
    )
    return [row for row in rows.scalars() if row is not None]


async def requeue(session: AsyncSession, message_ids: Sequence[int]) -> None:
    """Back to `received`, timestamped now: claimable at once, and not swept again straight away."""
    if message_ids:
        await session.execute(
            update(Message)
            .where(
                col(Message.id).in_(message_ids),
                col(Message.status).in_([MessageStatus.received, MessageStatus.classifying]),
            )
            .values(status=MessageStatus.received, updated_at=utcnow())
        )


async def attach_to_task(session: AsyncSession, message_ids: Sequence[int], task_id: int) -> None:
    if message_ids:
        await session.execute(update(Message).where(col(Message.id).in_(message_ids)).values(task_id=task_id))


async def for_task(session: AsyncSession, task_id: int) -> list[Message]:
    rows = await session.execute(
        select(Message).where(col(Message.task_id) == task_id).order_by(col(Message.id))
    )
    return list(rows.scalars())


async def count_for_task(session: AsyncSession, task_id: int) -> int:
    return int(
        (
            await session.execute(
                select(func.count()).select_from(Message).where(col(Message.task_id) == task_id)
            )
        ).scalar_one()
    )
