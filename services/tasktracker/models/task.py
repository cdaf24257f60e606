from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Index, Text, case, literal_column, text
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

# Sort order of `priority` (a plain string column), as classification.schemas.PRIORITY_RANK has it.
PRIORITY_RANK_BY_VALUE: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "urgent": 3}


def priority_rank(priority: Any) -> ColumnElement[int]:
    """`priority` as its rank, with the values written into the SQL (not bound as parameters), so that
    a query sorting by it matches the expression index `ix_tasks_priority_rank_id` exactly."""
    return case(
        *(
            (priority == literal_column(f"'{value}'"), literal_column(str(rank)))
            for value, rank in PRIORITY_RANK_BY_VALUE.items()
        ),
        else_=literal_column("-1"),
    )


# The index on priority_rank(priority), spelt as PostgreSQL prints it back, so that comparing the
# models with the migrated schema (tests/test_migrations.py) sees no difference.
PRIORITY_RANK_INDEX_SQL = (
    "(\nCASE\n"
    + "".join(
        f"    WHEN priority::text = '{value}'::text THEN {rank}\n"
        for value, rank in PRIORITY_RANK_BY_VALUE.items()
    )
    + "    ELSE '-1'::integer\nEND)"
)


class Task(SQLModel, table=True):
    """A piece of tracked work, produced from an actionable message or created by hand."""

    __tablename__ = "tasks"
    # Each filter of the task list with the default sort walks one index in order: (filter, created_at,
    # id). On PostgreSQL `?q=` is answered by `search_vector` and its GIN index (see DATABASE_ONLY).
    __table_args__ = (
        Index("ix_tasks_status_created_at", "status", "created_at"),
        Index("ix_tasks_created_at_id", "created_at", "id"),
        Index("ix_tasks_updated_at_id", "updated_at", "id"),
        Index("ix_tasks_category_created_at_id", "category", "created_at", "id"),
        Index("ix_tasks_priority_created_at_id", "priority", "created_at", "id"),
        Index("ix_tasks_assignee_created_at_id", "assignee", "created_at", "id"),
        Index("ix_tasks_channel_id_created_at_id", "channel_id", "created_at", "id"),
        Index("ix_tasks_needs_review_created_at_id", "needs_review", "created_at", "id"),
        # The review queue by status: small (only tasks that need review), and it answers a status that
        # never needs review (closed) at once instead of reading every task that does.
        Index(
            "ix_tasks_review_status_created_at_id",
            "status",
            "created_at",
            "id",
            postgresql_where=text("needs_review"),
            sqlite_where=text("needs_review"),
        ),
        # The priority sort, both ways along one index: `ORDER BY priority_rank(priority), id`.
        Index("ix_tasks_priority_rank_id", text(PRIORITY_RANK_INDEX_SQL), "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    category: str = Field(max_length=20)
    priority: str = Field(max_length=20)
    status: str = Field(default=TaskStatus.open, max_length=20)
    assignee: str | None = Field(default=None, max_length=200)
    labels: list[str] = json_field(list)
    needs_review: bool = Field(default=False)
    confidence: float | None = None
    # Unique: a redelivered classification job can never create a second task for one message.
    source_message_id: int | None = Field(default=None, unique=True)
    # No FK: issues -> messages -> tasks already forms the chain; a FK back would make a cycle.
    issue_id: int | None = Field(default=None)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    merged_into_id: int | None = Field(default=None, foreign_key="tasks.id", ondelete="SET NULL")
    message_count: int = Field(default=0)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    closed_at: datetime | None = timestamp_field()
