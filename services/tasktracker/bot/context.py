"""What a handler gets for one Telegram update: explicit fields, no reach through a gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.config import Settings
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import UnitOfWork


@dataclass
class Work:
    """The update's unit of work, the bot that received it, the settings, and the process's resources
    (for `/status`)."""

    uow: UnitOfWork
    bot: Bot
    settings: Settings
    runtime: Runtime

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    def answer(self, message: Message, text: str | Callable[[], Awaitable[str]]) -> None:
        """Reply to a message once the update is committed (in its forum topic, if any)."""

        async def send() -> None:
            body = text if isinstance(text, str) else await text()
            await self.bot.send_message(
                chat_id=message.chat.id,
                text=body,
                message_thread_id=message.message_thread_id if message.is_topic_message else None,
                reply_parameters=ReplyParameters(
                    message_id=message.message_id, allow_sending_without_reply=True
                ),
            )

        self.uow.after_commit(send)
