"""Task schemas: Base -> Create / Update -> table -> Public."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasktracker.channels.schemas import ChannelRef
from tasktracker.classification.schemas import Category, Priority
from tasktracker.fields import MAX_ID, Assignee, Labels
from tasktracker.messages.schemas import IssuePublic, MessagePublic
from tasktracker.models.task import TaskStatus


class TaskBase(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    category: Category = Category.task
    priority: Priority = Priority.medium
    assignee: Assignee = None
    labels: Labels = Field(default_factory=list)


class TaskCreate(TaskBase):
    pass


class TaskUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    category: Category | None = None
    priority: Priority | None = None
    status: TaskStatus | None = None
    assignee: Assignee = None
    labels: Labels | None = None
    needs_review: bool | None = None


class TaskMerge(BaseModel):
    into: int = Field(ge=1, le=MAX_ID)


class TaskPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    category: Category
    priority: Priority
    status: TaskStatus
    assignee: str | None
    labels: list[str]
    needs_review: bool
    confidence: float | None
    source_message_id: int | None
    merged_into_id: int | None = None
    channel: ChannelRef | None = None
    message_count: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class ActivityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    actor: str | None
    data: dict[str, Any]
    created_at: datetime


class ExportPublic(BaseModel):
    """A task's copy in an external tracker; `status`: pending, retrying, exported or failed."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    target_id: int | None = None
    target_name: str | None = None
    tracker: str
    external_id: str | None
    url: str | None
    status: str
    error: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    remote_state: str | None = None
    created_at: datetime
    updated_at: datetime | None = None


class TaskDetail(TaskPublic):
    messages: list[MessagePublic] = Field(default_factory=list)
    issues: list[IssuePublic] = Field(default_factory=list)
    activity: list[ActivityPublic] = Field(default_factory=list)
    exports: list[ExportPublic] = Field(default_factory=list)


class TasksPublic(BaseModel):
    data: list[TaskPublic]
    next_cursor: str | None = None
