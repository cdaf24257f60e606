"""Ingesting messages: store durably first; the announcement and the classification job follow the commit."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker import telemetry
from tasktracker.channels import repository as channels
from tasktracker.channels.schemas import ChannelRef
from tasktracker.classification.schemas import Classification
from tasktracker.config import Settings
from tasktracker.db import utcnow
from tasktracker.errors import Conflict, Invalid, NotFound
from tasktracker.events import schemas as events
from tasktracker.messages import repository
from tasktracker.messages.schemas import BatchResult, IssuePublic, MessageDetail, MessageIn, MessagePublic
from tasktracker.models import Channel, ChannelKind, Issue, Message
from tasktracker.unit_of_work import UnitOfWork


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
    stored = [await _ingest(uow, item, ChannelKind.api, None) for item in items]
    created = sum(new for _, _, new in stored)
    data = await publics(uow.session, [message for message, _, _ in stored])
    return BatchResult(created=created, existing=len(stored) - created, data=data)


async def _ingest(
    uow: UnitOfWork, data: MessageIn, kind: str, channel: Channel | None
) -> tuple[Message, Channel, bool]:
    with telemetry.span("messages.ingest") as span:
        message, channel, created = await _store(uow.session, data, kind, channel)
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
    if created:
        assert message.id is not None
        uow.queue_event(events.message_received(to_public(message, channel, None)))  # new: no issue yet
        uow.queue_classification([message.id])
    return message, channel, created


async def _store(
    session: AsyncSession, data: MessageIn, kind: str, channel: Channel | None
) -> tuple[Message, Channel, bool]:
    if channel is None:
        channel = await channels.get_or_create(session, kind=kind, name=data.channel)
        if not channel.enabled:  # adapters that pass their channel have checked it themselves
            raise Conflict(
                f"channel {channel.name!r} is disabled; enable it with PATCH /api/channels/{channel.id}",
                code="channel_disabled",
            )
    now = utcnow()
    values = {
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
    message, created = await repository.insert(session, values)
    return message, channel, created


def issue_to_classification(issue: Issue) -> Classification:
    return Classification.model_validate(issue, from_attributes=True)


def to_public(message: Message, channel: Channel, issue: Issue | None) -> MessagePublic:
    return MessagePublic(
        id=message.id,
        channel=ChannelRef.model_validate(channel),
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
    chans = await channels.by_ids(session, {m.channel_id for m in messages})
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
