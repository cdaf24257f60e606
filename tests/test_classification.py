"""Recording classifications: what concurrent jobs (several workers on PostgreSQL) leave in the database."""

from __future__ import annotations

import asyncio

from tasktracker.classification.schemas import Category, Classification, Priority
from tasktracker.classification.service import find_stuck as find_stuck_in
from tasktracker.classification.service import record
from tasktracker.db import create_engine, create_sessionmaker, utcnow
from tasktracker.migrations import upgrade
from tasktracker.models import Channel, Message, Task
from tasktracker.runtime import Role, build_runtime
from tasktracker.unit_of_work import UnitOfWork
from tasktracker.worker.jobs import classify_message

TEXT = "bug: the export button does nothing"


async def test_concurrent_repeats_of_a_request_all_count_on_its_task(make_settings) -> None:
    settings = make_settings()
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            channel = Channel(kind="api", name="dup")
            session.add(channel)
            await session.flush()
            assert channel.id is not None
            messages = [Message(channel_id=channel.id, external_id=f"m{i}", content=TEXT) for i in range(4)]
            session.add_all(messages)
            await session.flush()
            now = utcnow()
            task = Task(
                title="export",
                description=TEXT,
                category=Category.bug,
                priority=Priority.medium,
                source_message_id=messages[0].id,
                channel_id=channel.id,
                message_count=1,
                created_at=now,
                updated_at=now,
            )
            session.add(task)
            await session.commit()
        result = Classification(
            category=Category.bug,
            priority=Priority.medium,
            actionable=True,
            title="export",
            summary=TEXT,
            confidence=0.9,
            model="scripted",
            latency_ms=1.0,
        )

        async def job(message_id: int) -> int | None:
            async with sessions() as session:
                outcome = await record(UnitOfWork(session), settings, message_id, result)
                await session.commit()
            return outcome.duplicate_of

        linked = await asyncio.gather(*(job(m.id) for m in messages[1:] if m.id is not None))
        assert linked == [task.id] * 3
        async with sessions() as session:
            stored = await session.get(Task, task.id)
            assert stored is not None and stored.message_count == 4  # no increment lost
    finally:
        await engine.dispose()


async def _stored_message(settings, content: str = "task: rotate the deploy keys") -> tuple:
    engine = create_engine(settings)
    await upgrade(engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        channel = Channel(kind="api", name="claims")
        session.add(channel)
        await session.flush()
        assert channel.id is not None
        message = Message(channel_id=channel.id, external_id="c1", content=content)
        session.add(message)
        await session.commit()
        assert message.id is not None
        return engine, sessions, message.id


async def find_stuck(sessions, settings) -> list[int]:
    async with sessions() as session:
        ids = await find_stuck_in(session, settings)
        await session.commit()
    return ids


async def _message(sessions, message_id: int) -> Message:
    async with sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None
        return message


async def test_duplicate_delivery_during_classification_is_skipped(make_settings) -> None:
    """A second delivery of the job while a worker classifies neither calls the model nor counts an attempt."""
    from tests.support.app import ScriptedClassifier

    settings = make_settings()
    engine, sessions, message_id = await _stored_message(settings)
    classifier = ScriptedClassifier(delay=0.5)
    worker = build_runtime(settings, Role.worker, classifier)
    try:
        first = asyncio.create_task(classify_message(worker, message_id))
        await asyncio.sleep(0.2)  # the first run holds a fresh claim now
        second = await classify_message(worker, message_id)
        outcome = await first
        assert second.skipped and not outcome.skipped
        assert len(classifier.calls) == 1
        message = await _message(sessions, message_id)
        assert message.status == "classified" and message.attempts == 1
    finally:
        await worker.stop()
        await engine.dispose()


async def test_a_dead_runs_claim_is_taken_over_and_swept(make_settings) -> None:
    """A claim older than a job may run (the worker died) is re-queued by the sweep and taken by a new run."""
    from datetime import timedelta

    from sqlalchemy import update

    from tests.support.app import ScriptedClassifier

    settings = make_settings(job_ack_wait_s=60, sweep_stuck_after_s=30)
    engine, sessions, message_id = await _stored_message(settings)
    try:
        async with sessions() as session:  # a worker claimed it 2 minutes ago and died
            await session.execute(
                update(Message)
                .where(Message.id == message_id)  # type: ignore[arg-type]
                .values(status="classifying", attempts=1, updated_at=utcnow() - timedelta(minutes=2))
            )
            await session.commit()
        assert await find_stuck(sessions, settings) == [message_id]
        message = await _message(sessions, message_id)
        assert message.status == "received"
        assert await find_stuck(sessions, settings) == []  # not swept again straight away
        worker = build_runtime(settings, Role.worker, ScriptedClassifier())
        try:
            outcome = await classify_message(worker, message_id)
        finally:
            await worker.stop()
        assert not outcome.skipped and outcome.task_id is not None
        assert (await _message(sessions, message_id)).attempts == 2
    finally:
        await engine.dispose()


async def test_a_fresh_claim_is_not_swept(make_settings) -> None:
    from sqlalchemy import update

    settings = make_settings(job_ack_wait_s=60, sweep_stuck_after_s=0.001)
    engine, sessions, message_id = await _stored_message(settings)
    try:
        async with sessions() as session:
            await session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(status="classifying", updated_at=utcnow())  # type: ignore[arg-type]
            )
            await session.commit()
        await asyncio.sleep(0.05)
        assert await find_stuck(sessions, settings) == []
    finally:
        await engine.dispose()


async def test_the_review_queue_gets_low_category_or_priority_confidence_and_every_urgent(
    make_settings,
) -> None:
    """Issue 14: a person confirms what the model is unsure of, and every `urgent`."""
    from tasktracker.classification.service import record

    settings = make_settings()
    cases = [  # (priority, category confidence, priority confidence) -> needs_review
        (Priority.medium, 0.9, 0.9, False),
        (Priority.medium, 0.5, 0.9, True),
        (Priority.medium, 0.9, 0.3, True),
        (Priority.high, 0.9, None, False),  # an LLM answer has no priority probability
        (Priority.urgent, 0.99, 0.99, True),
    ]
    engine, sessions, _ = await _stored_message(settings)
    try:
        async with sessions() as session:
            channel = Channel(kind="api", name="review")
            session.add(channel)
            await session.flush()
            assert channel.id is not None
            topics = ["renew the cert", "fix the footer", "export to pdf", "upgrade redis", "prod is down"]
            messages = [
                Message(channel_id=channel.id, external_id=f"r{i}", content=topic)
                for i, topic in enumerate(topics)
            ]
            session.add_all(messages)
            await session.commit()
        for message, (priority, confidence, priority_confidence, expected) in zip(
            messages, cases, strict=True
        ):
            assert message.id is not None
            result = Classification(
                category=Category.task,
                priority=priority,
                actionable=True,
                title=f"case {message.id}",
                confidence=confidence,
                priority_confidence=priority_confidence,
                model="scripted",
                latency_ms=1.0,
            )
            async with sessions() as session:
                outcome = await record(UnitOfWork(session), settings, message.id, result)
                await session.commit()
            async with sessions() as session:
                task = await session.get(Task, outcome.task_id)
                assert task is not None
                assert task.needs_review is expected, (priority, confidence, priority_confidence)
    finally:
        await engine.dispose()
