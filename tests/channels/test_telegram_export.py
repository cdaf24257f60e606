"""`tasktracker import telegram result.json`: Telegram Desktop's JSON export, imported idempotently."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from tasktracker.bot import cli as bot_cli
from tasktracker.channels import telegram_export
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.models import Channel, Message

EXPORT = Path(__file__).parent / "data" / "telegram_export.json"
CHAT_ID = -1001234567890


def test_flatten_reads_text_entities_and_keeps_links() -> None:
    entities = [
        {"type": "plain", "text": "see "},
        {"type": "text_link", "text": "the log", "href": "https://logs.example.com/1"},
        {"type": "bold", "text": "!"},
    ]
    assert telegram_export.flatten("ignored when entities exist", entities) == (
        "see the log!",
        ["https://logs.example.com/1"],
    )
    assert telegram_export.flatten(["a ", {"type": "italic", "text": "b"}], []) == ("a b", [])
    assert telegram_export.flatten("plain", None) == ("plain", [])


@pytest.mark.parametrize(
    ("export_type", "export_id", "expected"),
    [
        ("private_supergroup", 1234567890, (-1001234567890, "supergroup", True)),
        ("public_supergroup", 42, (-10042, "supergroup", True)),
        ("private_group", 4001234, (-4001234, "group", False)),
        ("personal_chat", 1001, (1001, "private", False)),
        ("public_channel", 77, (-10077, "channel", True)),
    ],
)
def test_exported_chats_map_to_bot_api_chat_ids(export_type: str, export_id: int, expected: tuple) -> None:
    assert telegram_export.bot_api_chat(export_type, export_id) == expected


def test_what_is_not_an_export_is_refused(tmp_path: Path) -> None:
    for content in ("[]", '{"name": "x"}', "not json"):
        path = tmp_path / "result.json"
        path.write_text(content)
        with pytest.raises(telegram_export.ExportError):
            telegram_export.load(path)


def test_full_account_exports_list_their_chats() -> None:
    single = json.loads(EXPORT.read_text())
    chats = telegram_export.parse(
        {
            "about": "...",
            "chats": {"about": "...", "list": [single, single | {"id": 5, "type": "private_group"}]},
        }
    )
    assert [c.chat_id for c in chats] == [CHAT_ID, -5]


def _cli() -> typer.Typer:
    app = typer.Typer()
    bot_cli.register(app)
    return app


async def _stored(database_url: str, make_settings) -> tuple[list[Message], list[Channel]]:
    engine = create_engine(make_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            messages = list((await session.execute(select(Message).order_by(Message.id))).scalars())
            channels = list((await session.execute(select(Channel))).scalars())
            return messages, channels
    finally:
        await engine.dispose()


async def test_import_command_is_idempotent(database_url: str, make_settings, tmp_path: Path) -> None:
    env = {"DATABASE_URL": database_url, "TASKTRACKER_DATA_DIR": str(tmp_path / "data"), "NATS_URL": ""}
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, _cli(), ["import", "telegram", str(EXPORT)], env=env)
    assert first.exit_code == 0, first.output
    assert "5 message(s) stored, 0 already there, 3 skipped" in first.output

    messages, channels = await _stored(database_url, make_settings)
    assert [c.name for c in channels] == [f"telegram:{CHAT_ID}"] and channels[0].settings["title"] == "Team"
    by_id = {m.external_id: m for m in messages}
    assert set(by_id) == {f"{CHAT_ID}:{i}" for i in (2, 3, 4, 6, 8)}  # the ids the live bot uses too
    reply = by_id[f"{CHAT_ID}:3"]
    assert reply.content == "same on Safari, see the log" and reply.author == "Bob"
    assert reply.thread_external_id == f"{CHAT_ID}:2" and reply.meta["links"] == [
        "https://logs.example.com/1"
    ]
    assert reply.sent_at.isoformat() == "2025-03-01T09:07:12+00:00"  # date_unixtime, in UTC
    assert by_id[f"{CHAT_ID}:4"].content == "task: rotate the API keys before Friday"  # a photo's caption
    assert by_id[f"{CHAT_ID}:8"].author is None and by_id[f"{CHAT_ID}:8"].content.startswith("Привет")
    assert all(m.status == "received" for m in messages)  # the server's sweep classifies them

    second = await asyncio.to_thread(runner.invoke, _cli(), ["import", "telegram", str(EXPORT)], env=env)
    assert second.exit_code == 0 and "0 message(s) stored, 5 already there" in second.output
    assert len((await _stored(database_url, make_settings))[0]) == 5


async def test_basic_group_exports_keep_their_own_message_ids(
    database_url: str, make_settings, tmp_path: Path
) -> None:
    data = json.loads(EXPORT.read_text()) | {"type": "private_group", "id": 4001234}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data))
    summary = await bot_cli.import_telegram_file(make_settings(), path)
    assert (summary.created, summary.skipped) == (5, 3)
    messages, _ = await _stored(database_url, make_settings)
    # account-specific ids of a basic group must not collide with the ids the bot sees
    assert {m.external_id for m in messages} == {f"-4001234:x{i}" for i in (2, 3, 4, 6, 8)}


def test_a_file_that_is_not_an_export_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"hello": 1}')
    result = CliRunner().invoke(
        _cli(), ["import", "telegram", str(path)], env={"TASKTRACKER_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2 and "not a Telegram Desktop JSON export" in result.output
