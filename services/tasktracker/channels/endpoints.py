"""REST adapters for channels: `/api/channels` CRUD. Secrets go in and never come out."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from tasktracker.api.access import AdminDep
from tasktracker.api.deps import SessionDep, SettingsDep
from tasktracker.api.params import IdPath
from tasktracker.channels import service
from tasktracker.channels.schemas import ChannelCreate, ChannelPublic, ChannelsPublic, ChannelUpdate
from tasktracker.crypto import SecretBox

router = APIRouter(prefix="/api/channels", tags=["channels"])


@router.get("")
async def list_channels(session: SessionDep) -> ChannelsPublic:
    """Every channel, by name."""
    return ChannelsPublic(data=await service.list_channels(session))


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses={409: {"description": "Name or external id taken."}}
)
async def create_channel(
    _: AdminDep, data: ChannelCreate, session: SessionDep, settings: SettingsDep
) -> ChannelPublic:
    """Create a channel. `webhook` and `email` channels need a `secret` (their HMAC key)."""
    channel = await service.create(session, data, SecretBox.from_settings(settings))
    return service.to_public(channel)


@router.get("/{channel_id}")
async def get_channel(channel_id: IdPath, session: SessionDep) -> ChannelPublic:
    return service.to_public(await service.get_or_404(session, channel_id))


@router.patch("/{channel_id}", responses={409: {"description": "Name or external id taken."}})
async def update_channel(
    _: AdminDep, channel_id: IdPath, data: ChannelUpdate, session: SessionDep, settings: SettingsDep
) -> ChannelPublic:
    """Rename, enable or disable, mute, set or rotate the secret, change routing defaults."""
    channel = await service.update(session, channel_id, data, SecretBox.from_settings(settings))
    return service.to_public(channel)


@router.delete(
    "/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "The channel has messages: disable it instead."}},
)
async def delete_channel(_: AdminDep, channel_id: IdPath, session: SessionDep) -> Response:
    """Delete a channel that has no messages."""
    await service.delete(session, channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
