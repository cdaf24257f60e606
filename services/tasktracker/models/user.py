from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field


class Role(StrEnum):
    """What a user may do; each role may do everything the ones before it may."""

    viewer = "viewer"  # read
    editor = "editor"  # read and change work: messages, tasks
    admin = "admin"  # everything: users, tokens, channels, settings

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def allows(self, required: "Role") -> bool:
        return self.rank >= required.rank


ROLE_ORDER = (Role.viewer, Role.editor, Role.admin)


class User(SQLModel, table=True):
    """A person (or a service account) who signs in to the dashboard or holds API tokens."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    email: str | None = Field(default=None, max_length=254)
    # argon2id, in the PHC string format (the parameters travel with the hash)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.viewer.value, max_length=20)
    disabled: bool = Field(default=False)
    # The Telegram account whose bot commands act as this user.
    telegram_user_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
