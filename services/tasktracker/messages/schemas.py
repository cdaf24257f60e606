"""Message schemas: what channels send in, and what the API and events send out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from tasktracker.channels.schemas import ChannelRef
from tasktracker.classification.schemas import Classification
from tasktracker.fields import ExternalId, SentAt
from tasktracker.models.message import MessageStatus


class MessageIn(BaseModel):
    """One incoming message. Also accepts the original system's body `{"id", "content", "author", "timestamp"}`."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    content: str = Field(min_length=1, description="The message text.")
    author: str | None = Field(default=None, max_length=200)
    channel: str = Field(default="api", min_length=1, max_length=200, pattern=r"^[\w.:@#/ -]+$")
    external_id: ExternalId = Field(default=None, validation_alias=AliasChoices("external_id", "id"))
    sent_at: SentAt = Field(default=None, validation_alias=AliasChoices("sent_at", "timestamp"))
    thread_external_id: str | None = Field(default=None, max_length=200)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_blank(self) -> MessageIn:
        if not self.content.strip():
            raise ValueError("content must not be empty")
        return self


class MessageBatchIn(BaseModel):
    messages: list[MessageIn] = Field(min_length=1)


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: ChannelRef
    external_id: str
    thread_external_id: str | None = None
    author: str | None
    content: str
    sent_at: datetime
    received_at: datetime
    status: MessageStatus
    task_id: int | None
    classification: Classification | None = None


class IssuePublic(Classification):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: int
    created_at: datetime


class MessageDetail(MessagePublic):
    issues: list[IssuePublic] = Field(default_factory=list)


class MessagesPublic(BaseModel):
    data: list[MessagePublic]
    next_cursor: str | None = None


class BatchResult(BaseModel):
    created: int
    existing: int
    data: list[MessagePublic]
