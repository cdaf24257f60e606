"""Events pushed to dashboards: `{"id", "type", "ts", "data"}`.

Every event is built here, by one function per type, from its typed payload; nowhere else writes an
`Event(...)`. The typed models (`LiveEvent`) are also published in the OpenAPI document, so the
dashboard's types for `/ws` are generated like the rest of its client.
"""

from __future__ import annotations

import itertools
import os
import secrets
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from tasktracker.db import utcnow
from tasktracker.messages.schemas import MessagePublic
from tasktracker.tasks.schemas import TaskPublic


class EventType(StrEnum):
    hello = "hello"
    heartbeat = "heartbeat"
    message_received = "message.received"
    message_classified = "message.classified"
    task_created = "task.created"
    task_updated = "task.updated"
    task_deleted = "task.deleted"
    access_changed = "access.changed"


# Between processes only: never sent to dashboards (the hub drops them) nor documented as `LiveEvent`.
INTERNAL_EVENTS = frozenset({EventType.access_changed})


def _new_event_id() -> str:
    """32 hex digits unique across processes: a random prefix per process and a count. A `uuid4` each
    was a `getrandom` system call per event (500 for a batch of 500) for the same uniqueness."""
    return f"{_id_prefix}{next(_id_count):016x}"


def _fresh_ids() -> None:
    global _id_prefix, _id_count
    _id_prefix, _id_count = secrets.token_hex(8), itertools.count()


_id_prefix, _id_count = "", itertools.count()
_fresh_ids()
os.register_at_fork(after_in_child=_fresh_ids)  # a forked child must not repeat its parent's ids


class Event(BaseModel):
    """An event as it travels over the bus and the WebSocket: its payload as plain JSON."""

    id: str = Field(default_factory=_new_event_id)
    type: EventType
    ts: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)


# Payloads ----------------------------------------------------------------------------------------------


class HelloData(BaseModel):
    version: str


class HeartbeatData(BaseModel):
    pass


class TaskDeletedData(BaseModel):
    id: int


class AccessChangedData(BaseModel):
    user_id: int


class _LiveEventBase(BaseModel):
    id: str
    ts: datetime


class HelloEvent(_LiveEventBase):
    """The first frame on a new connection."""

    type: Literal["hello"]
    data: HelloData


class HeartbeatEvent(_LiveEventBase):
    """Sent after `TASKTRACKER_WS_HEARTBEAT_S` of silence."""

    type: Literal["heartbeat"]
    data: HeartbeatData


class MessageReceivedEvent(_LiveEventBase):
    type: Literal["message.received"]
    data: MessagePublic


class MessageClassifiedEvent(_LiveEventBase):
    type: Literal["message.classified"]
    data: MessagePublic


class TaskCreatedEvent(_LiveEventBase):
    type: Literal["task.created"]
    data: TaskPublic


class TaskUpdatedEvent(_LiveEventBase):
    type: Literal["task.updated"]
    data: TaskPublic


class TaskDeletedEvent(_LiveEventBase):
    type: Literal["task.deleted"]
    data: TaskDeletedData


LiveEvent = Annotated[
    HelloEvent
    | HeartbeatEvent
    | MessageReceivedEvent
    | MessageClassifiedEvent
    | TaskCreatedEvent
    | TaskUpdatedEvent
    | TaskDeletedEvent,
    Field(discriminator="type"),
]


# Builders: the one place each event type is made ------------------------------------------------------


def _event(kind: EventType, payload: BaseModel) -> Event:
    return Event(type=kind, data=payload.model_dump(mode="json"))


def hello(version: str) -> Event:
    return _event(EventType.hello, HelloData(version=version))


def heartbeat() -> Event:
    return _event(EventType.heartbeat, HeartbeatData())


def message_received(message: MessagePublic) -> Event:
    return _event(EventType.message_received, message)


def message_classified(message: MessagePublic) -> Event:
    return _event(EventType.message_classified, message)


def task_created(task: TaskPublic) -> Event:
    return _event(EventType.task_created, task)


def task_updated(task: TaskPublic) -> Event:
    return _event(EventType.task_updated, task)


def task_deleted(task_id: int) -> Event:
    return _event(EventType.task_deleted, TaskDeletedData(id=task_id))


def access_changed(user_id: int) -> Event:
    """A user's sessions or tokens were revoked, or their role changed: caches must forget them."""
    return _event(EventType.access_changed, AccessChangedData(user_id=user_id))
