from datetime import datetime

from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field, timestamp_field


class UserSession(SQLModel, table=True):
    """A dashboard sign-in: the cookie holds a random id, the table its SHA-256. Sliding: the expiry
    moves forward while the session is used."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    session_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = timestamp_field(nullable=False, index=True)
    last_seen_at: datetime = created_at_field()
    created_at: datetime = created_at_field()
