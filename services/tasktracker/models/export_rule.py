from datetime import datetime

from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field


class ExportRule(SQLModel, table=True):
    """Which export target a new task goes to: every condition that is set must match (none set: all)."""

    __tablename__ = "export_rules"

    id: int | None = Field(default=None, primary_key=True)
    target_id: int = Field(foreign_key="export_targets.id", index=True, ondelete="CASCADE")
    channel_id: int | None = Field(default=None, foreign_key="channels.id", ondelete="CASCADE")
    category: str | None = Field(default=None, max_length=20)
    priority: str | None = Field(default=None, max_length=20)
    enabled: bool = Field(default=True)
    created_at: datetime = created_at_field()
