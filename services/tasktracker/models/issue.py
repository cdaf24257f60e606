from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field


class Issue(SQLModel, table=True):
    """One classification run of a message: what the model said, which model, how fast."""

    __tablename__ = "issues"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True, ondelete="CASCADE")
    category: str = Field(max_length=20)
    priority: str = Field(max_length=20)
    actionable: bool
    title: str = Field(max_length=200)
    summary: str = Field(default="", sa_type=Text)
    confidence: float
    model: str = Field(max_length=200)
    latency_ms: float
    prompt_version: str | None = Field(default=None, max_length=50)
    created_at: datetime = created_at_field()
