"""Channel logic: CRUD, routing defaults, muting, and whether a channel takes messages."""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.channels import repository
from tasktracker.channels.schemas import (
    GENERIC_KINDS,
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    RoutingDefaults,
)
from tasktracker.crypto import SecretBox, SecretUnreadable
from tasktracker.errors import Conflict, NotFound, Unavailable
from tasktracker.fields import MAX_ID
from tasktracker.models import Channel

log = logging.getLogger(__name__)

# Reading -----------------------------------------------------------------------------------------------


def routing_defaults_of(channel: Channel) -> RoutingDefaults:
    try:
        return RoutingDefaults.model_validate(channel.settings.get("defaults") or {})
    except ValidationError:  # hand-edited JSON must not break task creation
        return RoutingDefaults()


def is_muted(channel: Channel) -> bool:
    return bool(channel.settings.get("muted", False))


def accepts_messages(channel: Channel) -> bool:
    """The one rule for a disabled channel: it stores nothing, and the bot neither reads nor replies there.

    Each path answers in its own way: REST 409 `channel_disabled`, a webhook 202 `ignored`, the bot silence.
    """
    return channel.enabled


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


async def by_ids(session: AsyncSession, ids: set[int]) -> dict[int, Channel]:
    return await repository.by_ids(session, ids)


async def generic_channel(session: AsyncSession, name: str) -> Channel:
    channel = await repository.get_by_name(session, name)
    if channel is None or channel.kind not in GENERIC_KINDS:
        kinds = " or ".join(sorted(GENERIC_KINDS))
        raise NotFound(f"no {kinds} channel named {name!r}", code="unknown_channel")
    return channel


async def routing_defaults(session: AsyncSession, channel_id: int) -> RoutingDefaults:
    """Assignee and labels for a task made from a message of this channel."""
    channel = await cached(session, channel_id)
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


def signing_secret(channel: Channel, box: SecretBox) -> str | None:
    """The channel's secret in clear, to verify a signature with; never logged, never returned."""
    if not channel.secret:
        return None
    try:
        return box.open(channel.secret)
    except SecretUnreadable as exc:
        log.error("channel %s: %s", channel.name, exc)
        raise Unavailable(
            "this channel's secret cannot be read with the configured keys; try again later",
            code="secret_unreadable",
        ) from None


async def reseal_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Encrypt every stored channel secret with the current key (after a key rotation); returns how
    many were rewritten. Raises SecretUnreadable, changing nothing, if one cannot be decrypted."""
    channels = [channel for channel in await repository.list_all(session) if channel.secret]
    for channel in channels:
        assert channel.secret is not None
        channel.secret = box.reseal(channel.secret)
    await session.flush()
    return len(channels)


async def _flush(session: AsyncSession, channel: Channel) -> Channel:
    try:
        return await repository.add(session, channel)
    except IntegrityError:  # lost a race with a concurrent create
        raise Conflict(
            "a channel with this name or external id exists already", code="channel_taken"
        ) from None


async def create(session: AsyncSession, data: ChannelCreate, box: SecretBox) -> Channel:
    await _check_free(session, data.name, data.kind, data.external_id, None)
    channel = Channel(
        kind=data.kind,
        name=data.name,
        external_id=data.external_id,
        enabled=data.enabled,
        secret=box.seal(data.secret.get_secret_value()) if data.secret else None,
        settings={"defaults": data.defaults.model_dump()},
    )
    forget_cached(session)
    return await _flush(session, channel)


async def get_or_create(session: AsyncSession, *, kind: str, name: str) -> Channel:
    """The channel of that name, made (enabled, no settings) on first use."""
    return await repository.get_or_create(session, kind=kind, name=name)


# The channels REST ingest names, cached per database and process ------------------------------------------

CACHE_TTL_S = 2.0


class ChannelCache:
    """Channels by name, so an ingested message costs no channel lookup (a round trip per message).

    Only channels found committed are cached (a channel created by a transaction that may still roll
    back never is), as detached copies no session owns. A change made through this process drops the
    cache at once; one made through another process (another API replica) is seen within
    `CACHE_TTL_S`: for that long a replica may still take messages for a channel just disabled there.
    """

    def __init__(self, ttl_s: float | None = None) -> None:
        self.ttl_s = CACHE_TTL_S if ttl_s is None else ttl_s
        self._entries: dict[str | int, tuple[float, Channel]] = {}

    def get(self, key: str | int) -> Channel | None:
        """By name (str) or id (int)."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            return None
        return entry[1]

    def put(self, channel: Channel) -> None:
        columns: dict[str, Any] = {c: getattr(channel, c) for c in Channel.model_fields}
        entry = (time.monotonic(), Channel(**columns))
        self._entries[channel.name] = entry
        if channel.id is not None:
            self._entries[channel.id] = entry

    def clear(self) -> None:
        self._entries.clear()


_caches: weakref.WeakKeyDictionary[Any, ChannelCache] = weakref.WeakKeyDictionary()


def cache_of(session: AsyncSession) -> ChannelCache:
    """The cache of the database this session talks to (one per engine: tests run many in a process).
    Kept by the engine's pool, which an engine shares with its variants (`db.Autocommit`'s sessions)."""
    bind = session.sync_session.get_bind()
    pool = (bind.engine if isinstance(bind, Connection) else bind).pool
    cache = _caches.get(pool)
    if cache is None:
        cache = _caches[pool] = ChannelCache()
    return cache


async def cached(session: AsyncSession, channel_id: int) -> Channel | None:
    """A channel by id for reading (the worker's routing defaults and events), from the cache when
    it is known: a shared detached copy, never to be changed."""
    cache = cache_of(session)
    channel = cache.get(channel_id)
    if channel is None:
        channel = await repository.get(session, channel_id)
        if channel is not None:
            cache.put(channel)
    return channel


def forget_cached(session: AsyncSession) -> None:
    cache_of(session).clear()


async def for_ingest(session: AsyncSession, *, kind: str, name: str) -> Channel:
    """The channel a REST message names, made on first use; from the cache when it is known.

    The returned object may be a detached copy shared between requests: read it, never change it.
    """
    cache = cache_of(session)
    channel = cache.get(name)
    if channel is not None:
        return channel
    existing = await repository.get_by_name(session, name)
    if existing is not None:
        cache.put(existing)
        return existing
    return await repository.get_or_create(session, kind=kind, name=name)


async def update(session: AsyncSession, channel_id: int, data: ChannelUpdate, box: SecretBox) -> Channel:
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
        channel.secret = box.seal(data.secret.get_secret_value()) if data.secret else None
    settings = dict(channel.settings)
    if data.defaults is not None:
        settings["defaults"] = data.defaults.model_dump()
    if data.muted is not None:
        settings["muted"] = data.muted
    channel.settings = settings  # a new dict, so the JSON column is written
    forget_cached(session)
    return await _flush(session, channel)


async def delete(session: AsyncSession, channel_id: int) -> None:
    channel = await get_or_404(session, channel_id)
    count = await repository.count_messages(session, channel_id)
    if count:
        raise Conflict(
            f"channel {channel.name!r} has {count} message(s); disable it instead",
            code="channel_has_messages",
        )
    forget_cached(session)
    await repository.delete(session, channel)


async def set_muted(session: AsyncSession, channel: Channel, muted: bool) -> bool:
    """Mute or unmute; returns whether anything changed."""
    if is_muted(channel) == muted:
        return False
    channel.settings = {**channel.settings, "muted": muted}
    forget_cached(session)
    await session.flush()
    return True
