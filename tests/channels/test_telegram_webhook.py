"""Webhook mode: Telegram POSTs updates to the API; the same bot handles them and answers over HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tasktracker.channels import telegram
from tests.channels import updates as tg
from tests.channels.conftest import running
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import eventually, get_json

SECRET = "s3cret-Token_for-webhooks"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


async def _contents(client: httpx.AsyncClient) -> list[str]:
    return sorted(m["content"] for m in (await get_json(client, "/api/messages"))["data"])


async def test_webhook_stores_updates_once_and_answers_commands(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    async with running(telegram_settings(telegram_webhook_secret=SECRET)) as client:
        body = tg.update(71, tg.message(tg.SUPERGROUP, 80, "bug: webhook message"))
        first = await client.post("/webhook/telegram", json=body, headers=HEADERS)
        assert first.status_code == 200 and first.json() == {"ok": True}
        assert await _contents(client) == ["bug: webhook message"]  # stored before the 200
        again = await client.post("/webhook/telegram", json=body, headers=HEADERS)  # Telegram's retry
        same_message = tg.update(72, tg.message(tg.SUPERGROUP, 80, "bug: webhook message"))
        other_update = await client.post("/webhook/telegram", json=same_message, headers=HEADERS)
        assert again.status_code == 200 and other_update.status_code == 200
        assert await _contents(client) == ["bug: webhook message"]

        edit = tg.edited(73, tg.message(tg.SUPERGROUP, 80, "x"), "bug: webhook message, edited")
        assert (await client.post("/webhook/telegram", json=edit, headers=HEADERS)).status_code == 200
        assert await _contents(client) == ["bug: webhook message", "bug: webhook message, edited"]

        command = tg.update(74, tg.message(tg.SUPERGROUP, 81, "/help"))
        assert (await client.post("/webhook/telegram", json=command, headers=HEADERS)).status_code == 200
        await eventually(lambda: fake_telegram.calls_of("sendMessage"))
        assert "/tasks" in fake_telegram.sent_texts(tg.SUPERGROUP["id"])[0]
        assert "getUpdates" not in fake_telegram.methods  # webhook mode never polls


async def test_webhook_refuses_bad_requests(telegram_settings, fake_telegram: FakeTelegram) -> None:
    async with running(telegram_settings(telegram_webhook_secret=SECRET)) as client:
        body = tg.update(75, tg.message(tg.SUPERGROUP, 90, "bug: must not be stored"))
        cases = [
            ({}, {"json": body}, 401, "bad_secret_token"),
            ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {"json": body}, 401, "bad_secret_token"),
            (
                HEADERS,
                {"content": b"{not json", "headers": {"content-type": "application/json"}},
                400,
                "malformed_json",
            ),
            (HEADERS, {"json": [1, 2]}, 400, "malformed_json"),
            (HEADERS, {"json": {"message": {"text": "no update id"}}}, 422, "invalid_update"),
        ]
        for headers, kwargs, status, code in cases:
            extra = kwargs.pop("headers", {})
            response = await client.post("/webhook/telegram", headers=headers | extra, **kwargs)
            assert response.status_code == status, response.text
            assert response.json()["code"] == code and response.json()["detail"]
        assert await _contents(client) == []


async def test_webhook_failure_answers_5xx_and_the_retry_stores_once(
    telegram_settings, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest = telegram.ingest
    failures = iter([True])

    async def flaky_ingest(*args, **kwargs):
        if next(failures, False):
            raise ConnectionError("database went away")
        return await real_ingest(*args, **kwargs)

    monkeypatch.setattr(telegram, "ingest", flaky_ingest)
    async with running(telegram_settings(telegram_webhook_secret=SECRET)) as client:
        body = tg.update(76, tg.message(tg.SUPERGROUP, 91, "bug: survives a failure"))
        failed = await client.post("/webhook/telegram", json=body, headers=HEADERS)
        assert failed.status_code == 500 and failed.json()["code"] == "internal_error"
        assert await _contents(client) == []
        retried = await client.post("/webhook/telegram", json=body, headers=HEADERS)
        assert retried.status_code == 200
        assert await _contents(client) == ["bug: survives a failure"]


async def test_webhook_is_404_without_a_configured_bot(make_settings) -> None:
    async with running(make_settings()) as client:
        response = await client.post("/webhook/telegram", json={"update_id": 1}, headers=HEADERS)
        assert response.status_code == 404 and response.json()["code"] == "telegram_not_configured"


async def test_polling_retries_an_update_whose_handler_failed(
    telegram_settings, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest = telegram.ingest
    failures = iter([True, True])

    async def flaky_ingest(*args, **kwargs):
        if next(failures, False):
            raise ConnectionError("database went away")
        return await real_ingest(*args, **kwargs)

    monkeypatch.setattr(telegram, "ingest", flaky_ingest)
    monkeypatch.setattr("tasktracker.bot.gateway.BACKOFF", _fast_backoff())
    async with running(telegram_settings()) as client:
        await fake_telegram.push(
            tg.update(77, tg.message(tg.SUPERGROUP, 92, "bug: first")),
            tg.update(78, tg.message(tg.SUPERGROUP, 93, "bug: second")),
        )
        await eventually(lambda: _has(client, ["bug: first", "bug: second"]))
        offsets = [int(p.get("offset") or 0) for p in fake_telegram.calls_of("getUpdates")]
        # the failed update was fetched again twice (the offset never passed it) before the bot went on
        before = offsets[: offsets.index(79)]
        assert len(before) >= 3 and all(offset in (0, 77) for offset in before), offsets
        await asyncio.sleep(0.1)
        assert await _contents(client) == ["bug: first", "bug: second"]


def _fast_backoff():
    from aiogram.utils.backoff import BackoffConfig

    return BackoffConfig(min_delay=0.05, max_delay=0.1, factor=1.1, jitter=0.0)


async def _has(client: httpx.AsyncClient, expected: list[str]) -> bool:
    return await _contents(client) == expected


def _nested_1000(payload: dict) -> bytes:
    """The payload with its `"DEEP"` value replaced by JSON nested 1,000 levels (written by hand:
    too deep for json.dumps)."""
    return json.dumps(payload).replace('"DEEP"', '{"a":' * 1000 + '"x"' + "}" * 1000).encode()


async def test_telegram_webhook_survives_a_giant_name_and_deep_json(telegram_settings) -> None:
    secret = "telegram-webhook-secret"
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    async with running(telegram_settings(telegram_webhook_secret=secret)) as client:
        giant = tg.message(
            tg.SUPERGROUP, 1, "bug: long name", user={"id": 5, "is_bot": False, "first_name": "N" * 5000}
        )
        response = await client.post("/webhook/telegram", json=tg.update(1, giant), headers=headers)
        assert response.status_code == 200, response.text
        messages = (await get_json(client, "/api/messages"))["data"]
        assert [len(m["author"]) for m in messages] == [200]  # a display name, shortened to fit

        deep = _nested_1000(tg.update(2, tg.message(tg.SUPERGROUP, 2, "bug: deep", reply_markup="DEEP")))
        response = await client.post("/webhook/telegram", content=deep, headers=headers)
        assert response.status_code == 422 and response.json()["code"] == "json_too_deep", response.text
        assert len((await get_json(client, "/api/messages"))["data"]) == 1
