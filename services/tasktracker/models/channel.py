from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, json_field


class ChannelKind(StrEnum):
    telegram = "telegram"
    api = "api"
    slack = "slack"
    webhook = "webhook"
    email = "email"


class Channel(SQLModel, table=True):
    """Where messages come from: a Telegram chat, a Slack channel, the REST API, a webhook."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("kind", "external_id", name="uq_channels_kind_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    name: str = Field(max_length=200, unique=True)
    external_id: str | None = Field(default=None, max_length=200)
    enabled: bool = Field(default=True)
    # `enc:` + a Fernet token (tasktracker.crypto), never the secret itself
    secret: str | None = Field(default=None, max_length=1000)
    settings: dict[str, Any] = json_field(dict)
    created_at: datetime = created_at_field()
