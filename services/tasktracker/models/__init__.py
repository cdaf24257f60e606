"""SQLModel tables, one file per table. Importing this package registers them all on the metadata."""

from sqlmodel import SQLModel

from tasktracker.models.activity import TaskActivity
from tasktracker.models.api_token import ApiToken
from tasktracker.models.channel import Channel, ChannelKind
from tasktracker.models.correction import Correction
from tasktracker.models.counts import IssueDayCount, MessageDayCount, TaskCount
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

# What PostgreSQL keeps beside the models, for its own use (migration 0005): a stored, generated
# `search_vector` (tsvector of the searched text) with its GIN index on tasks and messages. The
# application never reads or writes them, only searches them (tasktracker.db.search); SQLite has none.
DATABASE_ONLY: frozenset[tuple[str, str]] = frozenset(
    {
        ("tasks", "search_vector"),
        ("tasks", "ix_tasks_search"),
        ("messages", "search_vector"),
        ("messages", "ix_messages_search"),
    }
)

__all__ = [
    "CLOSED_STATUSES",
    "DATABASE_ONLY",
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
    "IssueDayCount",
    "LoginLink",
    "Message",
    "MessageDayCount",
    "MessageStatus",
    "ProcessedUpdate",
    "Role",
    "TargetKind",
    "Task",
    "TaskActivity",
    "TaskCount",
    "TaskExport",
    "TaskStatus",
    "User",
    "UserSession",
    "metadata",
]
