"""Who is calling: the result of checking a request's credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tasktracker.models.user import Role

Via = Literal["session", "token", "off", "telegram"]

LOCAL_ACTOR = "local"


@dataclass(frozen=True, slots=True)
class Principal:
    """`name` is what task activity records as the actor."""

    user_id: int | None
    name: str
    role: Role
    via: Via

    def allows(self, required: Role) -> bool:
        return self.role.allows(required)


# With TASKTRACKER_AUTH=off every caller is this (the API binds loopback only).
LOCAL_ADMIN = Principal(user_id=None, name=LOCAL_ACTOR, role=Role.admin, via="off")
