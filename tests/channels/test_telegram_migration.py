"""A group upgraded to a supergroup gets a new chat id; its channel and history follow."""

from __future__ import annotations

from tests.channels import updates as tg
from tests.channels.conftest import running
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import eventually, get_json

OLD, NEW = tg.GROUP["id"], tg.UPGRADED["id"]


async def _channels(client) -> dict[str, dict]:
    return {
        c["name"]: c for c in (await get_json(client, "/api/channels"))["data"] if c["kind"] == "telegram"
    }


async def _messages(client, n: int) -> list[dict] | None:
    data = (await get_json(client, "/api/messages", params={"limit": 200}))["data"]
    assert len(data) <= n
    return data if len(data) == n else None


async def test_upgraded_group_keeps_its_channel_and_history(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    # only the old group id is on the allow-list: the supergroup it became is allowed through it
    async with running(telegram_settings(telegram_chats=str(OLD))) as client:
        await fake_telegram.push(tg.update(51, tg.message(tg.GROUP, 5, "bug: before the upgrade")))
        await eventually(lambda: _messages(client, 1))
        await fake_telegram.push(
            tg.update(52, tg.message(tg.GROUP, 6, None, migrate_to_chat_id=NEW)),
            tg.update(53, tg.message(tg.UPGRADED, 1, None, migrate_from_chat_id=OLD)),
            tg.update(54, tg.message(tg.UPGRADED, 5, "bug: after the upgrade")),  # ids start over
        )
        messages = await eventually(lambda: _messages(client, 2))
        channels = await _channels(client)
        assert list(channels) == [f"telegram:{NEW}"]
        channel = channels[f"telegram:{NEW}"]
        assert channel["external_id"] == str(NEW)
        assert {m["channel"]["id"] for m in messages} == {channel["id"]}
        assert {m["external_id"] for m in messages} == {f"{OLD}:5", f"{NEW}:5"}
        assert fake_telegram.sent_texts() == []  # no refusal for the new chat id


async def test_supergroup_that_spoke_before_the_migration_is_merged(telegram_settings, fake_telegram) -> None:
    async with running(telegram_settings()) as client:  # every chat allowed
        await fake_telegram.push(
            tg.update(61, tg.message(tg.GROUP, 5, "task: old group")),
            tg.update(62, tg.message(tg.UPGRADED, 2, "task: new supergroup, first")),
        )
        await eventually(lambda: _messages(client, 2))
        assert len(await _channels(client)) == 2
        await eventually(lambda: _tasks_in(client, None, 2))  # classified before the chat migrates
        await fake_telegram.push(
            tg.update(63, tg.message(tg.UPGRADED, 1, None, migrate_from_chat_id=OLD)),
            tg.update(
                64, tg.message(tg.GROUP, 6, None, migrate_to_chat_id=NEW)
            ),  # the second notice is a no-op
        )

        async def merged() -> dict | None:
            channels = await _channels(client)
            return channels if len(channels) == 1 else None

        channels = await eventually(merged)
        channel = next(iter(channels.values()))
        assert channel["external_id"] == str(NEW)
        messages = (await get_json(client, "/api/messages"))["data"]
        assert {m["channel"]["id"] for m in messages} == {channel["id"]}
        await eventually(lambda: _tasks_in(client, channel["id"], 2))


async def _tasks_in(client, channel_id: int | None, n: int) -> bool:
    params = {"channel": str(channel_id)} if channel_id is not None else {}
    tasks = (await get_json(client, "/api/tasks", params=params))["data"]
    return len(tasks) == n
