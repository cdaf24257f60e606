"""The real aiogram bot, long-polling the Telegram stand-in inside the embedded `tasktracker run` process."""

from __future__ import annotations

import httpx

from tests.channels import updates as tg
from tests.channels.conftest import running
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import eventually, get_json


async def messages_of(client: httpx.AsyncClient, chat_id: int) -> list[dict]:
    page = await get_json(client, "/api/messages", params={"channel": f"telegram:{chat_id}", "limit": 200})
    return sorted(page["data"], key=lambda m: m["id"])


async def test_polling_stores_texts_captions_edits_topics_and_replies(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    chats = f"{tg.SUPERGROUP['id']},{tg.GROUP['id']},{tg.FORUM['id']},{tg.ANN['id']}"
    async with running(telegram_settings(telegram_chats=chats)) as client:
        await eventually(lambda: "getUpdates" in fake_telegram.methods)
        # polling deletes any webhook before its first getUpdates
        assert fake_telegram.methods.index("deleteWebhook") < fake_telegram.methods.index("getUpdates")

        original = tg.message(tg.SUPERGROUP, 10, "bug: login page crashes")
        await fake_telegram.push(
            tg.update(1, original),
            tg.update(2, tg.message(tg.GROUP, 3, "feature: dark mode please", user=tg.BOB)),
            tg.update(3, tg.photo(tg.SUPERGROUP, 11, "task: rotate the keys")),
            tg.update(4, tg.message(tg.SUPERGROUP, 12, "same here", reply_to_message=original)),
            tg.update(5, tg.topic_message(tg.FORUM, 501, "question: who owns checkout?", topic_id=500)),
            tg.update(6, tg.message(tg.private(tg.ANN), 7, "task: renew the certificate")),
            tg.edited(7, original, "bug: login page crashes on Safari"),
            tg.update(8, tg.message(tg.SUPERGROUP, 13, "deploy finished", user=tg.OTHER_BOT)),
            tg.update(9, tg.message(tg.SUPERGROUP, 14, None, new_chat_members=[tg.BOB])),
            tg.update(
                10, tg.message(tg.SUPERGROUP, 15, "a post", user=tg.TELEGRAM, is_automatic_forward=True)
            ),
            tg.update(
                11,
                tg.message(
                    tg.SUPERGROUP, 16, "task: from an admin", user=tg.ANONYMOUS, sender_chat=tg.SUPERGROUP
                ),
            ),
        )
        stored = await eventually(lambda: _count(client, tg.SUPERGROUP["id"], 5))
        by_external = {m["external_id"]: m for m in stored}
        chat = tg.SUPERGROUP["id"]
        edit_id = f"{chat}:10:edit:" + by_external_edit(by_external)
        assert set(by_external) == {f"{chat}:10", f"{chat}:11", f"{chat}:12", f"{chat}:16", edit_id}
        assert by_external[f"{chat}:16"]["author"] == "Team"  # an anonymous admin writes as the group
        assert by_external[f"{chat}:10"]["author"] == "Ann Lee"
        assert by_external[f"{chat}:11"]["content"] == "task: rotate the keys"  # a caption
        assert by_external[f"{chat}:12"]["thread_external_id"] == f"{chat}:10"  # a reply keeps its thread
        edit = next(m for k, m in by_external.items() if ":edit:" in k)
        assert (
            edit["content"] == "bug: login page crashes on Safari"
            and edit["thread_external_id"] == f"{chat}:10"
        )

        group = await eventually(lambda: _count(client, tg.GROUP["id"], 1))
        assert group[0]["content"] == "feature: dark mode please" and group[0]["author"] == "Bob"
        forum = await eventually(lambda: _count(client, tg.FORUM["id"], 1))
        assert forum[0]["thread_external_id"] == f"{tg.FORUM['id']}:500"  # the topic, not a reply
        await eventually(lambda: _count(client, tg.ANN["id"], 1))

        channels = {c["name"]: c for c in (await get_json(client, "/api/channels"))["data"]}
        assert (
            channels[f"telegram:{chat}"]["title"] == "Team"
            and channels[f"telegram:{chat}"]["kind"] == "telegram"
        )
        assert fake_telegram.sent_texts() == []  # bot_reply is off by default


def by_external_edit(by_external: dict) -> str:
    return next(k for k in by_external if ":edit:" in k).rsplit(":", 1)[1]


async def _count(client: httpx.AsyncClient, chat_id: int, n: int) -> list[dict] | None:
    found = await messages_of(client, chat_id)
    assert len(found) <= n, found
    return found if len(found) == n else None


async def test_each_update_and_each_message_is_stored_once(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    async with running(telegram_settings()) as client:
        first = tg.update(21, tg.message(tg.SUPERGROUP, 30, "bug: search returns nothing"))
        await fake_telegram.push(first)
        await eventually(lambda: _count(client, tg.SUPERGROUP["id"], 1))
        # Telegram sends the same update again (a retry), and the same message under a new update id
        await fake_telegram.push(
            first, tg.update(22, tg.message(tg.SUPERGROUP, 30, "bug: search returns nothing"))
        )
        await fake_telegram.push(tg.update(23, tg.message(tg.SUPERGROUP, 31, "task: marker")))
        stored = await eventually(lambda: _count(client, tg.SUPERGROUP["id"], 2))
        assert [m["external_id"] for m in stored] == [
            f"{tg.SUPERGROUP['id']}:30",
            f"{tg.SUPERGROUP['id']}:31",
        ]
        await eventually(lambda: len(client.classifier.calls) == 2)  # type: ignore[attr-defined]


async def test_chats_off_the_allow_list_get_a_polite_refusal_and_nothing_is_stored(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    async with running(telegram_settings(telegram_chats=str(tg.SUPERGROUP["id"]))) as client:
        stranger = tg.STRANGERS["id"]
        await fake_telegram.push(
            tg.update(31, tg.message(tg.STRANGERS, 1, "bug: please store me")),
            tg.update(32, tg.message(tg.STRANGERS, 2, "another one")),
            tg.update(33, tg.message(tg.STRANGERS, 3, "/tasks")),
            tg.update(34, tg.message(tg.private(tg.BOB), 4, "hello", user=tg.BOB)),
            tg.update(35, tg.message(tg.SUPERGROUP, 5, "task: allowed chats still work")),
        )
        await eventually(lambda: _count(client, tg.SUPERGROUP["id"], 1))
        await eventually(lambda: len(fake_telegram.sent_texts()) == 3)
        refusals = fake_telegram.sent_texts(stranger)
        assert len(refusals) == 2  # once for the chat's messages, and for the command
        assert all("not connected to Task Tracker" in text and str(stranger) in text for text in refusals)
        assert len(fake_telegram.sent_texts(tg.BOB["id"])) == 1
        names = {c["name"] for c in (await get_json(client, "/api/channels"))["data"]}
        assert f"telegram:{stranger}" not in names and f"telegram:{tg.BOB['id']}" not in names
        total = await get_json(client, "/api/messages")
        assert [m["content"] for m in total["data"]] == ["task: allowed chats still work"]


async def test_a_disabled_chat_is_neither_stored_nor_answered(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    async with running(telegram_settings()) as client:
        await fake_telegram.push(tg.update(51, tg.message(tg.SUPERGROUP, 80, "bug: sent while enabled")))
        await eventually(lambda: _count(client, tg.SUPERGROUP["id"], 1))
        name = f"telegram:{tg.SUPERGROUP['id']}"
        channel = next(c for c in (await get_json(client, "/api/channels"))["data"] if c["name"] == name)
        disabled = await client.patch(f"/api/channels/{channel['id']}", json={"enabled": False})
        assert disabled.status_code == 200, disabled.text
        await fake_telegram.push(
            tg.update(52, tg.message(tg.SUPERGROUP, 81, "bug: sent while disabled")),
            tg.update(53, tg.message(tg.SUPERGROUP, 82, "/tasks")),
            tg.update(54, tg.message(tg.FORUM, 90, "task: other chats are still read")),
        )
        await eventually(lambda: _count(client, tg.FORUM["id"], 1))  # updates are handled in order
        stored = await messages_of(client, tg.SUPERGROUP["id"])
        assert [m["content"] for m in stored] == ["bug: sent while enabled"]
        assert fake_telegram.sent_texts(tg.SUPERGROUP["id"]) == []


async def test_bot_replies_with_the_created_task(telegram_settings, fake_telegram: FakeTelegram) -> None:
    async with running(telegram_settings(bot_reply=True)) as client:
        await fake_telegram.push(
            tg.update(41, tg.message(tg.SUPERGROUP, 60, "bug: urgent payment fails")),
            tg.update(42, tg.message(tg.SUPERGROUP, 61, "lunch anyone?")),  # noise: no task, no reply
            tg.update(43, tg.topic_message(tg.FORUM, 70, "task: update the runbook", topic_id=69)),
        )
        await eventually(lambda: len(fake_telegram.calls_of("sendMessage")) == 2)
        tasks = {t["title"]: t for t in (await get_json(client, "/api/tasks"))["data"]}
        payment = tasks["bug: urgent payment fails"]
        replies = {int(p["reply_parameters"]["message_id"]): p for p in fake_telegram.calls_of("sendMessage")}
        reply = replies[60]
        assert reply["chat_id"] == tg.SUPERGROUP["id"]
        assert f"Task #{payment['id']}" in reply["text"] and "bug: urgent payment fails" in reply["text"]
        assert "urgent" in reply["text"] and f"https://tt.example.com/tasks/{payment['id']}" in reply["text"]
        assert replies[70]["message_thread_id"] == 69  # answered in the forum topic
        assert 61 not in replies
