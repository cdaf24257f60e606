"""`tasktracker bot set-webhook / delete-webhook / webhook-info` against the Telegram stand-in."""

from __future__ import annotations

import asyncio

import pytest
import typer
from typer.testing import CliRunner

from tasktracker.bot import cli as bot_cli
from tests.channels.fake_telegram import FakeTelegram

SECRET = "s3cret-Token_for-webhooks"


def _cli() -> typer.Typer:
    app = typer.Typer()
    bot_cli.register(app)
    return app


async def _invoke(fake: FakeTelegram, args: list[str], **env: str):
    base = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TASKTRACKER_TELEGRAM_API_URL": fake.base_url,
        "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TASKTRACKER_PUBLIC_URL": "",
    }
    return await asyncio.to_thread(CliRunner().invoke, _cli(), args, env=base | env)


async def test_set_webhook_registers_url_secret_and_update_types(fake_telegram: FakeTelegram) -> None:
    result = await _invoke(fake_telegram, ["bot", "set-webhook", "https://tt.example.com"])
    assert result.exit_code == 0, result.output
    assert "https://tt.example.com/webhook/telegram" in result.output
    [call] = fake_telegram.calls_of("setWebhook")
    assert call["url"] == "https://tt.example.com/webhook/telegram"
    assert call["secret_token"] == SECRET
    assert set(call["allowed_updates"]) == {"message", "edited_message"}
    assert call.get("drop_pending_updates") in (None, False)  # pending updates are kept
    assert fake_telegram.calls_of("setMyCommands")

    info = await _invoke(fake_telegram, ["bot", "webhook-info"])
    assert info.exit_code == 0 and '"url": "https://tt.example.com/webhook/telegram"' in info.output

    deleted = await _invoke(fake_telegram, ["bot", "delete-webhook", "--drop-pending-updates"])
    assert deleted.exit_code == 0 and fake_telegram.webhook is None
    assert fake_telegram.calls_of("deleteWebhook")[-1]["drop_pending_updates"] is True


async def test_set_webhook_defaults_to_the_public_url(fake_telegram: FakeTelegram) -> None:
    result = await _invoke(
        fake_telegram, ["bot", "set-webhook"], TASKTRACKER_PUBLIC_URL="https://tt.example.com:8443/hook"
    )
    assert result.exit_code == 0, result.output
    assert fake_telegram.calls_of("setWebhook")[0]["url"] == "https://tt.example.com:8443/hook"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["http://tt.example.com"], {}, "https://"),
        (["https://tt.example.com:9000"], {}, "443, 80, 88 and 8443"),
        ([], {}, "TASKTRACKER_PUBLIC_URL"),
        (["https://tt.example.com"], {"TASKTRACKER_TELEGRAM_WEBHOOK_SECRET": ""}, "WEBHOOK_SECRET"),
        (["https://tt.example.com"], {"TASKTRACKER_TELEGRAM_WEBHOOK_SECRET": "has spaces"}, "WEBHOOK_SECRET"),
    ],
)
async def test_set_webhook_refuses_what_telegram_would(
    fake_telegram: FakeTelegram, args, env, message
) -> None:
    result = await _invoke(fake_telegram, ["bot", "set-webhook", *args], **env)
    assert result.exit_code == 2 and message in result.output
    assert fake_telegram.calls_of("setWebhook") == []


async def test_bot_commands_need_a_token(fake_telegram: FakeTelegram) -> None:
    result = await _invoke(fake_telegram, ["bot", "delete-webhook"], TELEGRAM_BOT_TOKEN="")
    assert result.exit_code == 2 and "TELEGRAM_BOT_TOKEN" in result.output


async def test_a_refused_token_exits_1(fake_telegram: FakeTelegram) -> None:
    result = await _invoke(fake_telegram, ["bot", "delete-webhook"], TELEGRAM_BOT_TOKEN="999:wrong-token")
    assert result.exit_code == 1 and "Telegram refused" in result.output


def test_the_tasktracker_command_has_the_groups() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "tasktracker.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "bot" in result.stdout and "import" in result.stdout
    bot_help = subprocess.run(
        [sys.executable, "-m", "tasktracker.cli", "bot", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert all(name in bot_help.stdout for name in ("set-webhook", "delete-webhook", "webhook-info"))
