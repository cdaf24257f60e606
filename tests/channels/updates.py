"""Real Telegram Bot API update JSON, as api.telegram.org sends it (getUpdates results, webhook bodies)."""

from __future__ import annotations

import time
from typing import Any

ANN = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Ann",
    "last_name": "Lee",
    "username": "ann",
    "language_code": "en",
}
BOB = {"id": 1002, "is_bot": False, "first_name": "Bob"}
OTHER_BOT = {"id": 777, "is_bot": True, "first_name": "Deploy bot", "username": "deploy_bot"}
ANONYMOUS = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
TELEGRAM = {"id": 777000, "is_bot": False, "first_name": "Telegram"}

SUPERGROUP = {"id": -1001234567890, "title": "Team", "type": "supergroup"}
FORUM = {"id": -1009876543210, "title": "Team forum", "type": "supergroup", "is_forum": True}
GROUP = {"id": -4001234, "title": "Old group", "type": "group", "all_members_are_administrators": True}
UPGRADED = {"id": -1004001234, "title": "Old group", "type": "supergroup"}
STRANGERS = {"id": -1005550000, "title": "Strangers", "type": "supergroup"}


def private(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "first_name": user["first_name"], "type": "private"} | (
        {"username": user["username"]} if "username" in user else {}
    )


def message(
    chat: dict[str, Any],
    message_id: int,
    text: str | None = None,
    *,
    user: dict[str, Any] = ANN,
    date: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": message_id,
        "from": user,
        "chat": chat,
        "date": date or int(time.time()) - 5,
    }
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            body["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    body.update(extra)
    return body


def update(update_id: int, msg: dict[str, Any], *, kind: str = "message") -> dict[str, Any]:
    return {"update_id": update_id, kind: msg}


def edited(
    update_id: int, msg: dict[str, Any], new_text: str, edit_date: int | None = None
) -> dict[str, Any]:
    body = dict(msg) | {"text": new_text, "edit_date": edit_date or int(time.time())}
    return update(update_id, body, kind="edited_message")


def photo(chat: dict[str, Any], message_id: int, caption: str, **extra: Any) -> dict[str, Any]:
    sizes = [{"file_id": "AgAD-small", "file_unique_id": "u1", "width": 90, "height": 60, "file_size": 1200}]
    return message(chat, message_id, None, photo=sizes, caption=caption, **extra)


def topic_message(
    chat: dict[str, Any], message_id: int, text: str, topic_id: int, **extra: Any
) -> dict[str, Any]:
    """A message in a forum topic: Telegram sets reply_to_message to the topic's creation message."""
    created = {
        "message_id": topic_id,
        "from": ANN,
        "chat": chat,
        "date": int(time.time()) - 100,
        "message_thread_id": topic_id,
        "forum_topic_created": {"name": "Checkout", "icon_color": 7322096},
        "is_topic_message": True,
    }
    return message(
        chat,
        message_id,
        text,
        message_thread_id=topic_id,
        is_topic_message=True,
        reply_to_message=created,
        **extra,
    )
