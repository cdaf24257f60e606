"""The Telegram side of the API process: `POST /webhook/telegram`, and the bot's life inside the app.

aiogram ships only an aiohttp webhook integration, so the update is parsed and fed to the dispatcher
here. The answer is sent after the update is committed: 200 means stored; any failure answers 5xx and
Telegram delivers the update again (the update id makes that repeat harmless).

The router's lifespan runs inside the app's (after the runtime started): with TELEGRAM_BOT_TOKEN set
it makes the bot, and in the embedded single process (`tasktracker run`) it also polls, unless a
webhook is configured (TASKTRACKER_TELEGRAM_MODE).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import ValidationError

from tasktracker.auth.rules import public
from tasktracker.bot.settings import bot_token, webhook_secret
from tasktracker.channels.schemas import json_object
from tasktracker.config import Settings, TelegramMode
from tasktracker.errors import NotFound, Unauthorized, invalid
from tasktracker.runtime import Role

if TYPE_CHECKING:  # aiogram loads only when a bot is configured: importing it costs seconds at start
    from tasktracker.bot.gateway import TelegramGateway

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"


def polls_in_api(settings: Settings, role: Role) -> bool:
    """Only the embedded single process polls; `tasktracker api` replicas use the webhook."""
    if role is not Role.all:
        return False
    if settings.telegram_mode is TelegramMode.polling:
        return True
    return settings.telegram_mode is TelegramMode.auto and webhook_secret(settings) is None


def wants_gateway(settings: Settings, role: Role) -> bool:
    if bot_token(settings) is None or settings.telegram_mode is TelegramMode.off:
        return False
    return polls_in_api(settings, role) or webhook_secret(settings) is not None


@asynccontextmanager
async def telegram_lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime = app.state.runtime
    settings = runtime.settings
    gateway: TelegramGateway | None = None
    if wants_gateway(settings, runtime.role):
        from tasktracker.bot.gateway import TelegramGateway

        gateway = TelegramGateway(runtime)
        polling = polls_in_api(settings, runtime.role)
        await gateway.start(polling=polling, replies=settings.bot_reply)
        log.info("Telegram bot on (%s)", "polling" if polling else "webhook at /webhook/telegram")
    app.state.telegram = gateway
    try:
        yield
    finally:
        app.state.telegram = None
        if gateway is not None:
            await gateway.stop()


# Public: Telegram proves itself with the secret token, checked below.
router = APIRouter(tags=["webhooks"], lifespan=telegram_lifespan, dependencies=[public])


@router.post(
    "/webhook/telegram",
    responses={
        400: {"description": "The body is not JSON (`malformed_json`)."},
        401: {"description": "X-Telegram-Bot-Api-Secret-Token missing or wrong (`bad_secret_token`)."},
        404: {"description": "No bot or no webhook secret configured (`telegram_not_configured`)."},
        422: {"description": "Not a Telegram Update (`invalid_update`)."},
    },
)
async def telegram_update(request: Request) -> dict[str, Any]:
    """A Telegram update, set up with `tasktracker bot set-webhook URL`. 200 once it is stored."""
    gateway: TelegramGateway | None = getattr(request.app.state, "telegram", None)
    secret = webhook_secret(request.app.state.runtime.settings)
    if gateway is None or secret is None:
        raise NotFound(
            "the Telegram webhook is not configured here: set TELEGRAM_BOT_TOKEN and "
            "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET",
            code="telegram_not_configured",
        )
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise Unauthorized("X-Telegram-Bot-Api-Secret-Token is missing or wrong", code="bad_secret_token")
    payload = json_object(await request.body())  # bounded by TASKTRACKER_MAX_BODY_BYTES
    try:
        update = gateway.parse(payload)
    except ValidationError as exc:
        raise invalid(exc, code="invalid_update") from None
    await gateway.feed(update)
    return {"ok": True}
