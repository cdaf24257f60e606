from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, json_field, timestamp_field


class TaskStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    completed = "completed"
    closed = "closed"


# Work still to do: what the board shows as open, where a repeat of a request is linked, what /done closes.
OPEN_STATUSES = (TaskStatus.open, TaskStatus.in_progress)
CLOSED_STATUSES = (TaskStatus.completed, TaskStatus.closed)


class Task(SQLModel, table=True):
    """A piece of tracked work, produced from an actionable message or created by hand."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_status_created_at", "status", "created_at"),
        Index("ix_tasks_created_at_id", "created_at", "id"),
        Index("ix_tasks_updated_at_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    category: str = Field(max_length=20, index=True)
    priority: str = Field(max_length=20, index=True)
    status: str = Field(default=TaskStatus.open, max_length=20)
    assignee: str | None = Field(default=None, max_length=200, index=True)
    labels: list[str] = json_field(list)
    needs_review: bool = Field(default=False, index=True)
    confidence: float | None = None
    # Unique: a redelivered classification job can never create a second task for one message.
    source_message_id: int | None = Field(default=None, unique=True)
    # No FK: issues -> messages -> tasks already forms the chain; a FK back would make a cycle.
    issue_id: int | None = Field(default=None)
    channel_id: int | None = Field(default=None, foreign_key="channels.id", index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="tasks.id", ondelete="SET NULL")
    message_count: int = Field(default=0)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()
