"""Storing what the webhooks deliver: a signed generic message, a Slack message event."""

from __future__ import annotations

import hashlib

from pydantic import ValidationError

from tasktracker.channels import receipts, repository, slack
from tasktracker.channels import service as channels_service
from tasktracker.channels.schemas import GenericMessageIn, WebhookResult, WebhookStatus, json_object
from tasktracker.config import Settings
from tasktracker.errors import invalid
from tasktracker.messages import service as messages_service
from tasktracker.messages.schemas import MessageIn
from tasktracker.models import Channel, ChannelKind, Message
from tasktracker.unit_of_work import UnitOfWork

SLACK_SOURCE = "slack"


def _stored(message: Message, created: bool, channel: Channel) -> WebhookResult:
    status = WebhookStatus.stored if created else WebhookStatus.duplicate
    return WebhookResult(status=status, message_id=message.id, channel=channel.name)


def disabled_result(channel: Channel) -> WebhookResult:
    return WebhookResult(
        status=WebhookStatus.ignored,
        reason="channel_disabled",
        detail=f"channel {channel.name!r} is disabled; nothing was stored",
        channel=channel.name,
    )


async def receive_generic(
    uow: UnitOfWork, settings: Settings, channel: Channel, body: bytes
) -> WebhookResult:
    """Store a signed message. Without an id the body's hash is the id, so a resent body is a duplicate.

    A disabled channel stores nothing and is told so, whatever the body holds."""
    if not channels_service.accepts_messages(channel):
        return disabled_result(channel)
    try:
        data = GenericMessageIn.model_validate(json_object(body))
    except ValidationError as exc:
        raise invalid(exc) from None
    external_id = data.external_id or "sha256:" + hashlib.sha256(body).hexdigest()[:40]
    message_in = MessageIn(
        content=data.text,
        author=data.author,
        external_id=external_id,
        sent_at=data.sent_at,
        thread_external_id=data.thread_external_id,
        meta={**data.meta, "source": channel.kind},
    )
    message, _, created = await messages_service.ingest(uow, settings, message_in, channel=channel)
    return _stored(message, created, channel)


async def receive_slack(uow: UnitOfWork, settings: Settings, envelope: slack.Envelope) -> WebhookResult:
    """Store a Slack message event once per event id; bot and edit noise is acknowledged and dropped."""
    if not await receipts.claim(uow.session, SLACK_SOURCE, envelope.event_id or ""):
        return WebhookResult(status=WebhookStatus.duplicate, detail=f"event {envelope.event_id} was handled")
    parsed = slack.message_of(envelope)
    if isinstance(parsed, slack.Ignored):
        return WebhookResult(status=WebhookStatus.ignored, reason=parsed.reason, detail=parsed.detail)
    channel = await repository.get_or_create_external(
        uow.session,
        kind=ChannelKind.slack,
        external_id=parsed.channel_key,
        name=f"slack:{parsed.channel_id}",
        settings={"team_id": parsed.team_id},
    )
    if not channels_service.accepts_messages(channel):
        return disabled_result(channel)
    message, _, created = await messages_service.ingest(
        uow, settings, parsed.to_message_in(settings.max_message_bytes), channel=channel
    )
    return _stored(message, created, channel)
