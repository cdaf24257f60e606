"""Channel schemas: Base -> Create / Update -> table -> Public; and what webhooks accept and answer."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tasktracker.errors import AppError
from tasktracker.fields import Assignee, ExternalId, Labels, SentAt
from tasktracker.models.channel import ChannelKind

CHANNEL_NAME_PATTERN = r"^[\w.:@#/ -]+$"
# Kinds whose messages arrive at POST /webhook/generic/{channel}, signed with the channel's secret.
GENERIC_KINDS = frozenset({ChannelKind.webhook, ChannelKind.email})
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 500  # the column's length, on every database


def _check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not MIN_SECRET_LENGTH <= len(value.get_secret_value()) <= MAX_SECRET_LENGTH:
        raise ValueError(f"secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters")
    return value


SECRET_LIMITS: dict[str, Any] = {"minLength": MIN_SECRET_LENGTH, "maxLength": MAX_SECRET_LENGTH}


class ChannelRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    name: str


class RoutingDefaults(BaseModel):
    """Applied to every task created from the channel's messages."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    assignee: Assignee = None
    labels: Labels = Field(default_factory=list)


class ChannelBase(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=CHANNEL_NAME_PATTERN)
    external_id: str | None = Field(
        default=None,
        max_length=200,
        description="The id the source gives it: Telegram chat id, Slack channel id.",
    )
    enabled: bool = True
    defaults: RoutingDefaults = Field(default_factory=RoutingDefaults)


class ChannelCreate(ChannelBase):
    kind: ChannelKind
    secret: SecretStr | None = Field(
        default=None,
        description=f"HMAC key of a generic webhook ({MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters). Never returned.",
        json_schema_extra=SECRET_LIMITS,
    )

    @model_validator(mode="after")
    def _secret_for_generic(self) -> ChannelCreate:
        if self.kind in GENERIC_KINDS and self.secret is None:
            raise ValueError(f"a {self.kind.value} channel needs a secret to verify signatures")
        _check_secret(self.secret)
        return self


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=CHANNEL_NAME_PATTERN)
    external_id: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    muted: bool | None = None
    secret: SecretStr | None = Field(
        default=None, description="New secret; null removes it.", json_schema_extra=SECRET_LIMITS
    )
    defaults: RoutingDefaults | None = None

    @field_validator("secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_secret(value)


class ChannelPublic(ChannelRef):
    """A channel as the API shows it: its secret only as `has_secret`."""

    enabled: bool
    external_id: str | None = None
    has_secret: bool = False
    muted: bool = False
    title: str | None = Field(
        default=None, description="The source's own name for it, e.g. the Telegram chat title."
    )
    defaults: RoutingDefaults = Field(default_factory=RoutingDefaults)
    created_at: datetime | None = None


class ChannelsPublic(BaseModel):
    data: list[ChannelPublic]


# Webhooks ---------------------------------------------------------------------------------------------


class WebhookStatus(StrEnum):
    stored = "stored"
    duplicate = "duplicate"
    ignored = "ignored"


class WebhookResult(BaseModel):
    """What a webhook did with a delivery: stored it, knew it already, or ignored it (and why)."""

    status: WebhookStatus
    reason: str | None = Field(
        default=None, description="Why a delivery was ignored, e.g. `channel_disabled`."
    )
    detail: str | None = None
    message_id: int | None = None
    channel: str | None = None


class SlackChallenge(BaseModel):
    challenge: str


class GenericMessageIn(BaseModel):
    """A message from anything that can sign JSON: email gateways, forms, scripts."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    content: str = Field(min_length=1, validation_alias=AliasChoices("content", "text", "body"))
    subject: str | None = Field(default=None, max_length=500)
    author: str | None = Field(
        default=None, max_length=200, validation_alias=AliasChoices("author", "from", "sender")
    )
    external_id: ExternalId = Field(
        default=None, validation_alias=AliasChoices("external_id", "id", "message_id")
    )
    sent_at: SentAt = Field(default=None, validation_alias=AliasChoices("sent_at", "timestamp", "date"))
    thread_external_id: ExternalId = Field(
        default=None, validation_alias=AliasChoices("thread_external_id", "thread_id", "in_reply_to")
    )
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        return f"{self.subject}\n\n{self.content}" if self.subject else self.content


def json_object(body: bytes) -> dict[str, Any]:
    """400 `malformed_json` unless the body is a JSON object."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise AppError("the body is not valid JSON", code="malformed_json") from None
    if not isinstance(payload, dict):
        raise AppError("the body must be a JSON object", code="malformed_json")
    return payload
