"""REST adapters for messages."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response, status
from pydantic import ValidationError

from tasktracker.api.access import RULES, EditorDep
from tasktracker.api.deps import IntakeDep, SessionDep, SettingsDep, UnitOfWorkDep
from tasktracker.api.lean import LeanRoute, json_response, lean, sub_response
from tasktracker.api.params import ChannelNames, Cursor, IdPath, IdQuery, Limit, SearchQuery
from tasktracker.api.rate_limit import RateLimitsDep
from tasktracker.channels.service import resolve_ids as channel_ids
from tasktracker.classification.schemas import Category
from tasktracker.messages import repository, service
from tasktracker.messages.schemas import (
    BatchResult,
    MessageBatchIn,
    MessageDetail,
    MessageIn,
    MessagePublic,
    MessagesPublic,
)
from tasktracker.models import MessageStatus
from tasktracker.models.user import Role as UserRole
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import effects_of_committed, unit_of_work

router = APIRouter(prefix="/api/messages", tags=["messages"], route_class=LeanRoute)

RATE_LIMITED = {
    "description": "Over the API token's message rate (`rate_limited`, TASKTRACKER_RATE_LIMIT_INGEST_*): "
    "nothing stored; retry after `Retry-After` seconds."
}


async def lean_post_message(request: Request) -> Response | None:
    """`post_message` without FastAPI's machinery (`api/lean.py`), for the process with a group commit.
    Declines (None) before doing anything when the body is not a valid message in JSON: the full
    handler then answers with FastAPI's own 422."""
    intake = getattr(request.app.state, "intake", None)
    if intake is None or request.headers.get("content-type") != "application/json":
        return None
    try:  # as FastAPI reads a JSON body: json.loads, then the model (from_attributes, as it does)
        data = MessageIn.model_validate(json.loads(await request.body()), from_attributes=True)
    except (ValueError, ValidationError):
        return None
    sub = sub_response()
    await RULES[UserRole.editor](request, sub)  # implies the router's viewer rule
    runtime: Runtime = request.app.state.runtime
    request.app.state.rate_limits.check_ingest(request)
    message, channel, created = await service.ingest_grouped(intake, runtime.settings, data)
    async with effects_of_committed(runtime) as effects:
        service.announce(effects, [(message, channel, created)])
    if created:  # a new message has no classification yet: no need to look one up
        public = service.to_public(message, channel, None)
        return json_response(public.model_dump_json().encode(), status.HTTP_202_ACCEPTED, sub)
    async with unit_of_work(runtime) as uow:
        public = await service.public(uow.session, message)
    return json_response(public.model_dump_json().encode(), status.HTTP_200_OK, sub)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": MessagePublic, "description": "Already known: the stored message."},
        409: {"description": "The channel is disabled (`channel_disabled`): nothing stored."},
        429: RATE_LIMITED,
    },
)
@lean(lean_post_message)
async def post_message(
    _: EditorDep,
    data: MessageIn,
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
    intake: IntakeDep,
) -> MessagePublic:
    """Store one message durably and queue its classification (202); a repeat answers 200 with the stored one."""
    limits.check_ingest(request)
    message, channel, created = await service.ingest_rest(intake, uow, settings, data)
    if created:  # a new message has no classification yet: no need to look one up
        return service.to_public(message, channel, None)
    response.status_code = status.HTTP_200_OK
    return await service.public(uow.session, message)


BatchBody = Annotated[
    MessageBatchIn | list[MessageIn], Body(description='`{"messages": [...]}` or a bare list.')
]


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "A channel is disabled (`channel_disabled`): nothing stored."},
        429: RATE_LIMITED,
    },
)
@router.post(":batch", status_code=status.HTTP_202_ACCEPTED, include_in_schema=False)  # the AIP-136 spelling
async def post_batch(
    _: EditorDep,
    body: BatchBody,
    request: Request,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
) -> BatchResult:
    """Store up to `TASKTRACKER_MAX_BATCH` (500) messages at once, idempotently. For the rate limit each
    message counts."""
    items = _items(body)
    limits.check_ingest(request, len(items))
    return await service.ingest_batch(uow, settings, items)


def _items(body: MessageBatchIn | list[MessageIn]) -> list[MessageIn]:
    return body.messages if isinstance(body, MessageBatchIn) else body


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


@router.post(
    "/{message_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: {"description": "No such message."},
        409: {"description": "The message has not failed (`not_failed`)."},
    },
)
async def retry_message(_: EditorDep, message_id: IdPath, uow: UnitOfWorkDep) -> MessagePublic:
    """Retry a dead letter: a message that failed every classification attempt gets a fresh set of
    attempts and is queued again (202). List them with `GET /api/messages?status=failed`."""
    return await service.retry(uow, message_id)
