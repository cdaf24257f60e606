"""REST adapters for tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from tasktracker.api.deps import RuntimeDep, SessionDep
from tasktracker.api.params import ChannelNames, Cursor, IdPath, Limit, SearchQuery, channel_ids
from tasktracker.classification.schemas import Category, Priority
from tasktracker.events.schemas import Event, EventType
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
async def create_task(data: TaskCreate, session: SessionDep, runtime: RuntimeDep) -> TaskPublic:
    """Create a task by hand."""
    task = await service.create(session, data)
    public = await service.public(session, task)  # before the commit: a failure here changes nothing
    await session.commit()
    await runtime.publish([Event(type=EventType.task_created, data=public.model_dump(mode="json"))])
    return public


@router.get("/{task_id}")
async def get_task(task_id: IdPath, session: SessionDep) -> TaskDetail:
    """A task with its messages, classification history, activity and exports."""
    return await service.detail(session, task_id)


@router.patch("/{task_id}")
async def update_task(
    task_id: IdPath, data: TaskUpdate, session: SessionDep, runtime: RuntimeDep
) -> TaskPublic:
    """Triage a task. A changed category or priority is stored as a correction that trains the classifier."""
    task = await service.update(session, task_id, data)
    public = await service.public(session, task)  # before the commit: a failure here changes nothing
    await session.commit()
    await runtime.publish([Event(type=EventType.task_updated, data=public.model_dump(mode="json"))])
    await runtime.after_corrections(session)
    return public


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(task_id: IdPath, session: SessionDep, runtime: RuntimeDep) -> None:
    await service.delete(session, task_id)
    await session.commit()
    await runtime.publish([Event(type=EventType.task_deleted, data={"id": task_id})])


@router.post(
    "/{task_id}/merge",
    responses={409: {"description": "The target was itself merged (`merge_target_merged`)."}},
)
async def merge_task(
    task_id: IdPath, data: TaskMerge, session: SessionDep, runtime: RuntimeDep
) -> TaskPublic:
    """Merge this task into another; answers the target."""
    target = await service.merge(session, task_id, data.into)
    await session.commit()
    source = await service.get_or_404(session, task_id)
    publics = await service.publics(session, [source, target])
    await runtime.publish(
        [Event(type=EventType.task_updated, data=p.model_dump(mode="json")) for p in publics]
    )
    return publics[1]
