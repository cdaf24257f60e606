"""aiogram handlers: turn a Telegram message into a service call and an answer. No logic of their own."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from tasktracker.auth import service as auth_service
from tasktracker.bot import texts
from tasktracker.bot.context import Work
from tasktracker.bot.middlewares import ChatAccess, is_command
from tasktracker.channels import service as channels_service
from tasktracker.channels import telegram
from tasktracker.channels.telegram import TelegramText
from tasktracker.errors import NotFound
from tasktracker.events import schemas as events
from tasktracker.fields import MAX_ID
from tasktracker.health import readiness
from tasktracker.models import Channel, Role, Task

ADMIN_STATES = {ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR}


def telegram_text(message: Message, *, edited: bool = False) -> TelegramText | None:
    """The neutral record of a text or caption; None when there is nothing to store."""
    text = (message.text or message.caption or "").strip()
    if not text:
        return None
    chat = message.chat
    as_chat = message.sender_chat  # an anonymous admin, or someone posting as a channel
    user = None if as_chat is not None else message.from_user
    topic_id = message.message_thread_id if message.is_topic_message else None
    reply = message.reply_to_message
    # In a forum, a message that replies to nobody still "replies" to its topic's first message.
    reply_id = reply.message_id if reply is not None and reply.message_id != topic_id else None
    entities = message.entities or message.caption_entities or []
    edited_at = None
    if edited:
        edited_at = datetime.fromtimestamp(message.edit_date, UTC) if message.edit_date else datetime.now(UTC)
    return TelegramText(
        chat_id=chat.id,
        chat_type=chat.type,
        chat_title=chat.full_name,
        message_id=message.message_id,
        text=text,
        sent_at=message.date,
        author=(as_chat.full_name if as_chat is not None else (user.full_name if user else None)),
        user_id=user.id if user else None,
        username=user.username if user else None,
        reply_to_message_id=reply_id,
        topic_id=topic_id,
        edited_at=edited_at,
        links=[e.url for e in entities if e.type == "text_link" and e.url],
    )


def actor(message: Message) -> str:
    user = message.from_user
    if user is None:  # an anonymous group admin, posting as the chat
        return f"telegram:chat:{message.chat.id}"
    return f"telegram:@{user.username}" if user.username else f"telegram:{user.id}"


def _task_id(command: CommandObject) -> int | None:
    arg = (command.args or "").strip().lstrip("#")
    if not (arg.isascii() and arg.isdigit() and len(arg) < 12):  # "²" is a digit to isdigit()
        return None
    task_id = int(arg)
    return task_id if 0 < task_id <= MAX_ID else None


# Service messages ------------------------------------------------------------------------------------


async def on_migration(message: Message, work: Work) -> None:
    """A group became a supergroup: keep its channel (and history) under the new chat id."""
    if message.migrate_to_chat_id is not None:
        old_id, new_id = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old_id, new_id = message.migrate_from_chat_id, message.chat.id
    else:  # the router only sends migration messages here
        return
    old = await telegram.find_chat(work.session, old_id)
    if telegram.is_allowed(work.settings, old_id, old):
        await telegram.migrate_chat(work.session, old_id, new_id)


# Commands --------------------------------------------------------------------------------------------


async def cmd_help(message: Message, work: Work) -> None:
    work.answer(message, texts.HELP)


async def cmd_tasks(message: Message, work: Work, channel: Channel) -> None:
    tasks = await telegram.open_tasks(work.session, channel)
    work.answer(message, texts.task_list(tasks, work.settings.public_url))


async def _chat_task(
    message: Message, work: Work, channel: Channel, command: CommandObject, usage: str
) -> Task | None:
    """The task the command names, if it is one of this chat's; otherwise the answer says why, and None."""
    task_id = _task_id(command)
    if task_id is None:
        work.answer(message, usage)
        return None
    try:
        return await telegram.chat_task(work.session, channel, task_id)
    except NotFound as exc:
        work.answer(message, str(exc.detail).capitalize() + ".")
        return None


async def cmd_task(message: Message, work: Work, channel: Channel, command: CommandObject) -> None:
    task = await _chat_task(message, work, channel, command, texts.USAGE_TASK)
    if task is None:
        return
    public = await telegram.task_public(work.session, task)
    work.answer(message, texts.task_detail(public, work.settings.public_url))


async def _acting_as(message: Message, work: Work, required: Role) -> str | None:
    """The actor a changing command acts as, or None after a polite refusal.

    With accounts on, the Telegram user must be linked to an enabled user (`users.telegram_user_id`)
    whose role allows the command: editor for task commands, admin for channel commands. With
    `TASKTRACKER_AUTH=off`, anyone in an allowed chat acts under their Telegram name, as before."""
    if not work.settings.auth_on:
        return actor(message)
    telegram_user_id = message.from_user.id if message.from_user is not None else None
    principal = await auth_service.telegram_principal(work.session, telegram_user_id)
    if principal is None:
        work.answer(message, texts.not_linked(telegram_user_id))
        return None
    if not principal.allows(required):
        work.answer(message, texts.needs_role(principal.name, required.value))
        return None
    return principal.name


async def cmd_done(message: Message, work: Work, channel: Channel, command: CommandObject) -> None:
    task = await _chat_task(message, work, channel, command, texts.USAGE_DONE)
    if task is None:
        return
    acting = await _acting_as(message, work, Role.editor)
    if acting is None:
        return
    task, changed = await telegram.complete(work.session, task, acting)
    public = await telegram.task_public(work.session, task)
    if changed:
        work.uow.queue_event(events.task_updated(public))
    work.answer(message, texts.done(public, changed))


async def cmd_status(message: Message, work: Work, channel: Channel) -> None:
    status = await telegram.chat_status(work.session, channel)
    runtime = work.runtime

    async def render() -> str:  # after the commit: health checks may take a moment
        return texts.status(status, (await readiness(runtime)).checks)

    work.answer(message, render)


async def _may_moderate(message: Message, work: Work) -> bool:
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
        return True  # an anonymous admin
    if message.from_user is None:
        return False
    member = await work.bot.get_chat_member(message.chat.id, message.from_user.id)
    return member.status in ADMIN_STATES


async def cmd_mute(message: Message, work: Work, channel: Channel, command: CommandObject) -> None:
    if work.settings.auth_on:
        if await _acting_as(message, work, Role.admin) is None:
            return
    elif not await _may_moderate(message, work):
        work.answer(message, texts.ADMINS_ONLY)
        return
    muted = command.command.lower() == "mute"
    changed = await channels_service.set_muted(work.session, channel, muted)
    if muted:
        work.answer(message, texts.MUTED if changed else texts.ALREADY_MUTED)
    else:
        work.answer(message, texts.UNMUTED if changed else texts.ALREADY_UNMUTED)


# Messages --------------------------------------------------------------------------------------------


async def on_text(message: Message, work: Work, channel: Channel) -> None:
    await _store(message, work, channel, edited=False)


async def on_edit(message: Message, work: Work, channel: Channel) -> None:
    await _store(message, work, channel, edited=True)


async def _store(message: Message, work: Work, channel: Channel, *, edited: bool) -> None:
    if is_command(message) or channels_service.is_muted(channel):
        return  # commands for other bots, and chats that asked not to be read
    text = telegram_text(message, edited=edited)
    if text is None:
        return
    await telegram.ingest(work.uow, work.settings, channel, text)


def build_router() -> Router:
    """Service messages first (they bypass the chat gate), then everything people write in allowed chats."""
    service = Router(name="service-messages")
    service.message.register(on_migration, F.migrate_to_chat_id | F.migrate_from_chat_id)

    chats = Router(name="chats")
    chats.message.outer_middleware(ChatAccess(refuse=True))
    chats.edited_message.outer_middleware(ChatAccess(refuse=False))
    chats.message.register(cmd_help, Command("start", "help", ignore_case=True))
    chats.message.register(cmd_tasks, Command("tasks", ignore_case=True))
    chats.message.register(cmd_task, Command("task", ignore_case=True))
    chats.message.register(cmd_done, Command("done", ignore_case=True))
    chats.message.register(cmd_status, Command("status", ignore_case=True))
    chats.message.register(cmd_mute, Command("mute", "unmute", ignore_case=True))
    chats.message.register(on_text)
    chats.edited_message.register(on_edit)

    root = Router(name="tasktracker")
    root.include_routers(service, chats)
    return root
