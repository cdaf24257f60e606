"""Fixtures for the channel adapters: the Telegram stand-in, and the real app served over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tasktracker.api.app import create_app
from tasktracker.config import Settings
from tasktracker.runtime import Role
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import ScriptedClassifier, serve


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
def telegram_settings(
    make_settings: Callable[..., Settings], fake_telegram: FakeTelegram
) -> Callable[..., Settings]:
    """Settings for a bot that talks to the stand-in, polling fast."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": fake_telegram.token,
            "telegram_api_url": fake_telegram.base_url,
            "telegram_poll_timeout_s": 2,
            "public_url": "https://tt.example.com",
        }
        values.update(overrides)
        return make_settings(**values)

    return factory


@contextlib.asynccontextmanager
async def running(settings: Settings, role: Role = Role.all) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app (API, worker, and the bot when configured) on a free port, with a scripted classifier."""
    classifier = ScriptedClassifier()
    app = create_app(settings, role=role, migrate=True, classifier=classifier)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        client.app = app  # type: ignore[attr-defined]
        client.classifier = classifier  # type: ignore[attr-defined]
        yield client
