"""Dashboard statistics computed by the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tasktracker.db import create_engine, create_sessionmaker, utcnow
from tasktracker.migrations import upgrade
from tasktracker.models import Channel, Message
from tasktracker.stats import service as stats_service


async def test_messages_per_day_are_utc_days_whatever_the_session_time_zone(make_settings) -> None:
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        late = (utcnow() - timedelta(days=2)).replace(hour=23, minute=30)  # 08:30 next day in Tokyo
        async with sessions() as session:
            channel = Channel(kind="api", name="tz")
            session.add(channel)
            await session.flush()
            assert channel.id is not None
            session.add(
                Message(
                    channel_id=channel.id, external_id="late", content="x", received_at=late, sent_at=late
                )
            )
            await session.commit()
        async with sessions() as session:
            if engine.dialect.name == "postgresql":  # a server (or role) configured with a local zone
                await session.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
            stats = await stats_service.stats(session)
        assert [(d.day, d.count) for d in stats.messages_per_day] == [(late.date(), 1)]
    finally:
        await engine.dispose()
