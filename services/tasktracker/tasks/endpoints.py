"""REST adapters for tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tasktracker.api.access import EditorDep
from tasktracker.api.deps import RuntimeDep, SessionDep, SettingsDep, UnitOfWorkDep
from tasktracker.api.params import ChannelNames, Cursor, IdPath, Limit, SearchQuery
from tasktracker.channels.service import resolve_ids as channel_ids
from tasktracker.classification.schemas import Category, Priority
from tasktracker.events import schemas as events
from tasktracker.exports import service as exports_service
from tasktracker.models import TaskStatus
from tasktracker.tasks import repository, service
from tasktracker.tasks.schemas import TaskCreate, TaskDetail, TaskMerge, TaskPublic, TasksPublic, TaskUpdate

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

SortParam = Annotated[
    str, Query(description="One of -created_at, created_at, -updated_at, updated_at, -priority, priority.")
]


@router.get("")
async def list_tasks(
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    q: SearchQuery = None,
    sort: SortParam = "-created_at",
    status_: Annotated[list[TaskStatus], Query(alias="status")] = [],  # noqa: B006
    category: Annotated[list[Category], Query()] = [],  # noqa: B006
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    channel: ChannelNames = [],  # noqa: B006
    assignee: Annotated[str | None, Query(max_length=200, description="Empty string: unassigned.")] = None,
    needs_review: bool | None = None,
) -> TasksPublic:
    """Tasks with filters, sorting and cursor pagination."""
    ids = await channel_ids(session, channel)
    if ids is None:
        return TasksPublic(data=[], next_cursor=None)
    filters = repository.TaskFilters(
        status=[s.value for s in status_],
        category=[c.value for c in category],
        priority=[p.value for p in priority],
        channel_ids=ids,
        assignee=assignee,
        needs_review=needs_review,
        q=q,
    )
    data, next_cursor = await service.list_tasks(session, filters, sort, limit, cursor)
    return TasksPublic(data=data, next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_task(
    actor: EditorDep, data: TaskCreate, uow: UnitOfWorkDep, settings: SettingsDep
) -> TaskPublic:
    """Create a task by hand."""
    task, _ = await service.create(uow.session, data, actor.name)
    public = await service.public(uow.session, task)
    uow.queue_event(events.task_created(public))
    await exports_service.route_new_task(uow, settings, task)
    return public


@router.get("/{task_id}")
async def get_task(task_id: IdPath, session: SessionDep) -> TaskDetail:
    """A task with its messages, classification history, activity and exports."""
    return await service.detail(session, task_id)


@router.patch("/{task_id}")
async def update_task(
    actor: EditorDep, task_id: IdPath, data: TaskUpdate, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> TaskPublic:
    """Triage a task. A changed category or priority is stored as a correction that trains the classifier."""
    task = await service.update(uow.session, task_id, data, actor.name)
    public = await service.public(uow.session, task)
    uow.queue_event(events.task_updated(public))
    if data.status is not None:
        await exports_service.task_changed(uow, task_id)
    if runtime.retrainer is not None:
        uow.after_commit(runtime.retrainer.maybe_retrain)
    return public


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(_: EditorDep, task_id: IdPath, uow: UnitOfWorkDep) -> None:
    await service.delete(uow.session, task_id)
    uow.queue_event(events.task_deleted(task_id))


@router.post(
    "/{task_id}/merge",
    responses={409: {"description": "The target was itself merged (`merge_target_merged`)."}},
)
async def merge_task(actor: EditorDep, task_id: IdPath, data: TaskMerge, uow: UnitOfWorkDep) -> TaskPublic:
    """Merge this task into another; answers the target."""
    source, target = await service.merge(uow.session, task_id, data.into, actor.name)
    publics = await service.publics(uow.session, [source, target])
    uow.queue_event(*(events.task_updated(p) for p in publics))
    return publics[1]
