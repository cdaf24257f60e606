"""Ingesting messages: store durably first; the announcement and the classification job follow the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker import telemetry
from tasktracker.channels import service as channels_service
from tasktracker.channels.schemas import ChannelRef
from tasktracker.classification.schemas import Classification
from tasktracker.config import Settings
from tasktracker.db import utcnow
from tasktracker.errors import Conflict, Invalid, NotFound
from tasktracker.events import schemas as events
from tasktracker.messages import repository
from tasktracker.messages.schemas import BatchResult, IssuePublic, MessageDetail, MessageIn, MessagePublic
from tasktracker.metrics import MESSAGES_INGESTED
from tasktracker.models import Channel, ChannelKind, Issue, Message, MessageStatus
from tasktracker.unit_of_work import Effects, GroupCommit, UnitOfWork


def check_size(settings: Settings, content: str) -> None:
    """The one limit on a message's text (TASKTRACKER_MAX_MESSAGE_BYTES), wherever it comes in."""
    size = len(content.encode())
    if size > settings.max_message_bytes:
        raise Invalid(
            f"content is {size} bytes; the limit is {settings.max_message_bytes} (TASKTRACKER_MAX_MESSAGE_BYTES)",
            code="content_too_long",
        )


async def ingest(
    uow: UnitOfWork,
    settings: Settings,
    data: MessageIn,
    *,
    kind: str = ChannelKind.api,
    channel: Channel | None = None,
) -> tuple[Message, Channel, bool]:
    """Store one message unless its (channel, external id) is already known.

    A new message is announced (`message.received`) and queued for classification once the unit
    commits; a repeat queues nothing.
    """
    check_size(settings, data.content)
    return await _ingest(uow, data, kind, channel)


async def ingest_batch(uow: UnitOfWork, settings: Settings, items: Sequence[MessageIn]) -> BatchResult:
    """Store a batch all or nothing: every item is checked before the first is stored."""
    if not items:
        raise Invalid("a batch needs at least one message", code="empty_batch")
    if len(items) > settings.max_batch:
        raise Invalid(
            f"a batch holds at most {settings.max_batch} messages; got {len(items)}", code="batch_too_large"
        )
    for index, item in enumerate(items):
        try:
            check_size(settings, item.content)
        except Invalid as exc:
            raise Invalid(f"messages[{index}]: {exc.detail}", code=exc.code) from None
    outcomes = await store_group(uow, list(items))
    for outcome in outcomes:
        if isinstance(outcome, Exception):  # all or nothing: the unit is rolled back
            raise outcome
    stored = [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
    created = sum(new for _, _, new in stored)
    # Each message with the channel it was stored under; only a repeat can have a classification.
    issues = await repository.latest_issues(uow.session, [m.id for m, _, new in stored if not new and m.id])
    channels = {channel.name: channel for _, channel, _ in stored}
    refs = {name: ChannelRef.model_validate(channel) for name, channel in channels.items()}  # one each
    data = [
        to_public(m, channel, issues.get(m.id) if m.id else None, refs[channel.name])
        for m, channel, _ in stored
    ]
    announce(uow, stored, data)
    return BatchResult(created=created, existing=len(stored) - created, data=data)


Stored = tuple[Message, Channel, bool]


async def ingest_rest(
    intake: GroupCommit[MessageIn, Stored] | None, uow: UnitOfWork, settings: Settings, data: MessageIn
) -> Stored:
    """`POST /api/messages`: through the group commit when the process has one (PostgreSQL), so
    concurrent requests share one INSERT and one commit; else in the request's own unit."""
    if intake is None:
        check_size(settings, data.content)
        return await _ingest(uow, data, ChannelKind.api, None)
    stored = await ingest_grouped(intake, settings, data)
    announce(uow, [stored])  # the request's own unit sends them (it has nothing to commit)
    return stored


async def ingest_grouped(
    intake: GroupCommit[MessageIn, Stored], settings: Settings, data: MessageIn
) -> Stored:
    """Store one message through the process's group commit: committed once this returns. Nothing is
    announced: the caller passes the result to `announce` on what sends its effects."""
    check_size(settings, data.content)
    with telemetry.span("messages.ingest") as span:
        stored = await intake.submit(data)
        _annotate(span, *stored)
    return stored


async def store_group(uow: UnitOfWork, items: list[MessageIn]) -> list[Stored | Exception]:
    """Store REST messages together: one channel lookup per name (cached), one multi-row INSERT, one
    SELECT for repeats. An item naming a disabled channel gets a `Conflict` and nothing is stored for
    it; the others are. Nothing is announced here: see `announce`."""
    session = uow.session
    with telemetry.span("messages.store", {"messages.count": len(items)}):
        channels: dict[str, Channel | Exception] = {}
        for name in dict.fromkeys(item.channel for item in items):
            channel = await channels_service.for_ingest(session, kind=ChannelKind.api, name=name)
            channels[name] = (
                channel
                if channels_service.accepts_messages(channel)
                else Conflict(
                    f"channel {channel.name!r} is disabled; enable it with PATCH /api/channels/{channel.id}",
                    code="channel_disabled",
                )
            )
        now = utcnow()
        rows = []
        for item in items:
            found = channels[item.channel]
            if not isinstance(found, Exception):
                rows.append(_row(found, item, now))
        stored = iter(await repository.insert_many(session, rows, direct=uow.direct))
    results: list[Stored | Exception] = []
    for item in items:
        found = channels[item.channel]
        if isinstance(found, Exception):
            results.append(found)
        else:
            message, created = next(stored)
            results.append((message, found, created))
    return results


def announce(uow: Effects, stored: Sequence[Stored], public: Sequence[MessagePublic] | None = None) -> None:
    """Queue on `uow` what follows the commit of stored messages: for each new one a `message.received`
    event and its classification job, and the ingestion counter. `public`: the messages as answered
    already, in the same order (made here otherwise)."""
    created_by_kind: dict[str, int] = {}
    new_ids: list[int] = []
    for index, (message, channel, created) in enumerate(stored):
        if created:
            assert message.id is not None
            shown = public[index] if public is not None else to_public(message, channel, None)
            uow.queue_event(events.message_received(shown))
            new_ids.append(message.id)
            created_by_kind[channel.kind] = created_by_kind.get(channel.kind, 0) + 1
    uow.queue_classification(new_ids)
    for kind, count in created_by_kind.items():
        uow.after_commit(_counter(kind, count))


def _row(channel: Channel, data: MessageIn, now: datetime) -> dict[str, Any]:
    return {
        "channel_id": channel.id,
        "external_id": data.external_id or uuid4().hex,
        "thread_external_id": data.thread_external_id,
        "author": data.author,
        "content": data.content,
        "sent_at": data.sent_at or now,
        "received_at": now,
        "updated_at": now,
        "status": "received",
        "attempts": 0,
        "meta": data.meta,
    }


async def _ingest(
    uow: UnitOfWork, data: MessageIn, kind: str, channel: Channel | None
) -> tuple[Message, Channel, bool]:
    with telemetry.span("messages.ingest") as span:
        message, channel, created = await _store(uow.session, data, kind, channel)
        _annotate(span, message, channel, created)
    if created:
        assert message.id is not None
        uow.queue_event(events.message_received(to_public(message, channel, None)))  # new: no issue yet
        uow.queue_classification([message.id])
        uow.after_commit(_counter(channel.kind))
    return message, channel, created


def _annotate(span: Any, message: Message, channel: Channel, created: bool) -> None:
    if span.is_recording():
        assert message.id is not None  # read back from the table
        span.set_attributes(
            {
                "message.id": message.id,
                "message.channel": channel.name,
                "message.channel_kind": channel.kind,
                "message.created": created,
            }
        )


async def _store(
    session: AsyncSession, data: MessageIn, kind: str, channel: Channel | None
) -> tuple[Message, Channel, bool]:
    if channel is None:
        channel = await channels_service.for_ingest(session, kind=kind, name=data.channel)
        # An adapter that passes its channel has checked it already, to answer in its own way.
        if not channels_service.accepts_messages(channel):
            raise Conflict(
                f"channel {channel.name!r} is disabled; enable it with PATCH /api/channels/{channel.id}",
                code="channel_disabled",
            )
    message, created = await repository.insert(session, _row(channel, data, utcnow()))
    return message, channel, created


def issue_to_classification(issue: Issue) -> Classification:
    return Classification.model_validate(issue, from_attributes=True)


def to_public(
    message: Message, channel: Channel, issue: Issue | None, ref: ChannelRef | None = None
) -> MessagePublic:
    """`ref`: the channel as answered, made once for the many messages of a batch."""
    return MessagePublic(
        id=message.id,
        channel=ref or ChannelRef.model_validate(channel),
        external_id=message.external_id,
        thread_external_id=message.thread_external_id,
        author=message.author,
        content=message.content,
        sent_at=message.sent_at,
        received_at=message.received_at,
        status=message.status,
        task_id=message.task_id,
        classification=issue_to_classification(issue) if issue else None,
    )


async def publics(session: AsyncSession, messages: Sequence[Message]) -> list[MessagePublic]:
    ids = [m.id for m in messages if m.id is not None]
    issues = await repository.latest_issues(session, ids)
    chans = await channels_service.by_ids(session, {m.channel_id for m in messages})
    return [
        to_public(m, chans[m.channel_id], issues.get(m.id) if m.id is not None else None) for m in messages
    ]


async def public(session: AsyncSession, message: Message) -> MessagePublic:
    return (await publics(session, [message]))[0]


async def get(session: AsyncSession, message_id: int) -> Message | None:
    return await repository.get(session, message_id)


async def detail(session: AsyncSession, message_id: int) -> MessageDetail:
    message = await repository.get(session, message_id)
    if message is None:
        raise NotFound(f"message {message_id} not found")
    base = await public(session, message)
    issues = await repository.issues_for(session, [message_id])
    return MessageDetail(**base.model_dump(), issues=[IssuePublic.model_validate(i) for i in issues])


async def list_messages(
    session: AsyncSession, filters: repository.MessageFilters, limit: int, cursor: str | None
) -> tuple[list[MessagePublic], str | None]:
    rows, next_cursor = await repository.list_page(session, filters, limit, cursor)
    return await publics(session, rows), next_cursor


def _counter(kind: str, n: int = 1) -> Callable[[], Awaitable[None]]:
    async def count() -> None:  # once committed: a rolled-back message was never ingested
        MESSAGES_INGESTED.labels(kind).inc(n)

    return count


async def retry(uow: UnitOfWork, message_id: int) -> MessagePublic:
    """Give a message that failed every attempt a fresh set of attempts and queue it again (a dead
    letter retried)."""
    session = uow.session
    if not await repository.retry_failed(session, message_id):
        message = await repository.get(session, message_id)
        if message is None:
            raise NotFound(f"message {message_id} not found")
        raise Conflict(
            f"message {message_id} is {message.status}, not failed: only failed messages are retried",
            code="not_failed",
        )
    message = await repository.get(session, message_id)
    assert message is not None
    await session.refresh(message)
    uow.queue_classification([message_id])
    return await public(session, message)


# A task's messages ---------------------------------------------------------------------------------------


async def of_task(session: AsyncSession, task_id: int) -> tuple[list[MessagePublic], list[IssuePublic]]:
    """A task's messages, oldest first, and every classification run of them."""
    messages = await repository.for_task(session, task_id)
    issues = await repository.issues_for(session, [m.id for m in messages if m.id is not None])
    return await publics(session, messages), [IssuePublic.model_validate(i) for i in issues]


async def move_to_task(session: AsyncSession, from_task_id: int, to_task_id: int) -> list[int]:
    """Re-home one task's messages on another; returns the ids moved."""
    moved = [m.id for m in await repository.for_task(session, from_task_id) if m.id is not None]
    await repository.attach_to_task(session, moved, to_task_id)
    return moved


async def count_for_task(session: AsyncSession, task_id: int) -> int:
    return await repository.count_for_task(session, task_id)


# The classification job's claim on a message --------------------------------------------------------------


async def claim(session: AsyncSession, message_id: int, stale_before: datetime) -> Message | None:
    """Take a message for classification (see `repository.claim`); None when it is not to be taken."""
    return await repository.claim(session, message_id, stale_before)


async def mark_failed(session: AsyncSession, message_id: int) -> None:
    await repository.set_status(session, message_id, MessageStatus.failed)


async def finish(session: AsyncSession, message_id: int, task_id: int | None, category: str) -> bool:
    """Mark classified exactly once, with the category it was given; True for the run that flipped the
    status (it owns the side effects)."""
    return await repository.finish(session, message_id, task_id, category)


Claimed = repository.Claimed  # a message as a batch's claim took it


async def claim_many(
    session: AsyncSession, message_ids: Sequence[int], stale_before: datetime
) -> list[Claimed]:
    """`claim` for a batch of messages in one statement; the ones taken (id, attempts, content)."""
    return await repository.claim_many(session, message_ids, stale_before)


async def mark_failed_many(session: AsyncSession, message_ids: Sequence[int]) -> None:
    await repository.set_status_many(session, message_ids, MessageStatus.failed)


async def finish_many(session: AsyncSession, message_ids: Sequence[int]) -> list[Message]:
    """`finish` for a batch: the messages this run flipped to classified, detached; write their category
    and task id with `set_results_many` in the same unit."""
    return await repository.finish_many(session, message_ids)


async def insert_issues(session: AsyncSession, issues: Sequence[Issue]) -> None:
    """Store classification runs of messages `finish_many` flipped, in one statement; sets their ids."""
    await repository.insert_issues(session, issues)


async def set_results_many(
    session: AsyncSession,
    results: Sequence[tuple[int, str | None, int | None]],
    finished_at: datetime | None = None,
) -> None:
    """(message id, category, task id) of messages `finish_many` flipped, in one statement; with
    `finished_at`, of messages the caller's unit claimed, flipped to classified by this statement."""
    await repository.set_results_many(session, results, finished_at)


async def requeue_stuck(
    session: AsyncSession, received_before: datetime, classifying_before: datetime
) -> list[int]:
    """Put back to `received` the messages never taken since `received_before` or claimed before
    `classifying_before`; returns their ids."""
    ids = await repository.stuck(
        session, received_before=received_before, classifying_before=classifying_before
    )
    await repository.requeue(session, ids)
    return ids
