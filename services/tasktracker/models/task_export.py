from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, timestamp_field


class ExportState(StrEnum):
    pending = "pending"  # not in the tracker yet; a job is queued or due
    retrying = (
        "retrying"  # an attempt failed for a reason that may pass; the next one is due at next_attempt_at
    )
    exported = "exported"  # the external issue exists (external_id, url)
    failed = "failed"  # given up: bad credentials, a refused request, or attempts used up (see error)


class TaskExport(SQLModel, table=True):
    """A task's copy in an external tracker (GitHub, Jira, Linear, a webhook)."""

    __tablename__ = "task_exports"
    __table_args__ = (
        UniqueConstraint("task_id", "target_id", name="uq_task_exports_task_target"),
        UniqueConstraint("target_id", "external_id", name="uq_task_exports_target_external_id"),
        Index("ix_task_exports_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="tasks.id", index=True, ondelete="CASCADE")
    target_id: int | None = Field(default=None, foreign_key="export_targets.id", ondelete="CASCADE")
    tracker: str = Field(max_length=50)  # the target's kind
    external_id: str | None = Field(default=None, max_length=200)  # issue number, key or id
    url: str | None = Field(default=None, max_length=1000)
    status: str = Field(default=ExportState.pending, max_length=20)
    error: str | None = Field(default=None, max_length=2000)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = timestamp_field()
    # a job holds the row until then (two deliveries of one job never talk to the tracker at once)
    locked_until: datetime | None = timestamp_field()
    # `open`/`closed`: the external issue's state as last pushed or seen (the base of the two-way sync)
    remote_state: str | None = Field(default=None, max_length=20)
    checked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
