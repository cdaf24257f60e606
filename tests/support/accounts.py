"""Users and API tokens for tests of access, made through the service as the CLI makes them."""

from __future__ import annotations

from pydantic import SecretStr

from tasktracker.auth import service
from tasktracker.auth.schemas import TokenCreate, UserCreate
from tasktracker.models import Role
from tasktracker.unit_of_work import Resources, unit_of_work

PASSWORD = "correct horse battery staple"


async def add_user(resources: Resources, username: str, role: Role, password: str = PASSWORD) -> int:
    async with unit_of_work(resources) as uow:
        user = await service.create_user(
            uow.session, UserCreate(username=username, role=role, password=SecretStr(password))
        )
        assert user.id is not None
        return user.id


async def add_token(resources: Resources, user_id: int, name: str = "test") -> str:
    async with unit_of_work(resources) as uow:
        _, value = await service.create_token(uow.session, user_id, TokenCreate(name=name))
        return value


async def tokens_by_role(resources: Resources, prefix: str = "") -> dict[Role, str]:
    """One user per role (`<prefix>viewer`, ...), and a Bearer token of each."""
    tokens = {}
    for role in Role:
        user_id = await add_user(resources, f"{prefix}{role.value}", role)
        tokens[role] = await add_token(resources, user_id)
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
