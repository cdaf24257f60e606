"""SQLModel tables, one file per table. Importing this package registers them all on the metadata."""

from sqlmodel import SQLModel

from tasktracker.models.activity import TaskActivity
from tasktracker.models.api_token import ApiToken
from tasktracker.models.channel import Channel, ChannelKind
from tasktracker.models.correction import Correction
from tasktracker.models.export_rule import ExportRule
from tasktracker.models.export_target import ExportTarget, TargetKind
from tasktracker.models.issue import Issue
from tasktracker.models.login_link import LoginLink
from tasktracker.models.message import Message, MessageStatus
from tasktracker.models.processed_update import ProcessedUpdate
from tasktracker.models.session import UserSession
from tasktracker.models.task import CLOSED_STATUSES, OPEN_STATUSES, Task, TaskStatus
from tasktracker.models.task_export import ExportState, TaskExport
from tasktracker.models.user import ROLE_ORDER, Role, User

metadata = SQLModel.metadata

__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "ROLE_ORDER",
    "ApiToken",
    "Channel",
    "ChannelKind",
    "Correction",
    "ExportRule",
    "ExportState",
    "ExportTarget",
    "Issue",
    "LoginLink",
    "Message",
    "MessageStatus",
    "ProcessedUpdate",
    "Role",
    "TargetKind",
    "Task",
    "TaskActivity",
    "TaskExport",
    "TaskStatus",
    "User",
    "UserSession",
    "metadata",
]
