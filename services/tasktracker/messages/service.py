"""Ingesting messages: store durably first, everything else happens after the commit."""

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
from tasktracker.messages import repository
from tasktracker.messages.schemas import IssuePublic, MessageDetail, MessageIn, MessagePublic
from tasktracker.models import Channel, ChannelKind, Issue, Message


def validate_size(settings: Settings, data: MessageIn) -> None:
    size = len(data.content.encode())
    if size > settings.max_message_bytes:
        raise Invalid(
            f"content is {size} bytes; the limit is {settings.max_message_bytes} (TASKTRACKER_MAX_MESSAGE_BYTES)",
            code="content_too_long",
        )


async def ingest(
    session: AsyncSession,
    settings: Settings,
    data: MessageIn,
    *,
    kind: str = ChannelKind.api,
    channel: Channel | None = None,
) -> tuple[Message, Channel, bool]:
    """Store one message unless its (channel, external id) is already known. Does not commit."""
    with telemetry.span("messages.ingest") as span:
        message, channel, created = await _store(session, settings, data, kind, channel)
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
    return message, channel, created


async def _store(
    session: AsyncSession, settings: Settings, data: MessageIn, kind: str, channel: Channel | None
) -> tuple[Message, Channel, bool]:
    validate_size(settings, data)
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


async def retry(session: AsyncSession, message_id: int) -> MessagePublic:
    """Give a message that failed every attempt a fresh set of attempts (a dead letter retried)."""
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
    return await public(session, message)
