"""REST adapters for messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from tasktracker.api.deps import RuntimeDep, SessionDep, SettingsDep
from tasktracker.api.params import ChannelNames, Cursor, IdPath, IdQuery, Limit, SearchQuery, channel_ids
from tasktracker.classification.schemas import Category
from tasktracker.errors import Invalid
from tasktracker.messages import intake, repository, service
from tasktracker.messages.schemas import (
    BatchResult,
    MessageBatchIn,
    MessageDetail,
    MessageIn,
    MessagePublic,
    MessagesPublic,
)
from tasktracker.models import MessageStatus

router = APIRouter(prefix="/api/messages", tags=["messages"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": MessagePublic, "description": "Already known: the stored message."},
        409: {"description": "The channel is disabled (`channel_disabled`): nothing stored."},
    },
)
async def post_message(
    data: MessageIn, response: Response, session: SessionDep, runtime: RuntimeDep
) -> MessagePublic:
    """Store one message durably and queue its classification (202); a repeat answers 200 with the stored one."""
    message, channel, created = await service.ingest(session, runtime.settings, data)
    await session.commit()
    # A new message has no classification yet: no need to look one up.
    public = service.to_public(message, channel, None) if created else await service.public(session, message)
    if created:
        await intake.announce(runtime, [public])
    else:
        response.status_code = status.HTTP_200_OK
    return public


async def _post_batch(
    body: MessageBatchIn | list[MessageIn], session: SessionDep, runtime: RuntimeDep, settings: SettingsDep
) -> BatchResult:
    items = body.messages if isinstance(body, MessageBatchIn) else body
    if not items:
        raise Invalid("a batch needs at least one message", code="empty_batch")
    if len(items) > settings.max_batch:
        raise Invalid(
            f"a batch holds at most {settings.max_batch} messages; got {len(items)}", code="batch_too_large"
        )
    for index, item in enumerate(items):
        try:
            service.validate_size(settings, item)
        except Invalid as exc:
            raise Invalid(f"messages[{index}]: {exc.detail}", code=exc.code) from None
    stored = []
    new_ids = []
    for item in items:
        message, _, created = await service.ingest(session, settings, item)
        stored.append(message)
        if created:
            new_ids.append(message.id)
    await session.commit()
    publics = await service.publics(session, stored)
    await intake.announce(runtime, [p for p in publics if p.id in new_ids])
    return BatchResult(created=len(new_ids), existing=len(stored) - len(new_ids), data=publics)


BatchBody = Annotated[
    MessageBatchIn | list[MessageIn], Body(description='`{"messages": [...]}` or a bare list.')
]


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "A channel is disabled (`channel_disabled`): nothing stored."}},
)
async def post_batch(
    body: BatchBody, session: SessionDep, runtime: RuntimeDep, settings: SettingsDep
) -> BatchResult:
    """Store up to `TASKTRACKER_MAX_BATCH` (500) messages at once, idempotently."""
    return await _post_batch(body, session, runtime, settings)


@router.post(":batch", status_code=status.HTTP_202_ACCEPTED, include_in_schema=False)
async def post_batch_colon(
    body: BatchBody, session: SessionDep, runtime: RuntimeDep, settings: SettingsDep
) -> BatchResult:
    return await _post_batch(body, session, runtime, settings)


@router.get("")
async def list_messages(
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: SearchQuery = None,
    status_: Annotated[list[MessageStatus], Query(alias="status")] = [],  # noqa: B006
    category: Annotated[list[Category], Query()] = [],  # noqa: B006
    channel: ChannelNames = [],  # noqa: B006
    task_id: IdQuery = None,
) -> MessagesPublic:
    """Messages, newest first, with their latest classification."""
    ids = await channel_ids(session, channel)
    if ids is None:
        return MessagesPublic(data=[], next_cursor=None)
    filters = repository.MessageFilters(
        status=[s.value for s in status_],
        category=[c.value for c in category],
        channel_ids=ids,
        task_id=task_id,
        q=q,
    )
    data, next_cursor = await service.list_messages(session, filters, limit, cursor)
    return MessagesPublic(data=data, next_cursor=next_cursor)


@router.get("/{message_id}")
async def get_message(message_id: IdPath, session: SessionDep) -> MessageDetail:
    """One message with its whole classification history."""
    return await service.detail(session, message_id)
