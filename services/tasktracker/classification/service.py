"""The pipeline step after ingestion: classify a stored message, record the run, make or link a task.

Idempotent by construction: the run that flips the message to `classified` (a conditional UPDATE)
owns the side effects, and `tasks.source_message_id` is unique, so a redelivered job never creates
a second task.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.ai.base import FALLBACK_SUFFIX
from tasktracker.channels import service as channels_service
from tasktracker.classification import duplicates
from tasktracker.classification.open_tasks import CATEGORIES, Matcher, OpenTasks
from tasktracker.classification.schemas import TITLE_MAX, Category, Classification, needs_review
from tasktracker.config import Settings
from tasktracker.db import utcnow
from tasktracker.events import schemas as events
from tasktracker.exports import service as exports_service
from tasktracker.messages import service as messages_service
from tasktracker.models import Issue, Message, MessageStatus, Task
from tasktracker.tasks import service as tasks_service
from tasktracker.tasks.schemas import TaskCreate
from tasktracker.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    message_id: int
    classification: Classification | None = None
    task_id: int | None = None
    task_created: bool = False
    duplicate_of: int | None = None
    skipped: bool = False
    failed: bool = False  # the message used up its attempts and is now `failed` (a dead letter)

    def span_attributes(self) -> dict[str, str | bool | int | float]:
        """What a trace shows of this run."""
        attributes: dict[str, str | bool | int | float] = {"classification.skipped": self.skipped}
        if self.classification is not None:
            result = self.classification
            attributes |= {
                "classification.model": result.model,
                "classification.category": result.category.value,
                "classification.priority": result.priority.value,
                "classification.confidence": result.confidence,
                "classification.latency_ms": result.latency_ms,
                "classification.fallback": result.model.endswith(FALLBACK_SUFFIX),
            }
        if self.task_id is not None:
            attributes |= {"task.id": self.task_id, "task.created": self.task_created}
        if self.duplicate_of is not None:
            attributes["task.duplicate_of"] = self.duplicate_of
        return attributes


class Exhausted:
    """What `claim` returns for a message that used up its attempts: it is now `failed`."""


async def claim(session: AsyncSession, settings: Settings, message_id: int) -> str | Exhausted | None:
    """Take a message for classification; returns its text, None when there is nothing to do (it is
    done, or another run holds a fresh claim), or Exhausted when it used up its attempts (then it is
    marked failed)."""
    stale_before = utcnow() - timedelta(seconds=settings.job_ack_wait_s)
    message = await messages_service.claim(session, message_id, stale_before)
    if message is None:
        return None
    if message.attempts > settings.job_max_deliver:
        await messages_service.mark_failed(session, message_id)
        log.error(
            "message %s failed %s classification attempts; marked failed",
            message_id,
            settings.job_max_deliver,
        )
        return Exhausted()
    return message.content


async def record(
    uow: UnitOfWork,
    settings: Settings,
    message_id: int,
    result: Classification,
    opinion: tuple[int, float] | None = None,
) -> Outcome:
    """Store a classification and its task in the caller's unit, exactly once per message; queue its events.

    `opinion`: an open task the LLM called the same request (`close_calls`, asked outside any
    transaction); linked when the matcher links nothing and the task is still a candidate.
    `skipped` when another delivery of the job finished first: the caller must then discard the unit.
    """
    session = uow.session
    outcome = Outcome(message_id, classification=result)
    message = await messages_service.get(session, message_id)
    if message is None:
        outcome.skipped = True
        return outcome
    issue = Issue(message_id=message_id, **result.model_dump())
    session.add(issue)
    await session.flush()

    task: Task | None = None
    if result.actionable and result.category != Category.noise:
        since = utcnow() - timedelta(hours=settings.duplicate_window_h)
        candidates = await tasks_service.open_candidates(session, message.channel_id, CATEGORIES, since)
        match = duplicates.best_match(message.content, candidates, settings.duplicate_threshold)
        if match is None and opinion is not None and any(task_id == opinion[0] for task_id, _ in candidates):
            match = opinion
        task, outcome.task_created, outcome.duplicate_of = await _task_for(
            session, settings, message, issue, result, match
        )
        outcome.task_id = task.id
        await session.flush()

    if not await messages_service.finish(session, message_id, outcome.task_id, issue.category):
        outcome.skipped = True  # another delivery of this job finished first
        return outcome

    await _queue_events(uow, session, message, issue, task, outcome)
    if task is not None and outcome.task_created:
        await exports_service.route_new_task(uow, settings, task)
    return outcome


async def _queue_events(
    uow: UnitOfWork,
    session: AsyncSession,
    message: Message,
    issue: Issue,
    task: Task | None,
    outcome: Outcome,
) -> None:
    """`message.classified`, and `task.created` or `task.updated`, built from the rows in hand (`finish`
    changed only the message's status and task id)."""
    channel = await channels_service.cached(session, message.channel_id)
    assert channel is not None
    message_public = messages_service.to_public(message, channel, issue).model_copy(
        update={"status": MessageStatus.classified, "task_id": outcome.task_id}
    )
    uow.queue_event(events.message_classified(message_public))
    if task is not None:
        task_public = tasks_service.to_public(task, channel if task.channel_id == channel.id else None)
        made = events.task_created if outcome.task_created else events.task_updated
        uow.queue_event(made(task_public))


async def _task_for(
    session: AsyncSession,
    settings: Settings,
    message: Message,
    issue: Issue,
    result: Classification,
    match: tuple[int, float] | None,
) -> tuple[Task, bool, int | None]:
    """Link the message to `match`, the open task that is the same request, or create its task.

    No check for an existing task of this message first: a concurrent run's task is caught by the
    unique `source_message_id` (ON CONFLICT), and that run's `finish` makes this one be discarded.
    """
    assert message.id is not None and issue.id is not None  # stored rows
    if match is not None:
        linked = await tasks_service.link_message(session, match[0], message.id, match[1])
        if linked is not None:  # None: the task was deleted meanwhile
            return linked, False, match[0]
    new = await _new_task(session, settings, message, issue, result)
    task, created = await tasks_service.create(
        session, new.data, tasks_service.SYSTEM_ACTOR, source=new.source
    )
    return task, created, None


# Batches: the worker's group of concurrently delivered jobs (`worker/batch.py`) ---------------------------


async def claim_batch(
    session: AsyncSession,
    settings: Settings,
    message_ids: Sequence[int],
    rows: dict[int, messages_service.Claimed] | None = None,
) -> dict[int, str | Exhausted | None]:
    """`claim` for many messages: one UPDATE for the batch, and one more when some used up their
    attempts. A message listed twice is claimed once (the other delivery gets None, as a concurrent
    delivery would). `rows`: filled with the claims taken, for `record_batch` in the same unit."""
    stale_before = utcnow() - timedelta(seconds=settings.job_ack_wait_s)
    claimed = await messages_service.claim_many(session, list(dict.fromkeys(message_ids)), stale_before)
    taken: dict[int, str | Exhausted | None] = {}
    exhausted = []
    for message in claimed:
        if message.attempts > settings.job_max_deliver:
            exhausted.append(message.id)
            taken[message.id] = Exhausted()
        else:
            taken[message.id] = message.content
            if rows is not None:
                rows[message.id] = message
    if exhausted:
        await messages_service.mark_failed_many(session, exhausted)
        log.error(
            "messages %s failed %s classification attempts; marked failed",
            exhausted,
            settings.job_max_deliver,
        )
    return taken


async def record_batch(
    uow: UnitOfWork,
    settings: Settings,
    runs: Sequence[tuple[int, Classification]],
    open_tasks: OpenTasks,
    opinions: Mapping[int, tuple[int, float]] | None = None,
    claimed: Mapping[int, messages_service.Claimed] | None = None,
) -> list[Outcome]:
    """`record` for many messages in the caller's unit, one outcome per run, in order.

    The messages are flipped to classified first, in one statement: those it flips are this batch's to
    record (the others were finished by another delivery: `skipped`, nothing is written for them), so no
    part of the unit has to be undone. With `claimed` (the caller's unit claimed every run's message
    itself, `claim_batch`'s `rows`), that statement is left out: the claim's row locks keep every other
    delivery from finishing them before this unit commits, so all are this batch's, and they are
    flipped with their category and task id at the end. Then one multi-row INSERT of the issues,
    duplicate matching against `open_tasks` (which also sees the tasks this batch makes), one multi-row
    INSERT of the new tasks (a repeat of one of them within the batch is counted on it), the messages'
    category and task id, the activity rows, and the events: about ten statements for the batch, plus
    two for each link to a task made before it. `opinions`: message id -> an open task the LLM called the same request
    (`close_calls`), linked when the matcher links nothing and the task is still a candidate.
    """
    session = uow.session
    outcomes = [Outcome(message_id, classification=result) for message_id, result in runs]
    first_run = {message_id: i for i, (message_id, _) in reversed(list(enumerate(runs)))}
    now = utcnow()
    if claimed is None:
        won = {m.id: m for m in await messages_service.finish_many(session, list(first_run))}
    else:
        won = {message_id: claimed[message_id].finished(now) for message_id in first_run}
    mine = sorted(i for message_id, i in first_run.items() if message_id in won)
    for i in set(range(len(runs))) - set(mine):
        outcomes[i].skipped = True  # another delivery of this job finished first
    # `created_at` given: pydantic inspects a default factory's signature on every call (~40 us an Issue).
    issues = {i: Issue(message_id=runs[i][0], created_at=now, **runs[i][1].model_dump()) for i in mine}
    await messages_service.insert_issues(session, list(issues.values()))

    matchers: dict[int | None, Matcher] = {}
    tasks: dict[int, Task] = {}
    pending: list[tuple[int, tasks_service.NewTask]] = []  # made by this batch; matched as -(k + 1)
    repeats: list[tuple[int, int]] = []  # (run, k): a message that repeats pending[k]
    matched = [i for i in mine if runs[i][1].actionable and runs[i][1].category != Category.noise]
    uses = Counter(won[runs[i][0]].channel_id for i in matched)
    for i in matched:
        message_id, result = runs[i]
        message, outcome = won[message_id], outcomes[i]
        if message.channel_id not in matchers:
            matchers[message.channel_id] = await open_tasks.matcher(
                session, settings, message.channel_id, uses[message.channel_id]
            )
        matcher = matchers[message.channel_id]
        match = matcher.best_match(message.content, settings.duplicate_threshold)
        if match is None and opinions and message_id in opinions and matcher.lists(opinions[message_id][0]):
            match = opinions[message_id]
        if match is not None and match[0] > 0:
            linked = await tasks_service.link_message(session, match[0], message_id, match[1])
            if linked is not None:  # None: the task was deleted meanwhile
                tasks[i], outcome.task_id, outcome.duplicate_of = linked, linked.id, match[0]
                continue
            match = None
        if match is not None:
            k = -match[0] - 1
            pending[k][1].repeats.append((message_id, match[1]))
            repeats.append((i, k))
            continue
        new = await _new_task(session, settings, message, issues[i], result)
        pending.append((i, new))
        matcher.add(-len(pending), new.data.description or new.data.title)

    stored = await tasks_service.create_for_messages(session, [new for _, new in pending])
    routed = []
    for (i, _), (task, created) in zip(pending, stored, strict=True):
        tasks[i], outcomes[i].task_id, outcomes[i].task_created = task, task.id, created
        if created:
            routed.append(task)
            assert task.id is not None
            open_tasks.made(task.channel_id, task.id, task.updated_at, task.description or task.title)
    for i, k in repeats:
        task = stored[k][0]
        tasks[i], outcomes[i].task_id, outcomes[i].duplicate_of = task, task.id, task.id
    await messages_service.set_results_many(
        session,
        [(runs[i][0], runs[i][1].category.value, outcomes[i].task_id) for i in mine],
        finished_at=None if claimed is None else now,
    )
    await session.flush()  # the activity rows

    for i in mine:
        await _queue_events(uow, session, won[runs[i][0]], issues[i], tasks.get(i), outcomes[i])
    await exports_service.route_new_tasks(uow, settings, routed)
    return outcomes


async def close_calls(
    session: AsyncSession,
    settings: Settings,
    open_tasks: OpenTasks,
    runs: Sequence[tuple[int, Classification]],
) -> dict[int, tuple[str, list[duplicates.CloseCall]]]:
    """For the LLM's second opinion (`ai/duplicate_judge.py`), read-only: for each run that would make a
    task and that the matcher links to nothing, the message's text and its close calls (open tasks of
    its channel scoring in [`duplicate_llm_band`, `duplicate_threshold`) without a slot conflict, the
    best `duplicate_llm_candidates`, with their texts). A handful of statements for the batch; the
    caller asks the LLM after its unit ends and passes the answers to `record_batch` or `record`."""
    found: dict[int, tuple[str, list[duplicates.CloseCall]]] = {}
    matchers: dict[int | None, Matcher] = {}
    scored: dict[int, list[tuple[int, float]]] = {}
    texts: dict[int, str] = {}
    for message_id, result in runs:
        if not (result.actionable and result.category != Category.noise):
            continue
        message = await messages_service.get(session, message_id)
        if message is None:
            continue
        if message.channel_id not in matchers:
            matchers[message.channel_id] = await open_tasks.matcher(
                session, settings, message.channel_id, len(runs)
            )
        matcher = matchers[message.channel_id]
        if matcher.best_match(message.content, settings.duplicate_threshold) is not None:
            continue
        calls = matcher.close_calls(
            message.content,
            settings.duplicate_llm_band,
            settings.duplicate_threshold,
            settings.duplicate_llm_candidates,
        )
        if calls:
            scored[message_id], texts[message_id] = calls, message.content
    task_texts = await tasks_service.candidate_texts(
        session, sorted({task_id for calls in scored.values() for task_id, _ in calls})
    )
    for message_id, calls in scored.items():
        found[message_id] = (
            texts[message_id],
            [duplicates.CloseCall(t, task_texts[t], score) for t, score in calls if t in task_texts],
        )
    return found


async def _new_task(
    session: AsyncSession, settings: Settings, message: Message, issue: Issue, result: Classification
) -> tasks_service.NewTask:
    assert message.id is not None and issue.id is not None  # stored rows
    defaults = await channels_service.routing_defaults(session, message.channel_id)  # cached
    return tasks_service.NewTask(
        data=TaskCreate.model_construct(  # values of our own making, already within the limits
            title=result.title or message.content[:TITLE_MAX],
            description=message.content,
            category=result.category,
            priority=result.priority,
            assignee=defaults.assignee,
            labels=list(defaults.labels),
        ),
        source=tasks_service.FromMessage(
            message_id=message.id,
            issue_id=issue.id,
            channel_id=message.channel_id,
            confidence=result.confidence,
            needs_review=needs_review(result, settings.review_threshold, settings.priority_review_threshold),
            model=result.model,
        ),
        repeats=[],
    )


async def find_stuck(session: AsyncSession, settings: Settings) -> list[int]:
    """Messages whose job was lost, to be enqueued again: never taken for `sweep_stuck_after_s` (the
    broker was down at enqueue), or claimed longer ago than a job may run (`job_ack_wait_s`: the worker
    died). They go back to `received` in the caller's unit, so the new job can claim them."""
    now = utcnow()
    return await messages_service.requeue_stuck(
        session,
        received_before=now - timedelta(seconds=settings.sweep_stuck_after_s),
        classifying_before=now - timedelta(seconds=settings.job_ack_wait_s),
    )
