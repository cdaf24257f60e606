"""Telegram chats as channels: which chats may talk to us, how their messages are stored, and the
service side of the bot's commands. Independent of aiogram: the bot and the export importer both
hand in `TelegramText` records.

A chat is one channel (`kind=telegram`, `external_id` = the Bot API chat id). A message's external
id is `<chat id>:<message id>`, unique per chat, so a redelivered update is a duplicate and a group
that became a supergroup (new chat id, message ids starting over) keeps its history in one channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.channels import receipts, repository
from tasktracker.channels import service as channels_service
from tasktracker.channels.text import truncate_utf8
from tasktracker.config import Settings
from tasktracker.errors import NotFound
from tasktracker.messages import service as messages_service
from tasktracker.messages.schemas import MessageIn
from tasktracker.models import OPEN_STATUSES, Channel, ChannelKind, Message, Task, TaskStatus
from tasktracker.tasks import service as tasks_service
from tasktracker.tasks.schemas import TaskPublic, TaskUpdate
from tasktracker.unit_of_work import UnitOfWork

REPLY_SOURCE = "telegram-reply"
REFUSAL_SOURCE = "telegram-refusal"


AUTHOR_MAX = 200


def _display_name(value: object) -> object:
    """A name is shown, never matched on: one longer than the column (Telegram allows 64 characters,
    a forged update more) is shortened rather than losing the message."""
    return value[:AUTHOR_MAX] if isinstance(value, str) else value


class TelegramText(BaseModel):
    """One text (or caption) written in a Telegram chat, from a live update or a chat export."""

    chat_id: int
    chat_type: str
    chat_title: str | None = None
    message_id: int
    text: str
    sent_at: datetime
    author: Annotated[str | None, BeforeValidator(_display_name)] = Field(default=None, max_length=AUTHOR_MAX)
    user_id: int | None = None
    username: str | None = None
    reply_to_message_id: int | None = None
    topic_id: int | None = None
    edited_at: datetime | None = None
    links: list[str] = Field(default_factory=list)
    # Message ids of basic groups and private chats differ between accounts: ids from a user's
    # export must not collide with the ids the bot sees, so they get their own namespace.
    export_ids: bool = False

    def key(self, message_id: int) -> str:
        return f"{self.chat_id}:{'x' if self.export_ids else ''}{message_id}"

    @property
    def external_id(self) -> str:
        base = self.key(self.message_id)
        return f"{base}:edit:{int(self.edited_at.timestamp())}" if self.edited_at else base

    @property
    def thread_external_id(self) -> str | None:
        if self.edited_at is not None:
            return self.key(self.message_id)  # an edit belongs to the message it changes
        if self.reply_to_message_id is not None:
            return self.key(self.reply_to_message_id)
        if self.topic_id is not None:
            return self.key(self.topic_id)  # a forum topic's id is the id of its first message
        return None

    def to_message_in(self, max_bytes: int) -> MessageIn:
        content, truncated = truncate_utf8(self.text, max_bytes)
        meta: dict[str, Any] = {
            "telegram": {
                "chat_id": self.chat_id,
                "chat_type": self.chat_type,
                "message_id": self.message_id,
                "user_id": self.user_id,
                "username": self.username,
                "reply_to_message_id": self.reply_to_message_id,
                "topic_id": self.topic_id,
                "edited": self.edited_at is not None,
                "source": "export" if self.export_ids else "bot",
            }
        }
        if self.links:
            meta["links"] = self.links
        if truncated:
            meta["truncated"] = True
        return MessageIn(
            content=content,
            author=self.author,
            external_id=self.external_id,
            thread_external_id=self.thread_external_id,
            sent_at=self.edited_at or self.sent_at,
            meta=meta,
        )


# Chats -------------------------------------------------------------------------------------------------


def channel_name(chat_id: int) -> str:
    return f"telegram:{chat_id}"


async def find_chat(session: AsyncSession, chat_id: int) -> Channel | None:
    return await repository.get_by_external(session, ChannelKind.telegram, str(chat_id))


async def chat_channel(session: AsyncSession, chat_id: int, chat_type: str, title: str | None) -> Channel:
    """The chat's channel, made on first contact; the title is kept current."""
    channel = await repository.get_or_create_external(
        session,
        kind=ChannelKind.telegram,
        external_id=str(chat_id),
        name=channel_name(chat_id),
        settings={"title": title, "chat_type": chat_type},
    )
    if title and channel.settings.get("title") != title:
        channel.settings = {**channel.settings, "title": title}
        await session.flush()
    return channel


def is_allowed(settings: Settings, chat_id: int, channel: Channel | None) -> bool:
    """Empty TASKTRACKER_TELEGRAM_CHATS allows every chat. A supergroup made from an allowed group is allowed."""
    allowed = settings.telegram_chat_ids
    if not allowed or chat_id in allowed:
        return True
    previous = channel.settings.get("previous_chat_ids", []) if channel is not None else []
    return any(int(old) in allowed for old in previous)


async def claim_refusal(session: AsyncSession, chat_id: int) -> bool:
    """True the first time a chat is refused (so a busy group is not answered on every message)."""
    return await receipts.claim(session, REFUSAL_SOURCE, str(chat_id))


async def migrate_chat(session: AsyncSession, old_id: int, new_id: int) -> Channel | None:
    """A group became a supergroup: the channel follows the new chat id and keeps its history.

    Safe to run twice and in either order of Telegram's two service messages; if the new chat got a
    channel of its own meanwhile, its messages and tasks move over and it goes away.
    """
    old = await find_chat(session, old_id)
    new = await find_chat(session, new_id)
    if old is None:
        return new
    if new is not None and new.id != old.id:
        assert new.id is not None and old.id is not None  # stored rows
        await repository.move_content(session, new.id, old.id)
        await repository.delete(session, new)
    previous = {int(x) for x in old.settings.get("previous_chat_ids", [])} | {old_id}
    old.external_id = str(new_id)
    old.settings = {**old.settings, "previous_chat_ids": sorted(previous), "chat_type": "supergroup"}
    if (
        old.name == channel_name(old_id)
        and await repository.get_by_name(session, channel_name(new_id)) is None
    ):
        old.name = channel_name(new_id)
    await session.flush()
    return old


# Messages ----------------------------------------------------------------------------------------------


async def ingest(
    uow: UnitOfWork, settings: Settings, channel: Channel, text: TelegramText
) -> tuple[Message, bool]:
    """Store one Telegram text in the caller's unit; a known (chat, message id) is not stored again."""
    data = text.to_message_in(settings.max_message_bytes)
    message, _, created = await messages_service.ingest(uow, settings, data, channel=channel)
    return message, created


# Commands ----------------------------------------------------------------------------------------------


async def open_tasks(session: AsyncSession, channel: Channel, limit: int = 10) -> list[TaskPublic]:
    """The chat's open tasks, most urgent first."""
    assert channel.id is not None  # a stored row
    return await tasks_service.open_of_channel(session, channel.id, limit)


async def chat_task(session: AsyncSession, channel: Channel, task_id: int) -> Task:
    """A task of this chat; other chats' tasks are not shown here."""
    task = await tasks_service.get(session, task_id)
    if task is None or task.channel_id != channel.id:
        raise NotFound(f"task {task_id} not found in this chat")
    return task


async def task_public(session: AsyncSession, task: Task) -> TaskPublic:
    return await tasks_service.public(session, task)


async def complete(session: AsyncSession, task: Task, actor: str) -> tuple[Task, bool]:
    """Mark a chat's task (from `chat_task`) completed; returns it and whether its status changed."""
    if task.status not in OPEN_STATUSES:
        return task, False
    assert task.id is not None  # a stored row
    task = await tasks_service.update(session, task.id, TaskUpdate(status=TaskStatus.completed), actor)
    return task, True


@dataclass
class ChatStatus:
    chat: dict[str, int]
    everywhere: dict[str, int]
    open_tasks: int
    muted: bool


async def chat_status(session: AsyncSession, channel: Channel) -> ChatStatus:
    assert channel.id is not None  # a stored row
    return ChatStatus(
        chat=await repository.message_status_counts(session, channel.id),
        everywhere=await repository.message_status_counts(session),
        open_tasks=await tasks_service.count_open_of_channel(session, channel.id),
        muted=channels_service.is_muted(channel),
    )


# Replies to the message a task came from -----------------------------------------------------------------


@dataclass(frozen=True)
class ReplyTarget:
    chat_id: int
    message_id: int
    topic_id: int | None


async def claim_reply(session: AsyncSession, task: dict[str, Any]) -> ReplyTarget | None:
    """Where to announce a new task, if it came from a live Telegram message; claimed once across replicas."""
    message_id = task.get("source_message_id")
    if not isinstance(message_id, int):
        return None
    message = await messages_service.get(session, message_id)
    if message is None:
        return None
    channel = await repository.get(session, message.channel_id)
    if (
        channel is None
        or channel.kind != ChannelKind.telegram
        or not channels_service.accepts_messages(channel)
    ):
        return None
    if channels_service.is_muted(channel) or channel.settings.get("reply") is False:
        return None
    meta = (message.meta or {}).get("telegram") or {}
    if (
        meta.get("source") != "bot"
        or not isinstance(meta.get("message_id"), int)
        or channel.external_id is None
    ):
        return None
    if not await receipts.claim(session, REPLY_SOURCE, str(task.get("id"))):
        return None
    return ReplyTarget(
        chat_id=int(channel.external_id), message_id=meta["message_id"], topic_id=meta.get("topic_id")
    )


async def claim_update(session: AsyncSession, source: str, update_id: int) -> bool:
    """Record an update in the caller's transaction; False when it was handled before."""
    return await receipts.claim(session, source, str(update_id))
