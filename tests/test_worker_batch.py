"""The worker's groups (`worker/batch.py`): jobs in hand at once are claimed, classified and recorded
together, with every promise of the one-job path (exactly once, failures kept to their own message)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tasktracker.api.app import create_app
from tasktracker.classification import service as classification
from tasktracker.classification.schemas import Classification
from tasktracker.models import Issue, Message, Task
from tasktracker.runtime import Role, Runtime, build_runtime
from tasktracker.worker.batch import ClassifyGroups
from tests.support.app import ScriptedClassifier, serve


class Poisoned(ScriptedClassifier):
    """Fails on any text that says "poison" (and has no batch call: one call per text)."""

    async def classify(self, text: str) -> Classification:
        if "poison" in text:
            raise RuntimeError("this text breaks the model")
        return await super().classify(text)


@pytest.fixture(params=["two units", "one unit"])
def unit_per_group(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Groups claimed and recorded in two units (any classifier), or in one (an `in_process` one)."""
    monkeypatch.setattr(ScriptedClassifier, "in_process", request.param == "one unit", raising=False)
    return str(request.param)


async def _store(settings: Any, contents: list[str]) -> list[int]:
    app = create_app(settings, role=Role.api, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        items = [{"content": c, "channel": "group", "external_id": f"g{i}"} for i, c in enumerate(contents)]
        answer = await client.post("/api/messages/batch", json={"messages": items})
        assert answer.status_code == 202, answer.text
        return [m["id"] for m in answer.json()["data"]]


async def _rows(runtime: Runtime) -> tuple[dict[int, str], dict[int, int], list[Task]]:
    async with runtime.sessions() as session:
        status = dict((await session.execute(select(Message.id, Message.status))).tuples().all())
        issues = dict(
            (await session.execute(select(Issue.message_id, func.count()).group_by(Issue.message_id)))
            .tuples()
            .all()
        )
        tasks = list((await session.scalars(select(Task).order_by(Task.id))).all())
    return status, issues, tasks


async def _attempts(runtime: Runtime, ids: list[int] | None = None) -> set[int]:
    """The attempts the messages (of `ids`, else all) have used."""
    stmt = select(Message.attempts)
    if ids is not None:
        stmt = stmt.where(col(Message.id).in_(ids))
    async with runtime.sessions() as session:
        return set((await session.scalars(stmt)).all())


async def test_jobs_in_hand_go_through_as_one_group(make_settings, unit_per_group: str) -> None:
    settings = make_settings()
    contents = [f"bug: report {i} crashes on page {i}" for i in range(8)] + ["hello all", "hello again"]
    contents.append("bug: report 3 crashes on page 3")  # a repeat of a message of the same group
    ids = await _store(settings, contents)
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        outcomes = await asyncio.gather(*(groups.submit(m) for m in ids))
        status, issues, tasks = await _rows(runtime)
    finally:
        await runtime.stop()
    assert groups.sizes == [len(ids)]  # no waiting window, and nothing split what was in hand
    assert set(status.values()) == {"classified"} and all(issues[m] == 1 for m in ids)
    assert len(tasks) == 8 and sum(o.task_created for o in outcomes) == 8
    repeat = outcomes[-1]
    assert repeat.duplicate_of == outcomes[3].task_id and not repeat.task_created
    assert next(t for t in tasks if t.id == repeat.duplicate_of).message_count == 2
    assert outcomes[8].task_id is None and outcomes[9].task_id is None  # noise: no task


async def test_two_workers_given_the_same_jobs_record_each_message_once(
    make_settings, unit_per_group: str
) -> None:
    settings = make_settings()
    ids = await _store(settings, [f"feature: export format {i}" for i in range(6)])
    workers = [
        build_runtime(settings, Role.worker, classifier=ScriptedClassifier(delay=0.05)) for _ in range(2)
    ]
    groups = [ClassifyGroups(w, max_batch=64) for w in workers]
    try:
        # Every job delivered twice to each worker: four deliveries of each message at once.
        outcomes = await asyncio.gather(*(g.submit(m) for g in groups for m in [*ids, *ids]))
        status, issues, tasks = await _rows(workers[0])
    finally:
        for w in workers:
            await w.stop()
    assert set(status.values()) == {"classified"}
    assert all(issues[m] == 1 for m in ids)  # one classification run recorded per message
    assert len(tasks) == len(ids) and sorted(t.source_message_id for t in tasks) == sorted(ids)
    assert sum(not o.skipped for o in outcomes) == len(ids)


async def test_one_message_the_model_cannot_handle_fails_only_its_own_job(
    make_settings, unit_per_group: str
) -> None:
    settings = make_settings()
    ids = await _store(settings, ["bug: one", "task: poison pill", "feature: three"])
    runtime = build_runtime(settings, Role.worker, classifier=Poisoned())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        results = await asyncio.gather(*(groups.submit(m) for m in ids), return_exceptions=True)
        status, _, tasks = await _rows(runtime)
    finally:
        await runtime.stop()
    assert isinstance(results[1], RuntimeError)  # not acknowledged: delivered again after ack_wait
    assert not isinstance(results[0], BaseException) and not isinstance(results[2], BaseException)
    assert status[ids[0]] == status[ids[2]] == "classified"
    assert status[ids[1]] == "classifying"  # claimed; the sweep or the redelivery takes it over
    assert len(tasks) == 2


async def test_a_group_whose_record_fails_is_recorded_one_by_one(
    make_settings, monkeypatch, unit_per_group: str
) -> None:
    settings = make_settings()
    ids = await _store(settings, ["bug: alpha", "bug: beta", "hello"])

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the group's unit failed")

    monkeypatch.setattr(classification, "record_batch", broken)
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        outcomes = await asyncio.gather(*(groups.submit(m) for m in ids))
        status, issues, tasks = await _rows(runtime)
        attempts = await _attempts(runtime, ids)
    finally:
        await runtime.stop()
    assert set(status.values()) == {"classified"} and all(issues[m] == 1 for m in ids)
    assert [o.task_created for o in outcomes] == [True, True, False] and len(tasks) == 2
    assert attempts == {1}  # a one-unit group that failed left no claim behind: claimed once, apart


@pytest.mark.parametrize("repeat", [False, True])
async def test_a_lone_job_starts_a_group_at_once(make_settings, repeat: bool) -> None:
    """No waiting window: one message, then another after the first finished, each in its own group."""
    settings = make_settings()
    ids = await _store(settings, ["task: first", "task: second" if not repeat else "task: first"])
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        first = await asyncio.wait_for(groups.submit(ids[0]), 30)
        second = await asyncio.wait_for(groups.submit(ids[1]), 30)
    finally:
        await runtime.stop()
    assert groups.sizes == [1, 1]
    assert first.task_created and (second.duplicate_of == first.task_id) is repeat


@pytest.mark.parametrize("contents", [["hello", "thanks all"], ["task: first", "task: first"]])
async def test_a_group_that_makes_no_new_task_is_recorded_as_a_group(
    make_settings, monkeypatch, contents: list[str]
) -> None:
    """Noise only, or a repeat of a task made earlier: the group's unit inserts no task (it used to send an
    empty INSERT, fail on its NOT NULL columns, and fall back to one unit per message)."""
    settings = make_settings()
    ids = await _store(settings, contents)
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        first = await groups.submit(ids[0])

        async def one_by_one(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("the group's unit failed and fell back to one unit per message")

        monkeypatch.setattr(classification, "record", one_by_one)
        second = await asyncio.wait_for(groups.submit(ids[1]), 30)
        status, issues, tasks = await _rows(runtime)
    finally:
        await runtime.stop()
    assert set(status.values()) == {"classified"} and all(issues[m] == 1 for m in ids)
    assert len(tasks) == (1 if first.task_created else 0)
    assert second.duplicate_of == first.task_id and not second.task_created


async def test_groups_of_one_match_the_tasks_made_since_the_channels_set_was_built(
    make_settings, monkeypatch
) -> None:
    """A worker at a low rate runs groups of one: each sees the tasks made since its channel's set was
    built in front of that set rather than stacking them all again, and repeats of those tasks, and of
    tasks a message has been linked to since (a new version, the same text), still link to them."""
    from tasktracker.classification import duplicate_index

    built = 0
    stack = duplicate_index.CandidateSet.__init__

    def counted(self: duplicate_index.CandidateSet, items: Any) -> None:
        nonlocal built
        built += 1
        stack(self, items)

    monkeypatch.setattr(duplicate_index.CandidateSet, "__init__", counted)
    settings = make_settings()
    # Earlier open tasks, so the channel's set is large enough to keep a few tasks in front of it.
    others = [
        f"bug: report {n} has the wrong totals" for n in ("two", "three", "five", "seven", "nine", "ten")
    ]
    firsts = [
        f"bug: the {thing} page crashes when saving drafts" for thing in ("billing", "profile", "search")
    ]
    repeats = [f"{firsts[0]} again", f"{firsts[0]} once more", f"{firsts[2]} again"]
    ids = await _store(settings, [*others, *firsts, *repeats, "bug: login is slow"])
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    groups = ClassifyGroups(runtime, max_batch=64)
    try:
        outcomes = [await groups.submit(m) for m in ids]  # one at a time: groups of one
        _, _, tasks = await _rows(runtime)
    finally:
        await runtime.stop()
    assert groups.sizes == [1] * len(ids)
    made = [o.task_id for o in outcomes[len(others) : len(others) + 3]]
    assert all(o.task_created for o in outcomes[: len(others) + 3]) and len(set(made)) == 3
    assert [o.duplicate_of for o in outcomes[-4:-1]] == [made[0], made[0], made[2]]
    assert outcomes[-1].task_created and len(tasks) == len(others) + 4
    assert built <= len(others)  # past the first few tasks, groups matched through a set built before


@pytest.mark.parametrize("waiting, second_group", [(3, False), (20, True)])
async def test_a_second_group_runs_beside_the_first_only_for_a_backlog(
    make_settings, waiting: int, second_group: bool
) -> None:
    """A few jobs that come while a group runs wait for its next turn (one group's fixed work instead of
    two at once in the process); a backlog (a quarter of a full group or more) starts a second group."""
    settings = make_settings()
    ids = await _store(settings, [f"task: step {i} of the rollout" for i in range(1 + waiting)])
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier(delay=0.2))
    groups = ClassifyGroups(runtime, max_batch=64)
    running, most = 0, 0
    run = groups._run

    async def counted(group: Any) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await run(group)
        finally:
            running -= 1

    groups._run = counted  # type: ignore[method-assign]
    try:
        first = asyncio.ensure_future(groups.submit(ids[0]))
        await asyncio.sleep(0.05)  # the first group is classifying
        rest = await asyncio.gather(*(groups.submit(m) for m in ids[1:]))
        await first
    finally:
        await runtime.stop()
    assert all(not o.skipped for o in rest)
    assert groups.sizes == [1, waiting]
    assert most == (2 if second_group else 1)


class Promoted(ScriptedClassifier):
    """Answers in process until `promote_after` questions of `in_process`; an LLM is promoted then."""

    def __init__(self, promote_after: int) -> None:
        super().__init__()
        self.asked = 0
        self.promote_after = promote_after

    @property
    def in_process(self) -> bool:
        self.asked += 1
        return self.asked <= self.promote_after


async def _two_unit_groups(groups: ClassifyGroups) -> list[int]:
    """Spy: the sizes of the groups that went the two-unit way."""
    seen: list[int] = []
    run = groups._run_in_two_units

    async def spied(group: Any) -> None:
        seen.append(len(group))
        await run(group)

    groups._run_in_two_units = spied  # type: ignore[method-assign]
    return seen


async def test_a_group_whose_llm_was_promoted_while_it_ran_goes_the_two_unit_way(make_settings) -> None:
    """In process when the group started, not by its classification (a duel decided meanwhile): the
    unit is rolled back, claims too, and the group is claimed, classified and recorded apart, once."""
    settings = make_settings()
    ids = await _store(settings, ["bug: export hangs", "hello"])
    classifier = Promoted(promote_after=1)
    runtime = build_runtime(settings, Role.worker, classifier=classifier)
    groups = ClassifyGroups(runtime, max_batch=64)
    two_units = await _two_unit_groups(groups)
    try:
        outcomes = await asyncio.gather(*(groups.submit(m) for m in ids))
        status, issues, tasks = await _rows(runtime)
        attempts = await _attempts(runtime, ids)
    finally:
        await runtime.stop()
    assert classifier.asked == 2 and two_units == [2]
    assert set(status.values()) == {"classified"} and all(issues[m] == 1 for m in ids)
    assert [o.task_created for o in outcomes] == [True, False] and len(tasks) == 1
    assert attempts == {1}  # the rolled-back claim left nothing behind


class Judge:
    """The duplicate judge as `ClassifyGroups` sees it: gated (`enabled`), started by each group."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = 0

    def start(self) -> None:
        self.started += 1

    async def review(self, calls: Any) -> dict[int, tuple[int, float]]:
        return {}


@pytest.mark.parametrize("gate_passed", [False, True])
async def test_an_llm_judge_of_duplicates_keeps_groups_in_two_units_once_its_gate_passed(
    make_settings, monkeypatch, gate_passed: bool
) -> None:
    """A configured judge whose gate has not passed is asked nothing: groups stay in one unit."""
    settings = make_settings()
    ids = await _store(settings, ["task: renew the certificate"])
    monkeypatch.setattr(ScriptedClassifier, "in_process", True, raising=False)
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    judge = Judge(enabled=gate_passed)
    runtime.duplicate_judge = judge  # type: ignore[assignment]
    groups = ClassifyGroups(runtime, max_batch=64)
    two_units = await _two_unit_groups(groups)
    try:
        [outcome] = await asyncio.gather(*(groups.submit(m) for m in ids))
    finally:
        await runtime.stop()
    assert outcome.task_created and judge.started >= 1
    assert two_units == ([1] if gate_passed else [])


async def test_warming_up_claims_and_changes_nothing(make_settings, monkeypatch, caplog) -> None:
    """A fresh worker warms up before it takes jobs (its first connection, statements, model call):
    the stored messages stay as they were, and a warm-up that fails only says so."""
    from tasktracker.worker.runner import Worker

    settings = make_settings()
    ids = await _store(settings, ["bug: checkout fails", "task: renew the certificate"])
    monkeypatch.setattr(ScriptedClassifier, "in_process", True, raising=False)
    classifier = ScriptedClassifier()
    runtime = build_runtime(settings, Role.worker, classifier=classifier)
    worker = Worker(runtime)
    try:
        await worker.groups.warm_up()
        status, issues, tasks = await _rows(runtime)
        attempts = await _attempts(runtime)

        async def broken() -> None:
            raise ConnectionError("the database is away")

        monkeypatch.setattr(worker.groups, "warm_up", broken)
        await worker._warm_up()  # logs, never raises: the jobs are taken cold
        outcome = await worker.groups.submit(ids[0])
    finally:
        await runtime.stop()
    assert set(status.values()) == {"received"} and attempts == {0} and not issues and not tasks
    assert classifier.calls == ["warming up: the export page crashes on save", "bug: checkout fails"]
    assert "warming up failed (ConnectionError: the database is away)" in caplog.text
    assert outcome.task_created


async def test_a_claim_is_rolled_back_with_its_unit(make_settings) -> None:
    """The claim is a unit's first statement (on PostgreSQL sent past SQLAlchemy, which begins its
    transaction lazily): a unit that fails takes its claims back."""
    from tasktracker.unit_of_work import unit_of_work

    settings = make_settings()
    ids = await _store(settings, ["bug: one", "task: two"])
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    try:
        with pytest.raises(RuntimeError, match="the unit fails"):
            async with unit_of_work(runtime) as uow:
                claims = await classification.claim_batch(uow.session, settings, ids)
                assert set(claims) == set(ids)
                raise RuntimeError("the unit fails")
        status, issues, _ = await _rows(runtime)
        attempts = await _attempts(runtime)
    finally:
        await runtime.stop()
    assert set(status.values()) == {"received"} and attempts == {0} and not issues


async def test_the_postgresql_forms_of_a_groups_reads_match_sqlalchemys(make_settings, monkeypatch) -> None:
    """On PostgreSQL a group's statements are written out for asyncpg (`db.driver_fetch`), beside the
    Core statements SQLite runs: both must say the same. The listing over tasks of every kind it must
    leave out (closed, merged, noise, too old, another channel), the texts, the claim, the rules."""
    from datetime import timedelta

    from sqlalchemy import update

    from tasktracker import db
    from tasktracker.classification.open_tasks import CATEGORIES
    from tasktracker.exports import repository as exports_repository
    from tasktracker.messages import repository as messages_repository
    from tasktracker.tasks import repository as tasks_repository
    from tasktracker.unit_of_work import unit_of_work

    settings = make_settings()
    if settings.effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite runs the Core statements only")
    contents = [f"bug: report {i} crashes" for i in range(6)] + [f"task: renew cert {i}" for i in range(3)]
    ids = await _store(settings, contents + ["hello there"])
    runtime = build_runtime(settings, Role.worker, classifier=ScriptedClassifier())
    try:
        outcomes = [await ClassifyGroups(runtime, max_batch=64).submit(m) for m in ids]
        made = [o.task_id for o in outcomes if o.task_created]
        async with runtime.sessions() as session:  # tasks the listing must leave out
            day = timedelta(days=1)
            await session.execute(update(Task).where(col(Task.id) == made[0]).values(status="completed"))
            await session.execute(update(Task).where(col(Task.id) == made[1]).values(merged_into_id=made[2]))
            long_ago = db.utcnow() - timedelta(hours=settings.duplicate_window_h) - day
            await session.execute(update(Task).where(col(Task.id) == made[3]).values(created_at=long_ago))
            await session.execute(update(Task).where(col(Task.id) == made[4]).values(category="noise"))
            channel = (await session.get(Task, made[5])).channel_id
            await session.commit()
        # Two messages back to `received` (one claimable), one claimed long ago (stale), one fresh claim.
        async with runtime.sessions() as session:
            await session.execute(
                update(Message).where(col(Message.id).in_(ids[:2])).values(status="received")
            )
            await session.execute(
                update(Message)
                .where(col(Message.id) == ids[2])
                .values(
                    status="classifying",
                    updated_at=db.utcnow() - timedelta(seconds=settings.job_ack_wait_s) - day,
                )
            )
            await session.execute(
                update(Message).where(col(Message.id) == ids[3]).values(status="classifying")
            )
            await session.commit()

        async def both(read: Any) -> tuple[Any, Any]:
            """`read` on PostgreSQL's forms and on SQLAlchemy's, each in a unit rolled back after."""
            answers = []
            for driver in (True, False):
                if not driver:
                    monkeypatch.setattr(db, "on_postgresql", lambda session: False)
                    for module in (messages_repository, tasks_repository, exports_repository):
                        monkeypatch.setattr(module, "on_postgresql", lambda session: False)
                async with unit_of_work(runtime) as uow:
                    answers.append(await read(uow.session))
                    uow.discard()
            monkeypatch.undo()
            return answers[0], answers[1]

        since = db.utcnow() - timedelta(hours=settings.duplicate_window_h)
        listing = await both(
            lambda s: tasks_repository.open_candidate_versions(s, channel, CATEGORIES, since)
        )
        texts = await both(lambda s: tasks_repository.candidate_texts(s, made))
        stale = db.utcnow() - timedelta(seconds=settings.job_ack_wait_s)
        for group in (ids[:1], ids[:5]):  # a lone id (a scalar) and many (an array)
            claims = await both(lambda s, g=group: messages_repository.claim_many(s, g, stale))
            drv, core = ([{**c.row, "updated_at": None} for c in each] for each in claims)  # `now` apart
            assert drv == core and drv, group
        rules = await both(exports_repository.enabled_rules)
    finally:
        await runtime.stop()
    assert listing[0] == listing[1] and {task_id for task_id, _ in listing[0]} == set(made[2:3] + made[5:])
    assert texts[0] == texts[1] and len(texts[0]) == len(made)
    assert rules[0] == rules[1]
