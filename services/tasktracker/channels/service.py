"""Channel logic: CRUD, routing defaults, muting, and storing what the webhooks deliver."""

from __future__ import annotations

import hashlib

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.channels import receipts, repository, slack
from tasktracker.channels.schemas import (
    GENERIC_KINDS,
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    GenericMessageIn,
    RoutingDefaults,
    WebhookResult,
    WebhookStatus,
    json_object,
)
from tasktracker.config import Settings
from tasktracker.errors import Conflict, NotFound, invalid
from tasktracker.fields import MAX_ID
from tasktracker.messages import service as messages_service
from tasktracker.messages.schemas import MessageIn
from tasktracker.models import Channel, ChannelKind, Message
from tasktracker.unit_of_work import UnitOfWork

SLACK_SOURCE = "slack"


# Reading -----------------------------------------------------------------------------------------------


def routing_defaults_of(channel: Channel) -> RoutingDefaults:
    try:
        return RoutingDefaults.model_validate(channel.settings.get("defaults") or {})
    except ValidationError:  # hand-edited JSON must not break task creation
        return RoutingDefaults()


def is_muted(channel: Channel) -> bool:
    return bool(channel.settings.get("muted", False))


def to_public(channel: Channel) -> ChannelPublic:
    return ChannelPublic(
        id=channel.id,
        kind=channel.kind,
        name=channel.name,
        enabled=channel.enabled,
        external_id=channel.external_id,
        has_secret=bool(channel.secret),
        muted=is_muted(channel),
        title=channel.settings.get("title"),
        defaults=routing_defaults_of(channel),
        created_at=channel.created_at,
    )


async def list_channels(session: AsyncSession) -> list[ChannelPublic]:
    return [to_public(c) for c in await repository.list_all(session)]


async def resolve_ids(session: AsyncSession, names: list[str]) -> list[int] | None:
    """Resolve channel names or ids. None means: a named channel does not exist, so nothing matches."""
    if not names:
        return []
    by_name = {c.name: c.id for c in await repository.list_all(session) if c.id is not None}
    ids: list[int] = []
    for name in names:
        if name in by_name:
            ids.append(by_name[name])
        elif name.isascii() and name.isdigit() and len(name) <= 10 and 0 < int(name) <= MAX_ID:
            ids.append(int(name))
    return ids or None


async def get_or_404(session: AsyncSession, channel_id: int) -> Channel:
    channel = await repository.get(session, channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} not found", code="unknown_channel")
    return channel


async def get(session: AsyncSession, channel_id: int) -> Channel | None:
    return await repository.get(session, channel_id)


async def routing_defaults(session: AsyncSession, channel_id: int) -> RoutingDefaults:
    """Assignee and labels for a task made from a message of this channel."""
    channel = await repository.get(session, channel_id)
    return routing_defaults_of(channel) if channel is not None else RoutingDefaults()


# Writing -----------------------------------------------------------------------------------------------


async def _check_free(
    session: AsyncSession, name: str | None, kind: str, external_id: str | None, own_id: int | None
) -> None:
    if name is not None:
        taken = await repository.get_by_name(session, name)
        if taken is not None and taken.id != own_id:
            raise Conflict(f"a channel named {name!r} exists already", code="channel_name_taken")
    if external_id is not None:
        taken = await repository.get_by_external(session, kind, external_id)
        if taken is not None and taken.id != own_id:
            raise Conflict(
                f"{kind} channel {external_id!r} is already channel {taken.name!r}",
                code="channel_external_id_taken",
            )


async def _flush(session: AsyncSession, channel: Channel) -> Channel:
    try:
        return await repository.add(session, channel)
    except IntegrityError:  # lost a race with a concurrent create
        raise Conflict(
            "a channel with this name or external id exists already", code="channel_taken"
        ) from None


async def create(session: AsyncSession, data: ChannelCreate) -> Channel:
    await _check_free(session, data.name, data.kind, data.external_id, None)
    channel = Channel(
        kind=data.kind,
        name=data.name,
        external_id=data.external_id,
        enabled=data.enabled,
        secret=data.secret.get_secret_value() if data.secret else None,
        settings={"defaults": data.defaults.model_dump()},
    )
    return await _flush(session, channel)


async def update(session: AsyncSession, channel_id: int, data: ChannelUpdate) -> Channel:
    channel = await get_or_404(session, channel_id)
    given = data.model_fields_set
    await _check_free(
        session, data.name, channel.kind, data.external_id if "external_id" in given else None, channel.id
    )
    if data.name is not None:
        channel.name = data.name
    if "external_id" in given:
        channel.external_id = data.external_id
    if data.enabled is not None:
        channel.enabled = data.enabled
    if "secret" in given:
        if data.secret is None and channel.kind in GENERIC_KINDS:
            raise Conflict(f"a {channel.kind} channel cannot be without its secret", code="secret_required")
        channel.secret = data.secret.get_secret_value() if data.secret else None
    settings = dict(channel.settings)
    if data.defaults is not None:
        settings["defaults"] = data.defaults.model_dump()
    if data.muted is not None:
        settings["muted"] = data.muted
    channel.settings = settings  # a new dict, so the JSON column is written
    return await _flush(session, channel)


async def delete(session: AsyncSession, channel_id: int) -> None:
    channel = await get_or_404(session, channel_id)
    count = await repository.count_messages(session, channel_id)
    if count:
        raise Conflict(
            f"channel {channel.name!r} has {count} message(s); disable it instead",
            code="channel_has_messages",
        )
    await repository.delete(session, channel)


async def set_muted(session: AsyncSession, channel: Channel, muted: bool) -> bool:
    """Mute or unmute; returns whether anything changed."""
    if is_muted(channel) == muted:
        return False
    channel.settings = {**channel.settings, "muted": muted}
    await session.flush()
    return True


# Webhook deliveries ------------------------------------------------------------------------------------


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


async def generic_channel(session: AsyncSession, name: str) -> Channel:
    channel = await repository.get_by_name(session, name)
    if channel is None or channel.kind not in GENERIC_KINDS:
        kinds = " or ".join(sorted(GENERIC_KINDS))
        raise NotFound(f"no {kinds} channel named {name!r}", code="unknown_channel")
    return channel


async def receive_generic(
    uow: UnitOfWork, settings: Settings, channel: Channel, body: bytes
) -> WebhookResult:
    """Store a signed message. Without an id the body's hash is the id, so a resent body is a duplicate.

    A disabled channel stores nothing and is told so, whatever the body holds."""
    if not channel.enabled:
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
    if not channel.enabled:
        return disabled_result(channel)
    message, _, created = await messages_service.ingest(
        uow, settings, parsed.to_message_in(settings.max_message_bytes), channel=channel
    )
    return _stored(message, created, channel)
