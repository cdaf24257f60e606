from datetime import datetime

from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, timestamp_field


class ApiToken(SQLModel, table=True):
    """A personal API token: `tt_` + random; only its SHA-256 is stored, and its first characters to
    tell tokens apart."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    expires_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
