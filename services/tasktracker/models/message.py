from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, json_field


class MessageStatus(StrEnum):
    received = "received"
    classifying = "classifying"
    classified = "classified"
    failed = "failed"


class Message(SQLModel, table=True):
    """A message as it arrived from a channel; stored before anything else happens to it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_id", name="uq_messages_channel_external_id"),
        Index("ix_messages_status_updated_at", "status", "updated_at"),
        Index("ix_messages_received_at_id", "received_at", "id"),
        # The message list's filters with its one sort (newest first), each along one index.
        Index("ix_messages_status_received_at_id", "status", "received_at", "id"),
        Index("ix_messages_channel_id_received_at_id", "channel_id", "received_at", "id"),
        Index("ix_messages_category_received_at_id", "category", "received_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channels.id")
    external_id: str = Field(max_length=200)
    thread_external_id: str | None = Field(default=None, max_length=200)
    author: str | None = Field(default=None, max_length=200)
    content: str = Field(sa_type=Text)
    sent_at: datetime = created_at_field()
    received_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
    status: str = Field(default=MessageStatus.received, max_length=20)
    attempts: int = Field(default=0)
    task_id: int | None = Field(default=None, foreign_key="tasks.id", index=True, ondelete="SET NULL")
    # The category of the classification that finished the message (its latest issue), kept here so the
    # message list filters on it along an index instead of finding each message's latest issue.
    category: str | None = Field(default=None, max_length=20)
    meta: dict[str, Any] = json_field(dict)
