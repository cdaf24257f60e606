from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, json_field


class TaskActivity(SQLModel, table=True):
    """What happened to a task, in order: created, status changed, corrected, merged, linked."""

    __tablename__ = "task_activity"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=40)
    actor: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = json_field(dict)
    created_at: datetime = created_at_field()
