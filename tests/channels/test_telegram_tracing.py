"""A Telegram message polled by the bot is one trace: the update, its ingestion, its job, its classification."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tests.channels import updates as tg
from tests.channels.conftest import running
from tests.channels.fake_telegram import FakeTelegram
from tests.support.app import eventually
from tests.support.tracing import finished, one, parent_id, recorded_spans


async def test_a_polled_update_is_one_trace(telegram_settings, fake_telegram: FakeTelegram) -> None:
    with recorded_spans() as spans:
        async with running(telegram_settings(telegram_chats=str(tg.GROUP["id"]))):
            await eventually(lambda: "getUpdates" in fake_telegram.methods)
            await fake_telegram.push(tg.update(41, tg.message(tg.GROUP, 3, "bug: the login page loops")))
            await eventually(finished(spans, "messages.classify"))

    update = one(spans, "telegram.update")
    assert update.kind is SpanKind.CONSUMER and update.parent is None
    assert update.attributes is not None and update.attributes["telegram.update_id"] == 41
    trace_id = update.context.trace_id
    ingest, enqueue = one(spans, "messages.ingest"), one(spans, "messages.enqueue")
    assert (ingest.context.trace_id, parent_id(ingest)) == (trace_id, update.context.span_id)
    assert ingest.attributes is not None and ingest.attributes["message.channel_kind"] == "telegram"
    assert (enqueue.context.trace_id, parent_id(enqueue)) == (trace_id, update.context.span_id)
    classify = one(spans, "messages.classify")
    assert (classify.context.trace_id, parent_id(classify)) == (trace_id, enqueue.context.span_id)
