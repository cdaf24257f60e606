"""Request dependencies: the runtime, settings, and the request's unit of work (and its session).

Every dependency is `async def`, even those that only read an attribute: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per dependency per request (measured, issue 13: about a
fifth of the API's CPU per ingested message went to handing these to threads and back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.config import Settings
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import GroupCommit, UnitOfWork, unit_of_work


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def get_unit_of_work(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request: committed when the endpoint returns, before the response is sent
    (`scope="function"`), so a failed commit answers 500; an error answer rolls it back."""
    async with unit_of_work(runtime) as uow:
        yield uow


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]


async def get_session(uow: UnitOfWorkDep) -> AsyncSession:
    return uow.session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_intake(request: Request) -> GroupCommit[Any, Any] | None:
    """The process's group commit for `POST /api/messages` (None on SQLite: one connection, one writer)."""
    return getattr(request.app.state, "intake", None)


IntakeDep = Annotated[GroupCommit[Any, Any] | None, Depends(get_intake)]
