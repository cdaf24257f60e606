"""SQLModel tables, one file per table. Importing this package registers them all on the metadata."""

from sqlmodel import SQLModel

from tasktracker.models.activity import TaskActivity
from tasktracker.models.channel import Channel, ChannelKind
from tasktracker.models.correction import Correction
from tasktracker.models.export_rule import ExportRule
from tasktracker.models.export_target import ExportTarget, TargetKind
from tasktracker.models.issue import Issue
from tasktracker.models.message import Message, MessageStatus
from tasktracker.models.processed_update import ProcessedUpdate
from tasktracker.models.task import CLOSED_STATUSES, OPEN_STATUSES, Task, TaskStatus
from tasktracker.models.task_export import ExportState, TaskExport

metadata = SQLModel.metadata

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "Channel",
    "ChannelKind",
    "Correction",
    "ExportRule",
    "ExportState",
    "ExportTarget",
    "Issue",
    "Message",
    "MessageStatus",
    "ProcessedUpdate",
    "TargetKind",
    "Task",
    "TaskActivity",
    "TaskExport",
    "TaskStatus",
    "metadata",
]
