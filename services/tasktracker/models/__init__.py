"""SQLModel tables, one file per table. Importing this package registers them all on the metadata."""

from sqlmodel import SQLModel

from tasktracker.models.activity import TaskActivity
from tasktracker.models.channel import Channel, ChannelKind
from tasktracker.models.correction import Correction
from tasktracker.models.counts import MessageDayCount, TaskCount
from tasktracker.models.issue import Issue
from tasktracker.models.message import Message, MessageStatus
from tasktracker.models.processed_update import ProcessedUpdate
from tasktracker.models.task import CLOSED_STATUSES, OPEN_STATUSES, Task, TaskStatus
from tasktracker.models.task_export import TaskExport

metadata = SQLModel.metadata

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "Channel",
    "ChannelKind",
    "Correction",
    "Issue",
    "Message",
    "MessageDayCount",
    "MessageStatus",
    "ProcessedUpdate",
    "Task",
    "TaskActivity",
    "TaskCount",
    "TaskExport",
    "TaskStatus",
    "metadata",
]
