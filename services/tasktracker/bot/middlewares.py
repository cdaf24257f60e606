"""The update's unit of work, and the gate every chat message passes.

`UnitOfWork` wraps each update in one transaction that starts by recording the update id: a retry of
an update that was committed does nothing, one that failed runs again. Only after the commit are the
new messages announced and queued and the bot's answers sent, so a failed update leaves no trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.types import Message, ReplyParameters, TelegramObject, Update
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker import telemetry
from tasktracker.bot import texts
from tasktracker.channels import telegram
from tasktracker.events.schemas import Event
from tasktracker.messages import intake
from tasktracker.messages import service as messages_service
from tasktracker.models import Message as StoredMessage

if TYPE_CHECKING:
    from tasktracker.bot.gateway import TelegramGateway

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
CHAT_TYPES = frozenset({"private", "group", "supergroup"})


@dataclass
class Work:
    """What a handler needs: the transaction, and what to do once it is committed."""

    session: AsyncSession
    gateway: TelegramGateway
    created: list[StoredMessage] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    def answer(self, message: Message, text: str | Callable[[], Awaitable[str]]) -> None:
        """Reply to a message once the update is committed (in its forum topic, if any)."""

        async def send() -> None:
            body = text if isinstance(text, str) else await text()
            await self.gateway.bot.send_message(
                chat_id=message.chat.id,
                text=body,
                message_thread_id=message.message_thread_id if message.is_topic_message else None,
                reply_parameters=ReplyParameters(
                    message_id=message.message_id, allow_sending_without_reply=True
                ),
            )

        self.after_commit.append(send)


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


class UnitOfWork(BaseMiddleware):
    def __init__(self, gateway: TelegramGateway) -> None:
        self.gateway = gateway

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        runtime = self.gateway.runtime
        async with runtime.sessions() as session:
            if not await telegram.claim_update(session, self.gateway.source, event.update_id):
                await session.rollback()
                log.info("update %s was handled before; ignoring the repeat", event.update_id)
                return None
            work = Work(session=session, gateway=self.gateway)
            data["work"] = work
            result = await handler(event, data)
            await session.commit()
            # Committed: from here on nothing may fail the update (Telegram would resend it for nothing).
            if work.created:
                try:
                    await intake.announce(runtime, await messages_service.publics(session, work.created))
                except Exception:
                    log.warning(
                        "could not queue update %s's messages; the sweep will", event.update_id, exc_info=True
                    )
        if work.events:
            await runtime.publish(work.events)
        for action in work.after_commit:
            try:
                await action()
            except Exception:  # the update is stored; a failed answer must not make Telegram resend it
                log.warning("could not answer update %s", event.update_id, exc_info=True)
        return result


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
        settings = work.gateway.settings
        channel = await telegram.find_chat(work.session, chat.id)
        if not telegram.is_allowed(settings, chat.id, channel):
            if self.refuse and (is_command(event) or await telegram.claim_refusal(work.session, chat.id)):
                work.answer(event, texts.refusal(chat.id))
            log.info("ignoring %s chat %s: not in TASKTRACKER_TELEGRAM_CHATS", chat.type, chat.id)
            return None
        if channel is not None and not channel.enabled:
            return None
        data["channel"] = await telegram.chat_channel(work.session, chat.id, chat.type, chat.full_name)
        return await handler(event, data)
