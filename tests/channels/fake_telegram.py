"""A local stand-in for the Telegram Bot API, over real HTTP (aiohttp), for the real aiogram bot.

It serves `/bot<token>/<method>` the way api.telegram.org does: form-encoded parameters in,
`{"ok": true, "result": ...}` out. `getUpdates` long-polls over scripted updates and forgets the ones
below the offset (Telegram's confirmation); `setWebhook` makes `getUpdates` answer 409 until
`deleteWebhook`. Every request is recorded, so tests assert on what the bot sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.services import free_port

RAW_FIELDS = {"text", "url", "secret_token", "caption", "description"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


def _decode(key: str, value: str) -> Any:
    if key in RAW_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeTelegram:
    def __init__(self, bot_id: int = 123456, username: str = "tasktracker_test_bot") -> None:
        self.bot_id = bot_id
        self.username = username
        self.calls: list[Call] = []
        self.pending: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.members: dict[tuple[int, int], str] = {}
        self.fail: dict[str, list[tuple[int, str]]] = {}
        self._next_message_id = 10_000
        self._next_update_id = 1_000
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    @property
    def token(self) -> str:
        return f"{self.bot_id}:TEST-token-for-the-stand-in"

    # Scripting --------------------------------------------------------------------------------------

    def next_update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id

    async def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates (as Telegram does while no webhook is set)."""
        async with self._changed:
            self.pending.extend(updates)
            self._changed.notify_all()

    def fail_next(self, method: str, status: int = 500, description: str = "Internal Server Error") -> None:
        self.fail.setdefault(method, []).append((status, description))

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            p["text"] for p in self.calls_of("sendMessage") if chat_id is None or p.get("chat_id") == chat_id
        ]

    @property
    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    # Server -----------------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        async with self._changed:
            self._closing = True
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        form = await request.post() if request.method == "POST" else request.query
        params = {key: _decode(key, str(value)) for key, value in form.items()}
        self.calls.append(Call(method, params))
        if token != self.token:
            return _error(401, "Unauthorized")
        if self.fail.get(method):
            status, description = self.fail[method].pop(0)
            return _error(status, description)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    # Methods ----------------------------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Task Tracker", "username": self.username}

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return self._me() | {"can_join_groups": True, "can_read_all_group_messages": True}

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return _error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                if offset:
                    self.pending = [u for u in self.pending if u["update_id"] >= offset]
                if self.pending or self._closing:
                    return list(self.pending[:100])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return []

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self.pending.clear()
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = params
        if params.get("drop_pending_updates"):
            self.pending.clear()
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }

    async def _m_setmycommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        self._next_message_id += 1
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self._me(),
            "text": params.get("text", ""),
        }
        if params.get("message_thread_id"):
            message["message_thread_id"] = params["message_thread_id"]
        return message

    async def _m_getchatmember(self, params: dict[str, Any]) -> Any:
        user_id = int(params["user_id"])
        status = self.members.get((int(params["chat_id"]), user_id), "member")
        member: dict[str, Any] = {
            "status": status,
            "user": {"id": user_id, "is_bot": False, "first_name": "Someone"},
        }
        if status == "creator":
            member["is_anonymous"] = False
        return member


def _error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)
