"""One Telegram bot in a process: receives updates (long polling or the API's webhook), feeds them to the
dispatcher, and announces new tasks in the chat they came from.

Polling here is not aiogram's `start_polling`: that confirms an update (moves the offset) even when
its handler failed, which loses the message. This loop handles updates one by one and moves the offset
past an update only once it is committed; a failed update is fetched again after a backoff (and
skipped, loudly, after `MAX_ATTEMPTS`), so a database outage delays messages instead of dropping them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramConflictError, TelegramUnauthorizedError
from aiogram.types import ReplyParameters, Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from tasktracker.bot import texts
from tasktracker.bot.factory import COMMANDS, NotConfigured, build_dispatcher, create_bot
from tasktracker.bot.middlewares import UpdateUnit
from tasktracker.channels import receipts, telegram
from tasktracker.db import utcnow
from tasktracker.events.schemas import Event, EventType
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
PRUNE_EVERY_S = 3600.0
BACKOFF = BackoffConfig(min_delay=0.5, max_delay=30.0, factor=1.5, jitter=0.1)


class TelegramGateway:
    def __init__(self, runtime: Runtime, bot: Bot | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        try:
            chats = runtime.settings.telegram_chat_ids
        except ValueError:
            raise NotConfigured("TASKTRACKER_TELEGRAM_CHATS must be chat ids separated by commas") from None
        if not chats:
            log.warning("TASKTRACKER_TELEGRAM_CHATS is empty: the bot reads every chat it is added to")
        self.bot = bot or create_bot(runtime.settings)
        self.source = f"telegram:{self.bot.id}"  # update ids are per bot
        self.dispatcher = build_dispatcher(UpdateUnit(runtime, self.source))
        self.polling: asyncio.Task[None] | None = None
        self.telegram_reachable = False  # the last call to Telegram succeeded (the bot's readiness)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def allowed_updates(self) -> list[str]:
        return self.dispatcher.resolve_used_update_types()

    # Receiving -------------------------------------------------------------------------------------

    def parse(self, payload: dict[str, Any]) -> Update:
        return Update.model_validate(payload, context={"bot": self.bot})

    async def feed(self, update: Update) -> None:
        """Handle one update to the end (stored and committed); raises when it must be retried."""
        await self.dispatcher.feed_update(self.bot, update)

    async def poll(self) -> None:
        """Long polling until cancelled: deletes the webhook first (the two exclude each other)."""
        backoff = Backoff(BACKOFF)
        while True:
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                me = await self.bot.me()
                self.telegram_reachable = True
                break
            except TelegramUnauthorizedError:
                log.error("Telegram refused TELEGRAM_BOT_TOKEN; the bot is not running")
                raise
            except Exception as exc:
                self.telegram_reachable = False
                log.warning("Telegram not reachable (%s); retrying", exc)
                await backoff.asleep()
        with contextlib.suppress(Exception):
            await self.bot.set_my_commands(COMMANDS)
        log.info("polling Telegram as @%s for %s", me.username, ", ".join(self.allowed_updates))
        offset: int | None = None
        failures: dict[int, int] = {}
        timeout = self.settings.telegram_poll_timeout_s
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=timeout,
                    allowed_updates=self.allowed_updates,
                    request_timeout=timeout + 30,
                )
            except TelegramUnauthorizedError:
                log.error("Telegram refused TELEGRAM_BOT_TOKEN; polling stops")
                raise
            except TelegramConflictError as exc:
                self.telegram_reachable = False
                log.error(
                    "another poller uses this token, or a webhook is set (%s); run one bot replica", exc
                )
                await backoff.asleep()
                continue
            except Exception as exc:
                self.telegram_reachable = False
                log.warning("getUpdates failed (%s); retrying", exc)
                await backoff.asleep()
                continue
            self.telegram_reachable = True
            backoff.reset()
            for update in updates:
                try:
                    await self.feed(update)
                except Exception:
                    attempts = failures[update.update_id] = failures.get(update.update_id, 0) + 1
                    if attempts < MAX_ATTEMPTS:
                        log.exception(
                            "update %s failed (attempt %d); it will be fetched again",
                            update.update_id,
                            attempts,
                        )
                        await backoff.asleep()
                        break  # the offset stays before this update
                    log.error("update %s failed %d times; skipping it", update.update_id, attempts)
                failures.pop(update.update_id, None)
                offset = update.update_id + 1

    # Announcing tasks ---------------------------------------------------------------------------------

    async def announce_tasks(self) -> None:
        """Reply to a message that became a task, wherever the task was made (any process, via the bus)."""
        while True:
            try:
                async for event in self.runtime.bus.subscribe():
                    if event.type == EventType.task_created:
                        await self.announce(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task announcements stopped; resubscribing")
                await asyncio.sleep(1)

    async def announce(self, event: Event) -> None:
        async with unit_of_work(self.runtime) as uow:
            target = await telegram.claim_reply(uow.session, event.data)
        if target is None:
            return
        try:
            await self.bot.send_message(
                chat_id=target.chat_id,
                text=texts.created(event.data, self.settings.public_url),
                message_thread_id=target.topic_id,
                reply_parameters=ReplyParameters(
                    message_id=target.message_id, allow_sending_without_reply=True
                ),
            )
        except TelegramAPIError as exc:
            log.warning(
                "could not announce task %s in chat %s: %s", event.data.get("id"), target.chat_id, exc
            )

    # Lifecycle ---------------------------------------------------------------------------------------

    async def prune(self) -> int:
        async with unit_of_work(self.runtime) as uow:
            return await receipts.prune(
                uow.session, utcnow() - timedelta(days=self.settings.receipts_keep_days)
            )

    async def _prune_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                log.warning("could not prune processed updates", exc_info=True)
            await asyncio.sleep(PRUNE_EVERY_S)

    async def start(self, *, polling: bool, replies: bool) -> None:
        if polling:
            self.polling = asyncio.create_task(self.poll(), name="telegram-polling")
            self.polling.add_done_callback(_log_end)
            self._tasks.append(self.polling)
        if replies:
            self._tasks.append(asyncio.create_task(self.announce_tasks(), name="telegram-announce"))
        self._tasks.append(asyncio.create_task(self._prune_loop(), name="telegram-prune"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.bot.session.close()


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Telegram polling stopped: %s", task.exception())
