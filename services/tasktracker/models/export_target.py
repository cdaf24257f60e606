from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, json_field


class TargetKind(StrEnum):
    github = "github"
    jira = "jira"
    linear = "linear"
    webhook = "webhook"


class ExportTarget(SQLModel, table=True):
    """An external tracker tasks are exported to: a GitHub repository, a Jira project, a Linear team,
    or a JSON webhook."""

    __tablename__ = "export_targets"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=20, index=True)
    enabled: bool = Field(default=True)
    # where and how to file issues (repository, project key, team id, URL, labels ...): never a secret
    config: dict[str, Any] = json_field(dict)
    # `enc:` + a Fernet token (tasktracker.crypto): the API token / signing key, never the secret itself
    secret: str | None = Field(default=None, max_length=4000)
    # `enc:` + a Fernet token: the key the tracker signs its webhooks to us with (sync back)
    webhook_secret: str | None = Field(default=None, max_length=4000)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
