"""Events pushed to dashboards: `{"id", "type", "ts", "data"}`."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from pydantic import BaseModel, Field

from tasktracker.db import utcnow


class EventType(StrEnum):
    hello = "hello"
    heartbeat = "heartbeat"
    message_received = "message.received"
    message_classified = "message.classified"
    task_created = "task.created"
    task_updated = "task.updated"
    task_deleted = "task.deleted"


class Event(BaseModel):
    id: str = Field(default_factory=lambda: uuid4().hex)
    type: EventType
    ts: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)
