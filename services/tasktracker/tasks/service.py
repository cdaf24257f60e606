"""Task logic: manual creation, triage updates (recorded as corrections), merges, deletion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.channels import service as channels_service
from tasktracker.channels.schemas import ChannelRef
from tasktracker.classification.schemas import Category
from tasktracker.db import utcnow
from tasktracker.errors import Conflict, Invalid, NotFound
from tasktracker.messages import service as messages_service
from tasktracker.models import CLOSED_STATUSES, OPEN_STATUSES, Channel, Correction, Task, TaskStatus
from tasktracker.tasks import repository
from tasktracker.tasks.schemas import (
    ActivityPublic,
    ExportPublic,
    TaskCreate,
    TaskDetail,
    TaskPublic,
    TaskUpdate,
)

# Of the fields a PATCH may send, only these may be set to null (the column is nullable).
NULLABLE_FIELDS = {"assignee"}

# Who changed a task, in its activity: a user's name (API, bot), "local" (TASKTRACKER_AUTH=off), or
# this for the pipeline (classification, duplicate linking).
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class FromMessage:
    """A task the classification makes for a message: at most one per message."""

    message_id: int
    issue_id: int
    channel_id: int
    confidence: float
    needs_review: bool
    model: str


async def get(session: AsyncSession, task_id: int) -> Task | None:
    return await repository.get(session, task_id)


async def get_or_404(session: AsyncSession, task_id: int) -> Task:
    task = await repository.get(session, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


def to_public(task: Task, channel: Channel | None) -> TaskPublic:
    public = TaskPublic.model_validate(task)
    public.channel = ChannelRef.model_validate(channel) if channel else None
    return public


async def publics(session: AsyncSession, tasks: Sequence[Task]) -> list[TaskPublic]:
    chans = await channels_service.by_ids(session, {t.channel_id for t in tasks if t.channel_id is not None})
    return [to_public(t, chans.get(t.channel_id) if t.channel_id is not None else None) for t in tasks]


async def public(session: AsyncSession, task: Task) -> TaskPublic:
    return (await publics(session, [task]))[0]


async def detail(session: AsyncSession, task_id: int) -> TaskDetail:
    task = await get_or_404(session, task_id)
    base = await public(session, task)
    messages, issues = await messages_service.of_task(session, task_id)
    return TaskDetail(
        **base.model_dump(),
        messages=messages,
        issues=issues,
        activity=[ActivityPublic.model_validate(a) for a in await repository.activity(session, task_id)],
        exports=[
            ExportPublic.model_validate(e).model_copy(update={"target_name": name})
            for e, name in await repository.exports(session, task_id)
        ],
    )


async def create(
    session: AsyncSession, data: TaskCreate, actor: str, *, source: FromMessage | None = None
) -> tuple[Task, bool]:
    """Open a task, by hand or for a classified message; returns it and whether it is new.

    A second attempt for the same message (a concurrent job) returns the first one's task.
    """
    now = utcnow()
    values = {**data.model_dump(), "status": TaskStatus.open, "created_at": now, "updated_at": now}
    if source is None:
        task = Task(**values)
        session.add(task)
        await session.flush()
        assert task.id is not None  # assigned by the flush
        await repository.add_activity(session, task.id, "created", {"source": "manual"}, actor)
        return task, True
    values |= {
        "needs_review": source.needs_review,
        "confidence": source.confidence,
        "source_message_id": source.message_id,
        "issue_id": source.issue_id,
        "channel_id": source.channel_id,
        "message_count": 1,
    }
    task, created = await repository.insert_for_message(session, values)
    if created:
        assert task.id is not None  # read back from the table
        activity = {"source": "classification", "message_id": source.message_id, "model": source.model}
        await repository.add_activity(session, task.id, "created", activity, actor)
    return task, created


async def open_candidates(
    session: AsyncSession, channel_id: int | None, categories: Sequence[str], since: datetime
) -> list[tuple[int, str]]:
    """(id, text) of the open tasks of a channel in `categories` made since then: where a repeat belongs."""
    return await repository.open_candidates(session, channel_id, categories, since)


@dataclass
class NewTask:
    """A task the classification of a batch makes, with the later messages of the batch that repeat it."""

    data: TaskCreate
    source: FromMessage
    repeats: list[tuple[int, float]]  # (message id, similarity)


async def create_for_messages(session: AsyncSession, items: Sequence[NewTask]) -> list[tuple[Task, bool]]:
    """`create(..., source=...)` for many messages in one INSERT, each repeat counted and recorded as
    `link_message` would; in the order given, each task and whether it is new."""
    rows = []
    for item in items:
        now = utcnow()  # one each: the candidates of duplicate matching are ordered by it
        rows.append(
            {
                **item.data.model_dump(),
                "status": TaskStatus.open,
                "created_at": now,
                "updated_at": now,
                "needs_review": item.source.needs_review,
                "confidence": item.source.confidence,
                "source_message_id": item.source.message_id,
                "issue_id": item.source.issue_id,
                "channel_id": item.source.channel_id,
                "message_count": 1 + len(item.repeats),
            }
        )
    stored = await repository.insert_for_messages(session, rows)
    activity: list[tuple[int, str, dict[str, Any], str | None]] = []
    for item, (task, created) in zip(items, stored, strict=True):
        assert task.id is not None
        if created:
            made = {
                "source": "classification",
                "message_id": item.source.message_id,
                "model": item.source.model,
            }
            activity.append((task.id, "created", made, SYSTEM_ACTOR))
        for message_id, similarity in item.repeats:
            if not created:  # made by an earlier run: count the repeat on it
                await repository.add_message(session, task.id, utcnow())
            linked = {"message_id": message_id, "similarity": round(similarity, 3)}
            activity.append((task.id, "duplicate_linked", linked, SYSTEM_ACTOR))
    await repository.add_activities(session, activity)
    return stored


async def open_candidate_versions(
    session: AsyncSession, channel_id: int | None, categories: Sequence[str], since: datetime
) -> list[tuple[int, datetime]]:
    """`open_candidates` as (id, updated_at): which tasks, and whether their text may have changed."""
    return await repository.open_candidate_versions(session, channel_id, categories, since)


async def candidate_texts(session: AsyncSession, task_ids: Sequence[int]) -> dict[int, str]:
    return await repository.candidate_texts(session, task_ids)


async def link_message(
    session: AsyncSession, task_id: int, message_id: int, similarity: float
) -> Task | None:
    """Count a repeat of a request on its task; None when the task no longer exists."""
    task = await repository.add_message(session, task_id, utcnow())
    if task is not None:
        await repository.add_activity(
            session,
            task_id,
            "duplicate_linked",
            {"message_id": message_id, "similarity": round(similarity, 3)},
            SYSTEM_ACTOR,
        )
    return task


async def update(session: AsyncSession, task_id: int, data: TaskUpdate, actor: str) -> Task:
    """Apply a triage change. A changed category or priority of a classified task is a correction."""
    task = await get_or_404(session, task_id)
    changes: dict[str, Any] = {}
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field not in NULLABLE_FIELDS:
            raise Invalid(f"{field} cannot be null", code="null_field")
        old = getattr(task, field)
        if value != old:
            changes[field] = {"from": old, "to": value}
            setattr(task, field, value)
    if not changes:
        return task
    now = utcnow()
    task.updated_at = now
    if "status" in changes:
        task.closed_at = now if task.status in CLOSED_STATUSES else None
    if ("category" in changes or "priority" in changes) and task.source_message_id is not None:
        await _record_correction(session, task, changes, actor)
        if "needs_review" not in changes:
            task.needs_review = False  # a person decided: nothing left to review
    await repository.add_activity(session, task_id, "updated", changes, actor)
    await session.flush()
    return task


async def _record_correction(
    session: AsyncSession, task: Task, changes: dict[str, Any], actor: str | None
) -> None:
    if task.source_message_id is None:
        return
    message = await messages_service.get(session, task.source_message_id)
    if message is None:
        return
    await repository.add_correction(
        session,
        Correction(
            task_id=task.id,
            text=message.content,
            category=task.category,
            priority=task.priority,
            actionable=task.category != Category.noise,
            previous_category=changes.get("category", {}).get("from"),
            previous_priority=changes.get("priority", {}).get("from"),
            actor=actor,
        ),
    )


async def corrections(session: AsyncSession) -> list[Correction]:
    """Every correction a person made, the training data of the built-in model."""
    return await repository.corrections(session)


async def count_corrections(session: AsyncSession) -> int:
    return await repository.count_corrections(session)


async def record_activity(
    session: AsyncSession, task_id: int, kind: str, data: dict[str, Any], actor: str | None = None
) -> None:
    """An entry in the task's activity written by another domain (an export, a tracker's change)."""
    await repository.add_activity(session, task_id, kind, data, actor)


async def delete(session: AsyncSession, task_id: int) -> None:
    task = await get_or_404(session, task_id)
    await session.delete(task)
    await session.flush()


async def merge(session: AsyncSession, source_id: int, into_id: int, actor: str) -> tuple[Task, Task]:
    """Fold one task into another: its messages move, the source closes pointing at the target.
    Returns both (source, target)."""
    if source_id == into_id:
        raise Invalid("a task cannot be merged into itself", code="merge_self")
    # Locked: crossed merges (A into B, B into A) from two requests would otherwise make a cycle.
    locked = await repository.lock(session, [source_id, into_id])
    for task_id in (source_id, into_id):
        if task_id not in locked:
            raise NotFound(f"task {task_id} not found")
    source, target = locked[source_id], locked[into_id]
    if target.merged_into_id is not None:
        raise Conflict(
            f"task {into_id} was itself merged into task {target.merged_into_id}", code="merge_target_merged"
        )
    moved = await messages_service.move_to_task(session, source_id, into_id)
    now = utcnow()
    source.status = TaskStatus.closed
    source.merged_into_id = into_id
    source.closed_at = now
    source.updated_at = now
    source.message_count = 0
    target.message_count = await messages_service.count_for_task(session, into_id)
    target.updated_at = now
    await repository.add_activity(session, source_id, "merged", {"into": into_id}, actor)
    await repository.add_activity(
        session, into_id, "merged_from", {"from": source_id, "messages": moved}, actor
    )
    await session.flush()
    return source, target


async def list_tasks(
    session: AsyncSession, filters: repository.TaskFilters, sort: str, limit: int, cursor: str | None
) -> tuple[list[TaskPublic], str | None]:
    if sort not in repository.SORTS:
        raise Invalid(f"sort must be one of {', '.join(repository.SORTS)}", code="bad_sort")
    rows, next_cursor = await repository.list_page(session, filters, sort, limit, cursor)
    return await publics(session, rows), next_cursor


def _open_of_channel(channel_id: int) -> repository.TaskFilters:
    return repository.TaskFilters(status=[s.value for s in OPEN_STATUSES], channel_ids=[channel_id])


async def open_of_channel(session: AsyncSession, channel_id: int, limit: int) -> list[TaskPublic]:
    """A channel's open tasks, most urgent first."""
    rows, _ = await repository.list_page(session, _open_of_channel(channel_id), "-priority", limit, None)
    return await publics(session, rows)


async def count_open_of_channel(session: AsyncSession, channel_id: int) -> int:
    return await repository.count(session, _open_of_channel(channel_id))
