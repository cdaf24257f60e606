from datetime import datetime

from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, timestamp_field


class LoginLink(SQLModel, table=True):
    """A one-time credential: a login link (`purpose` "login", minutes) or a WebSocket ticket ("ws",
    seconds). Only the SHA-256 of the random value is stored; using it sets `used_at`."""

    __tablename__ = "login_links"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=10)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = timestamp_field(nullable=False, index=True)
    used_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
