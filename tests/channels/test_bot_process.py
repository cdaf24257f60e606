"""`tasktracker bot` as its own process: polling, with NATS and no worker online, loses nothing."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import nats
import pytest
from sqlalchemy import select

from tasktracker.bot.runner import run_bot
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.models import Message
from tests.channels import updates as tg
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import ScriptedClassifier, WorkerProcess, eventually
from tests.support.services import free_port


@pytest.fixture
def nats_names(nats_server, unique) -> dict[str, str]:
    return {
        "nats_url": nats_server.url,
        "nats_stream": f"tt_jobs_{unique}",
        "nats_subject": f"tt.{unique}.jobs",
        "nats_durable": f"tt_workers_{unique}",
        "nats_events_subject": f"tt.{unique}.events",
    }


@pytest.fixture(autouse=True)
async def _delete_stream(nats_server, unique):
    yield
    nc = await nats.connect(nats_server.url)
    with contextlib.suppress(Exception):
        await nc.jetstream().delete_stream(f"tt_jobs_{unique}")
    await nc.close()


async def _statuses(sessions) -> list[str]:
    async with sessions() as session:
        return [m.status for m in (await session.execute(select(Message).order_by(Message.id))).scalars()]


async def test_bot_process_stores_messages_while_no_worker_is_online(
    telegram_settings, fake_telegram: FakeTelegram, nats_names: dict[str, str]
) -> None:
    settings = telegram_settings(**nats_names, health_port=free_port())
    engine = create_engine(settings)
    from tasktracker.migrations import upgrade

    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    fake_telegram.webhook = {"url": "https://old.example.com/webhook/telegram"}  # left over from webhook mode
    stop = asyncio.Event()
    bot = asyncio.create_task(run_bot(settings, stop, classifier=ScriptedClassifier()))
    worker = None
    try:
        # The bot's broker has connected (it made the stream): before that, a message is stored and
        # left to the sweep, which this test does not wait for.
        await eventually(lambda: _stream_exists(settings), timeout=15)
        await fake_telegram.push(
            tg.update(81, tg.message(tg.SUPERGROUP, 1, "bug: stored with no worker online"))
        )
        assert await eventually(lambda: _statuses(sessions)) == ["received"]
        assert fake_telegram.methods.index("deleteWebhook") < fake_telegram.methods.index("getUpdates")
        assert fake_telegram.webhook is None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.health_port}") as probes:
            ready = await probes.get("/readyz")  # what the bot pod's readinessProbe asks
            assert ready.status_code == 200
            assert ready.json()["checks"] == {
                "database": "ok",
                "broker": "ok",
                "events": "ok",
                "classifier": "ok",
                "telegram": "ok",
            }

        # a worker comes online later and finds the job waiting in JetStream
        worker = WorkerProcess(settings, ScriptedClassifier())
        await worker.start()
        await eventually(lambda: _all_classified(sessions), timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(bot, 15)
        if worker is not None:
            await worker.stop()
        await engine.dispose()


async def _stream_exists(settings) -> bool:
    nc = await nats.connect(settings.nats_url)
    try:
        await nc.jetstream().stream_info(settings.nats_stream)
        return True
    except Exception:
        return False
    finally:
        await nc.close()


async def _all_classified(sessions) -> bool:
    return await _statuses(sessions) == ["classified"]


async def test_bot_process_fails_when_telegram_refuses_the_token(
    telegram_settings, fake_telegram: FakeTelegram
) -> None:
    settings = telegram_settings(telegram_bot_token="999:not-the-stand-in-token")
    from aiogram.exceptions import TelegramUnauthorizedError

    with pytest.raises(TelegramUnauthorizedError):
        await asyncio.wait_for(run_bot(settings, classifier=ScriptedClassifier()), 15)


async def test_bot_is_alive_but_not_ready_while_telegram_is_unreachable(telegram_settings) -> None:
    settings = telegram_settings(telegram_api_url=f"http://127.0.0.1:{free_port()}", health_port=free_port())
    stop = asyncio.Event()
    bot = asyncio.create_task(run_bot(settings, stop, classifier=ScriptedClassifier()))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.health_port}") as probes:

            async def answered() -> httpx.Response | None:
                try:
                    return await probes.get("/readyz")
                except httpx.TransportError:
                    return None

            ready = await eventually(answered)
            assert ready is not None and ready.status_code == 503
            assert ready.json()["down"] == ["telegram"]  # database and the embedded broker are fine
            assert (await probes.get("/healthz")).status_code == 200
    finally:
        stop.set()
        await asyncio.wait_for(bot, 15)
