"""Export schemas: targets (with kind-specific settings), routing rules, exports, sync-back answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, TypeAdapter, ValidationError

from tasktracker.classification.schemas import Category, Priority
from tasktracker.errors import invalid
from tasktracker.fields import MAX_ID, Labels
from tasktracker.models.export_target import TargetKind
from tasktracker.tasks.schemas import ExportPublic

TARGET_NAME_PATTERN = r"^[\w.:@#/ -]+$"
MAX_SECRET_LENGTH = 2000

TargetId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _url(value: str) -> str:
    TypeAdapter(HttpUrl).validate_python(value)
    return value.rstrip("/")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GitHubConfig(_Config):
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$", max_length=200, description="`owner/name`")
    api_url: str = Field(
        default="https://api.github.com",
        max_length=500,
        description="GitHub Enterprise: `https://HOST/api/v3`",
    )
    labels: Labels = Field(default_factory=list, description="Labels every exported issue gets")


class JiraConfig(_Config):
    base_url: str = Field(max_length=500, description="`https://your-site.atlassian.net`")
    email: str = Field(
        min_length=3, max_length=200, description="The Atlassian account the API token belongs to"
    )
    project_key: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,49}$")
    issue_type: str = Field(default="Task", min_length=1, max_length=100)
    labels: Labels = Field(default_factory=list)
    close_transition: str | None = Field(
        default=None, max_length=100, description="Default: the first to a done status"
    )
    reopen_transition: str | None = Field(
        default=None, max_length=100, description="Default: the first to a to-do status"
    )


class LinearConfig(_Config):
    team_id: str = Field(min_length=1, max_length=100)
    api_url: str = Field(default="https://api.linear.app/graphql", max_length=500)
    label_ids: list[str] = Field(default_factory=list, max_length=20)
    closed_state_id: str | None = Field(default=None, max_length=100)
    open_state_id: str | None = Field(default=None, max_length=100)


class WebhookConfig(_Config):
    url: str = Field(max_length=1000)


CONFIGS: dict[TargetKind, type[_Config]] = {
    TargetKind.github: GitHubConfig,
    TargetKind.jira: JiraConfig,
    TargetKind.linear: LinearConfig,
    TargetKind.webhook: WebhookConfig,
}
URL_FIELDS = ("api_url", "base_url", "url")


def parse_config(kind: TargetKind, raw: dict[str, Any]) -> dict[str, Any]:
    """The kind's settings, checked (422 `validation_error` with the field's path otherwise)."""
    try:
        config = CONFIGS[kind].model_validate(raw)
        for name in URL_FIELDS:
            if hasattr(config, name):
                setattr(config, name, _url(getattr(config, name)))
    except ValidationError as exc:
        raise invalid(exc) from None
    return config.model_dump()


Secret = Annotated[SecretStr, Field(min_length=1, max_length=MAX_SECRET_LENGTH)]


class TargetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, pattern=TARGET_NAME_PATTERN)
    kind: TargetKind
    enabled: bool = True
    config: dict[str, Any] = Field(
        description="github: `{repository, api_url?, labels?}`; jira: `{base_url, email, project_key, "
        "issue_type?, labels?, close_transition?, reopen_transition?}`; linear: `{team_id, api_url?, "
        "label_ids?, closed_state_id?, open_state_id?}`; webhook: `{url}`"
    )
    token: Secret = Field(
        description="GitHub token, Jira API token, Linear API key, or the webhook's signing key. Never returned."
    )
    webhook_secret: Secret | None = Field(
        default=None,
        description="The secret the tracker signs its webhooks to us with (sync back). Never returned.",
    )


class TargetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=TARGET_NAME_PATTERN)
    enabled: bool | None = None
    config: dict[str, Any] | None = None
    token: Secret | None = None
    webhook_secret: Secret | None = Field(default=None, description="null removes it")


class TargetPublic(BaseModel):
    id: int
    name: str
    kind: TargetKind
    enabled: bool
    config: dict[str, Any]
    has_token: bool
    has_webhook_secret: bool
    webhook_path: str | None = Field(
        description="Where the tracker's webhooks go for sync back (none for webhooks)"
    )
    exports: int = 0
    created_at: datetime
    updated_at: datetime


class TargetChoice(BaseModel):
    """What an editor sees of a target: enough to pick one for an export."""

    id: int
    name: str
    kind: TargetKind


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: TargetId
    channel_id: TargetId | None = Field(default=None, description="Only tasks from this channel")
    category: Category | None = None
    priority: Priority | None = None
    enabled: bool = True


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: TargetId | None = None
    channel_id: TargetId | None = None
    category: Category | None = None
    priority: Priority | None = None
    enabled: bool | None = None


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    target_id: int
    channel_id: int | None
    category: str | None
    priority: str | None
    enabled: bool
    created_at: datetime


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_id: TargetId


class SyncResult(BaseModel):
    """What a tracker's webhook delivery led to."""

    status: Literal["queued", "ignored"]
    reason: str | None = None
    export_id: int | None = None


__all__ = [
    "CONFIGS",
    "ExportCreate",
    "ExportPublic",
    "GitHubConfig",
    "JiraConfig",
    "LinearConfig",
    "RuleCreate",
    "RulePublic",
    "RuleUpdate",
    "SyncResult",
    "TargetChoice",
    "TargetCreate",
    "TargetPublic",
    "TargetUpdate",
    "WebhookConfig",
    "parse_config",
]
