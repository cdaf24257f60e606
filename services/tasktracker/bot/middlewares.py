"""The update's unit of work, and the gate every chat message passes.

`UpdateUnit` wraps each update in one unit of work that starts by recording the update id: a retry of
an update that was committed does nothing, one that failed runs again. Only after the commit are the
new messages announced and queued and the bot's answers sent, so a failed update leaves no trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update
from opentelemetry.trace import SpanKind

from tasktracker import telemetry
from tasktracker.bot import texts
from tasktracker.bot.context import Work
from tasktracker.channels import service as channels_service
from tasktracker.channels import telegram
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
CHAT_TYPES = frozenset({"private", "group", "supergroup"})


class TraceUpdate(BaseMiddleware):
    """One span per update, so that its messages' ingestion, jobs and classification share a trace."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not telemetry.enabled():
            return await handler(event, data)
        assert isinstance(event, Update)
        with telemetry.span(
            "telegram.update", {"telegram.update_id": event.update_id}, kind=SpanKind.CONSUMER
        ):
            return await handler(event, data)


class UpdateUnit(BaseMiddleware):
    """Each update in one unit of work that starts by recording the update id."""

    def __init__(self, runtime: Runtime, source: str) -> None:
        self.runtime = runtime
        self.source = source  # update ids are per bot

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        async with unit_of_work(self.runtime) as uow:
            if not await telegram.claim_update(uow.session, self.source, event.update_id):
                uow.discard()
                log.info("update %s was handled before; ignoring the repeat", event.update_id)
                return None
            data["work"] = Work(
                uow=uow, bot=data["bot"], settings=self.runtime.settings, runtime=self.runtime
            )
            return await handler(event, data)


def sent_by_bot(message: Message) -> bool:
    """Bots are ignored. Someone writing as the group or as a channel (anonymous admin) is a person,
    though Telegram shows a helper bot as the sender; a channel post forwarded into its discussion
    group is not a message of the group."""
    if message.is_automatic_forward:
        return True
    if message.sender_chat is not None:
        return False
    return message.from_user is None or message.from_user.is_bot


def is_command(message: Message) -> bool:
    entities = message.entities or []
    return any(e.type == "bot_command" and e.offset == 0 for e in entities)


class ChatAccess(BaseMiddleware):
    """Lets through text from people in allowed chats, with the chat's channel in `channel`.

    Other chats are refused politely — on every command, and once for ordinary messages — and
    nothing of theirs is stored. Channel posts, bots and service messages are dropped silently.
    """

    def __init__(self, *, refuse: bool) -> None:
        self.refuse = refuse

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Message)
        work: Work = data["work"]
        chat = event.chat
        if chat.type not in CHAT_TYPES or sent_by_bot(event):
            return None
        if event.text is None and event.caption is None:
            return None  # joins, pins, stickers, photos without caption
        settings = work.settings
        channel = await telegram.find_chat(work.session, chat.id)
        if not telegram.is_allowed(settings, chat.id, channel):
            if self.refuse and (is_command(event) or await telegram.claim_refusal(work.session, chat.id)):
                work.answer(event, texts.refusal(chat.id))
            log.info("ignoring %s chat %s: not in TASKTRACKER_TELEGRAM_CHATS", chat.type, chat.id)
            return None
        if channel is not None and not channels_service.accepts_messages(channel):
            return None
        data["channel"] = await telegram.chat_channel(work.session, chat.id, chat.type, chat.full_name)
        return await handler(event, data)
