"""With accounts on, the bot's changing commands act as the Task Tracker user a Telegram account is
linked to, with that user's role; anyone else gets a polite refusal. Reading stays open in the chats
the bot serves."""

from __future__ import annotations

from tasktracker.models import Role
from tests.channels import updates as tg
from tests.channels.conftest import running
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.test_telegram_commands import CHAT, Chat, _task_of
from tests.support.accounts import add_token, add_user, bearer
from tests.support.app import get_json


async def test_task_and_channel_commands_need_a_linked_user_with_the_role(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.members[(CHAT, tg.ANN["id"])] = "creator"  # a chat admin, but that is not enough
    async with running(telegram_settings(telegram_chats=str(CHAT), auth="on")) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        admin = await add_user(runtime, "root", Role.admin)
        client.headers.update(bearer(await add_token(runtime, admin)))
        chat = Chat(fake_telegram)
        await chat.say("bug: the invoice total is wrong", answer=False)
        invoice = await _task_of(client, "invoice")

        assert f"#{invoice['id']}" in await chat.say("/tasks")  # reading: anyone in the chat
        refusal = await chat.say(f"/done {invoice['id']}")
        assert "Sorry" in refusal and str(tg.ANN["id"]) in refusal
        assert (await get_json(client, f"/api/tasks/{invoice['id']}"))["status"] == "open"
        assert "Sorry" in await chat.say("/mute")

        ann = await add_user(runtime, "ann", Role.viewer)
        linked = await client.patch(f"/api/users/{ann}", json={"telegram_user_id": tg.ANN["id"]})
        assert linked.status_code == 200, linked.text
        assert "needs the editor role" in await chat.say(f"/done {invoice['id']}")

        assert (await client.patch(f"/api/users/{ann}", json={"role": "editor"})).status_code == 200
        assert "is completed" in await chat.say(f"/done {invoice['id']}")
        activity = (await get_json(client, f"/api/tasks/{invoice['id']}"))["activity"]
        assert activity[-1]["actor"] == "ann"
        assert "needs the admin role" in await chat.say("/mute")

        assert (await client.patch(f"/api/users/{ann}", json={"role": "admin"})).status_code == 200
        assert "Muted" in await chat.say("/mute")
        assert "Unmuted" in await chat.say("/unmute")

        assert (await client.patch(f"/api/users/{ann}", json={"disabled": True})).status_code == 200
        assert "Sorry" in await chat.say("/mute")  # a disabled account acts no more
        taken = await client.post(
            "/api/users",
            json={"username": "ann2", "password": "x" * 12, "telegram_user_id": tg.ANN["id"]},
        )
        assert (taken.status_code, taken.json()["code"]) == (409, "telegram_user_taken")
