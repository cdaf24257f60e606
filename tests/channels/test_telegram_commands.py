"""Bot commands against the stand-in: what the bot answers, and what it changes."""

from __future__ import annotations

import httpx

from tests.channels import updates as tg
from tests.channels.conftest import running
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import eventually, get_json

CHAT = tg.SUPERGROUP["id"]


class Chat:
    """Talks to the bot as Ann in the team supergroup and returns the bot's answer."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.message_id = 100

    async def say(
        self, text: str, user: dict = tg.ANN, chat: dict = tg.SUPERGROUP, answer: bool = True
    ) -> str:
        self.message_id += 1
        before = len(self.fake.calls_of("sendMessage"))
        await self.fake.push(
            tg.update(self.fake.next_update_id(), tg.message(chat, self.message_id, text, user=user))
        )
        if not answer:
            return ""
        await eventually(lambda: len(self.fake.calls_of("sendMessage")) > before)
        sent = self.fake.calls_of("sendMessage")[before]
        assert sent["chat_id"] == chat["id"]
        assert sent["reply_parameters"]["message_id"] == self.message_id  # answers quote the command
        assert sent["parse_mode"] == "HTML"
        return sent["text"]


async def _task_of(client: httpx.AsyncClient, content: str) -> dict:
    async def find() -> dict | None:
        tasks = (await get_json(client, "/api/tasks", params={"q": content}))["data"]
        return tasks[0] if tasks else None

    return await eventually(find)


async def test_commands(telegram_settings, fake_telegram: FakeTelegram) -> None:
    chats = f"{CHAT},{tg.FORUM['id']}"
    async with running(telegram_settings(telegram_chats=chats)) as client:
        chat = Chat(fake_telegram)
        assert "/tasks" in await chat.say("/start") and "/done" in await chat.say("/help")
        assert await chat.say("/tasks") == "No open tasks in this chat. 🎉"

        await chat.say("bug: checkout <b>crashes</b> on submit", answer=False)
        await chat.say("feature: export to CSV", answer=False)
        await chat.say("bug: elsewhere", chat=tg.FORUM, answer=False)
        crash = await _task_of(client, "checkout")
        csv = await _task_of(client, "CSV")
        other = await _task_of(client, "elsewhere")

        listing = await chat.say("/tasks")
        assert (
            f"#{crash['id']}" in listing and f"#{csv['id']}" in listing and f"#{other['id']}" not in listing
        )
        assert "&lt;b&gt;crashes&lt;/b&gt;" in listing  # user text is escaped in HTML answers
        assert f'href="https://tt.example.com/tasks/{crash["id"]}"' in listing

        detail = await chat.say(f"/task {crash['id']}")
        assert (
            detail.startswith(f"<b>#{crash['id']} ") and "bug" in detail and "open in the dashboard" in detail
        )
        assert "not found in this chat" in await chat.say(f"/task {other['id']}")
        assert "not found in this chat" in await chat.say("/task 999999")
        assert "Usage: /task" in await chat.say("/task abc")
        # not ids a row can have: a usage hint, not an update that fails until Telegram gives up
        assert "Usage: /task" in await chat.say("/task ²")
        assert "Usage: /done" in await chat.say("/done 99999999999")

        assert "is completed" in await chat.say(f"/done {crash['id']}")
        assert (await get_json(client, f"/api/tasks/{crash['id']}"))["status"] == "completed"
        activity = (await get_json(client, f"/api/tasks/{crash['id']}"))["activity"]
        assert activity[-1]["actor"] == "telegram:@ann"
        assert "already completed" in await chat.say(f"/done #{crash['id']}")
        assert f"#{crash['id']}" not in await chat.say("/tasks")

        status = await chat.say("/status")
        assert "Pipeline" in status and "database: ok" in status and "open tasks: 1" in status

        # commands addressed to another bot are neither answered nor stored
        await chat.say("/tasks@some_other_bot", answer=False)
        assert "/tasks@some_other_bot" not in {
            m["content"] for m in (await get_json(client, "/api/messages"))["data"]
        }


async def test_mute_stops_ingesting_and_needs_an_admin_in_groups(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.members[(CHAT, tg.ANN["id"])] = "creator"
    async with running(telegram_settings(telegram_chats=str(CHAT))) as client:
        chat = Chat(fake_telegram)
        assert "administrators" in await chat.say("/mute", user=tg.BOB)
        assert "Muted" in await chat.say("/mute")
        assert "already muted" in await chat.say("/mute")
        await chat.say("bug: said while muted", answer=False)
        assert "muted: yes" in await chat.say("/status")
        assert "Unmuted" in await chat.say("/unmute")
        await chat.say("bug: said after unmute", answer=False)

        async def contents() -> list[str] | None:
            data = (await get_json(client, "/api/messages"))["data"]
            return [m["content"] for m in data] if data else None

        assert await eventually(contents) == ["bug: said after unmute"]
        channel = next(
            c for c in (await get_json(client, "/api/channels"))["data"] if c["external_id"] == str(CHAT)
        )
        assert channel["muted"] is False
        assert {"chat_id": CHAT, "user_id": tg.BOB["id"]}.items() <= fake_telegram.calls_of("getChatMember")[
            0
        ].items()
