from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field


class TaskExport(SQLModel, table=True):
    """A task's copy in an external tracker (GitHub, Jira, Linear, ...)."""

    __tablename__ = "task_exports"
    __table_args__ = (UniqueConstraint("task_id", "tracker", name="uq_task_exports_task_tracker"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    tracker: str = Field(max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=1000)
    status: str = Field(default="pending", max_length=20)
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
