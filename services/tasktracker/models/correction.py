from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field


class Correction(SQLModel, table=True):
    """A person's correction of a classification: training data for the built-in model."""

    __tablename__ = "corrections"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int | None = Field(default=None, foreign_key="tasks.id", index=True, ondelete="SET NULL")
    text: str = Field(sa_type=Text)
    category: str = Field(max_length=20)
    priority: str = Field(max_length=20)
    actionable: bool
    previous_category: str | None = Field(default=None, max_length=20)
    previous_priority: str | None = Field(default=None, max_length=20)
    actor: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()
