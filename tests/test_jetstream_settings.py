"""A stream or consumer that exists with other settings (changed max age, ack_wait, max_deliver) is
updated at start, or refused with the reason, on a real NATS JetStream server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from tasktracker.broker import create_broker
from tasktracker.jetstream import JetStreamSettingsError, ensure_consumer, ensure_stream


@pytest.fixture
async def js(nats_server, unique) -> AsyncIterator[nats.js.JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    try:
        yield nc.jetstream()
    finally:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(f"tt_jobs_{unique}")
        await nc.close()


def stream(unique: str, **overrides) -> StreamConfig:
    values = {
        "name": f"tt_jobs_{unique}",
        "subjects": [f"tt.{unique}.jobs"],
        "retention": RetentionPolicy.WORK_QUEUE,
        "storage": StorageType.FILE,
        "max_age": 3600.0,
    }
    return StreamConfig(**(values | overrides))


def consumer(unique: str, **overrides) -> ConsumerConfig:
    values = {
        "durable_name": f"tt_workers_{unique}",
        "ack_policy": AckPolicy.EXPLICIT,
        "ack_wait": 30.0,
        "max_deliver": 5,
        "max_ack_pending": 64,
        "filter_subject": f"tt.{unique}.jobs",
    }
    return ConsumerConfig(**(values | overrides))


async def test_a_changed_max_age_updates_the_stream(js, unique) -> None:
    assert await ensure_stream(js, stream(unique)) == []  # created
    assert await ensure_stream(js, stream(unique)) == []  # unchanged
    changes = await ensure_stream(js, stream(unique, max_age=7200.0))
    assert [str(c) for c in changes] == ["max_age 3600.0 -> 7200.0"]
    assert (await js.stream_info(f"tt_jobs_{unique}")).config.max_age == 7200.0


async def test_a_retention_change_is_refused_with_the_way_out(js, unique) -> None:
    await ensure_stream(js, stream(unique))
    with pytest.raises(
        JetStreamSettingsError, match=rf"cannot change in place: .*nats stream rm tt_jobs_{unique}"
    ):
        await ensure_stream(js, stream(unique, retention=RetentionPolicy.LIMITS))
    info = await js.stream_info(f"tt_jobs_{unique}")
    assert info.config.retention == RetentionPolicy.WORK_QUEUE  # left as it was


async def test_changed_ack_wait_and_max_deliver_update_the_consumer(js, unique) -> None:
    await ensure_stream(js, stream(unique))
    assert await ensure_consumer(js, f"tt_jobs_{unique}", consumer(unique)) == []
    changes = await ensure_consumer(js, f"tt_jobs_{unique}", consumer(unique, ack_wait=90.0, max_deliver=3))
    assert {c.field for c in changes} == {"ack_wait", "max_deliver"}
    info = await js.consumer_info(f"tt_jobs_{unique}", f"tt_workers_{unique}")
    assert info.config.ack_wait == 90.0 and info.config.max_deliver == 3


async def test_the_broker_applies_changed_settings_at_start(make_settings, nats_server, js, unique) -> None:
    names = {
        "nats_url": nats_server.url,
        "nats_stream": f"tt_jobs_{unique}",
        "nats_subject": f"tt.{unique}.jobs",
        "nats_durable": f"tt_workers_{unique}",
    }
    for ack_wait, max_age in ((120.0, 3600.0), (240.0, 7200.0)):  # a deploy changes the settings
        broker = create_broker(make_settings(**names, job_ack_wait_s=ack_wait, job_max_age_s=max_age))
        await broker.startup()
        await broker.shutdown()
        info = await js.consumer_info(f"tt_jobs_{unique}", f"tt_workers_{unique}")
        assert info.config.ack_wait == ack_wait
        assert (await js.stream_info(f"tt_jobs_{unique}")).config.max_age == max_age
