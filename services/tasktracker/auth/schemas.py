"""Account schemas: User Base -> Create / Update -> table -> Public; tokens; sign-in; tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tasktracker.auth.passwords import MAX_LENGTH, MIN_LENGTH
from tasktracker.auth.principal import Via
from tasktracker.models.user import Role

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,189}$"
# Telegram user ids are positive 64-bit integers (the column is BIGINT).
TELEGRAM_ID_MAX = 2**63 - 1

Username = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=USERNAME_PATTERN,
        description="Letters, digits and `._@-`; compared case-insensitively (stored lower-case).",
    ),
]
Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
NewPassword = Annotated[
    SecretStr,
    Field(
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        description=f"At least {MIN_LENGTH} characters.",
        json_schema_extra={"format": "password", "writeOnly": True},
    ),
]
# Strict: JSON `true` is not the id 1.
TelegramUserId = Annotated[int, Field(ge=1, le=TELEGRAM_ID_MAX, strict=True)]


def _lower(value: str) -> str:
    return value.lower()


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=254)
    password: SecretStr = Field(min_length=1, max_length=MAX_LENGTH, json_schema_extra={"writeOnly": True})


class UserBase(BaseModel):
    email: Email | None = None
    role: Role = Role.viewer
    telegram_user_id: TelegramUserId | None = None


class UserCreate(UserBase):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: NewPassword

    _normalise = field_validator("username")(_lower)


class UserUpdate(BaseModel):
    """Only the fields given change; `email` / `telegram_user_id` null clears them."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    password: NewPassword | None = None
    disabled: Annotated[bool, Field(strict=True)] | None = None
    email: Email | None = None
    telegram_user_id: TelegramUserId | None = None


class UserPublic(UserBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    disabled: bool
    created_at: datetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class Me(BaseModel):
    """Who is calling. With `TASKTRACKER_AUTH=off`: a local admin (`id` null, `via` "off")."""

    id: int | None
    username: str
    email: str | None
    role: Role
    via: Via


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, strict=True, description="Omitted: never expires."
    )


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    created_at: datetime


class TokenCreated(BaseModel):
    """The new token; `token` is shown this once and never again."""

    id: int
    name: str
    token: str
    prefix: str
    expires_at: datetime | None


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int


class WsTicket(BaseModel):
    """Open `/ws?ticket=<ticket>` within `expires_in` seconds; it works once."""

    ticket: str
    expires_in: int
