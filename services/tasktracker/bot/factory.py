"""Make the aiogram `Bot` and `Dispatcher` from the settings."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand
from aiogram.utils.token import TokenValidationError, validate_token

from tasktracker.bot.handlers import build_router
from tasktracker.bot.middlewares import TraceUpdate, UpdateUnit
from tasktracker.bot.settings import bot_token
from tasktracker.config import Settings

COMMANDS = [
    BotCommand(command="tasks", description="Open tasks of this chat"),
    BotCommand(command="task", description="Show a task: /task 12"),
    BotCommand(command="done", description="Mark a task completed: /done 12"),
    BotCommand(command="status", description="Pipeline health"),
    BotCommand(command="mute", description="Stop reading this chat"),
    BotCommand(command="unmute", description="Read this chat again"),
    BotCommand(command="help", description="What this bot does"),
]


class NotConfigured(RuntimeError):
    """TELEGRAM_BOT_TOKEN is not set, or is not a bot token."""


def create_bot(settings: Settings) -> Bot:
    """A bot talking HTML, at the Bot API server of `TASKTRACKER_TELEGRAM_API_URL` (a local server, a test stand-in)."""
    token = bot_token(settings)
    if token is None:
        raise NotConfigured("TELEGRAM_BOT_TOKEN is not set")
    try:
        validate_token(token)
    except TokenValidationError:
        raise NotConfigured(
            "TELEGRAM_BOT_TOKEN is not a bot token (it looks like 123456:ABC-DEF...)"
        ) from None
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def build_dispatcher(unit: UpdateUnit | None = None) -> Dispatcher:
    """The one dispatcher: every update runs in `unit` (an `UpdateUnit`), traced. Without one it only
    serves to tell which update types the handlers use."""
    dispatcher = Dispatcher(disable_fsm=True, name="tasktracker")
    if unit is not None:
        dispatcher.update.outer_middleware(TraceUpdate())  # registered first: wraps the unit of work
        dispatcher.update.outer_middleware(unit)
    dispatcher.include_router(build_router())
    return dispatcher


def allowed_updates() -> list[str]:
    """The update types to ask Telegram for (polling and `set-webhook` alike)."""
    return build_dispatcher().resolve_used_update_types()
