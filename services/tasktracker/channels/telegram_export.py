"""Telegram Desktop chat exports (`result.json`, "Export chat history" in JSON format).

A single-chat export is `{"name", "type", "id", "messages": [...]}`; a full account export has the
chats under `{"chats": {"list": [...]}}`. A message's `text` is a string or a list of strings and
entity objects; `text_entities` is the same text as a flat list of `{"type", "text", "href"?}`.
Service messages (joins, pins, title changes) are skipped, and so are messages without text.

Exported ids map to what the bot sees, so an import and the live bot land in the same channel:
supergroups and channels share message ids with the Bot API (`-100` + id); basic groups (`-id`) and
private chats keep per-account message ids and are stored in a namespace of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.channels import telegram
from tasktracker.channels.telegram import TelegramText
from tasktracker.config import Settings
from tasktracker.models import Channel, Message
from tasktracker.unit_of_work import UnitOfWork

SUPERGROUP_TYPES = {"private_supergroup", "public_supergroup", "private_channel", "public_channel"}
GROUP_TYPES = {"private_group"}


class ExportError(ValueError):
    """The file is not a Telegram Desktop JSON export."""


@dataclass
class ExportChat:
    chat_id: int
    chat_type: str
    name: str | None
    shared_ids: bool
    messages: list[dict[str, Any]] = field(default_factory=list)


def bot_api_chat(export_type: str, export_id: int) -> tuple[int, str, bool]:
    """(Bot API chat id, chat type, whether message ids are the ones the bot sees) for an exported chat."""
    if export_id < 0:  # already a Bot API id
        return (
            export_id,
            "supergroup" if str(export_id).startswith("-100") else "group",
            str(export_id).startswith("-100"),
        )
    if export_type in SUPERGROUP_TYPES:
        kind = "channel" if export_type.endswith("_channel") else "supergroup"
        return int(f"-100{export_id}"), kind, True
    if export_type in GROUP_TYPES:
        return -export_id, "group", False
    return export_id, "private", False


def _chat(data: dict[str, Any]) -> ExportChat:
    if not isinstance(data.get("messages"), list) or not isinstance(data.get("id"), int):
        raise ExportError("a chat needs an integer `id` and a `messages` list")
    chat_id, chat_type, shared = bot_api_chat(str(data.get("type", "")), data["id"])
    return ExportChat(chat_id, chat_type, data.get("name"), shared, data["messages"])


def parse(data: Any) -> list[ExportChat]:
    if not isinstance(data, dict):
        raise ExportError("the export must be a JSON object")
    if "messages" in data:
        return [_chat(data)]
    chats = data.get("chats")
    if isinstance(chats, dict) and isinstance(chats.get("list"), list):
        return [_chat(c) for c in chats["list"] if isinstance(c, dict)]
    raise ExportError("no `messages` (a chat export) and no `chats.list` (a full export) in this file")


def load(path: Path) -> list[ExportChat]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} is not JSON: {exc}") from None
    return parse(data)


def flatten(text: Any, entities: Any = None) -> tuple[str, list[str]]:
    """Plain text and the links behind `text_link` entities, from `text_entities` (or `text`)."""
    parts: list[Any] = entities if isinstance(entities, list) and entities else text
    if isinstance(parts, str):
        return parts, []
    if not isinstance(parts, list):
        return "", []
    out: list[str] = []
    links: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict):
            out.append(str(part.get("text", "")))
            href = part.get("href")
            if isinstance(href, str) and href:
                links.append(href)
    return "".join(out), links


def _sent_at(message: dict[str, Any]) -> datetime:
    unix = message.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), UTC)
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        parsed = datetime.fromisoformat(str(message.get("date")))
    except ValueError:
        raise ExportError(f"message {message.get('id')} has no readable date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # old exports: local time, no offset


def _user_id(from_id: Any) -> int | None:
    if isinstance(from_id, str) and from_id.startswith("user") and from_id[4:].isdigit():
        return int(from_id[4:])
    return None


def texts(chat: ExportChat) -> Iterator[TelegramText | None]:
    """One item per exported message: the text to store, or None for what is skipped."""
    for message in chat.messages:
        if (
            not isinstance(message, dict)
            or message.get("type") != "message"
            or not isinstance(message.get("id"), int)
        ):
            yield None
            continue
        content, links = flatten(message.get("text"), message.get("text_entities"))
        if not content.strip():
            yield None
            continue
        reply_to = message.get("reply_to_message_id")
        yield TelegramText(
            chat_id=chat.chat_id,
            chat_type=chat.chat_type,
            chat_title=chat.name,
            message_id=message["id"],
            text=content.strip(),
            sent_at=_sent_at(message),
            author=(str(message["from"])[:200] if message.get("from") else None),
            user_id=_user_id(message.get("from_id")),
            reply_to_message_id=reply_to if isinstance(reply_to, int) else None,
            links=links,
            export_ids=not chat.shared_ids,
        )


async def chat_channel(session: AsyncSession, chat: ExportChat) -> Channel:
    return await telegram.chat_channel(session, chat.chat_id, chat.chat_type, chat.name)


async def store_batch(
    uow: UnitOfWork, settings: Settings, channel: Channel, batch: Sequence[TelegramText]
) -> list[Message]:
    """Store a batch in the caller's unit; returns only the messages that were new."""
    created = []
    for text in batch:
        message, is_new = await telegram.ingest(uow, settings, channel, text)
        if is_new:
            created.append(message)
    return created
