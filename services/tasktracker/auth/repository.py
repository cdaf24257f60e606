"""SQL for users, API tokens, sessions and one-time links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.db import execute_dml
from tasktracker.models import ApiToken, LoginLink, Role, User, UserSession


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def user_by_name(session: AsyncSession, username: str) -> User | None:
    return (await session.scalars(select(User).where(col(User.username) == username))).one_or_none()


async def user_by_telegram_id(session: AsyncSession, telegram_user_id: int) -> User | None:
    stmt = select(User).where(col(User.telegram_user_id) == telegram_user_id)
    return (await session.scalars(stmt)).one_or_none()


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(col(User.id)))).all()


async def count_users(session: AsyncSession) -> int:
    return int((await session.scalar(select(func.count()).select_from(User))) or 0)


async def count_active_admins(session: AsyncSession) -> int:
    stmt = (
        select(func.count()).select_from(User).where(col(User.role) == Role.admin.value, ~col(User.disabled))
    )
    return int((await session.scalar(stmt)) or 0)


def add(session: AsyncSession, row: User | ApiToken | UserSession | LoginLink) -> None:
    session.add(row)


async def delete_user(session: AsyncSession, user: User) -> None:
    # Children first: SQLite enforces ON DELETE CASCADE only with its foreign-key pragma on.
    for model in (ApiToken, UserSession, LoginLink):
        await session.execute(delete(model).where(col(model.user_id) == user.id))
    await session.delete(user)


# API tokens -------------------------------------------------------------------------------------------


async def token_by_hash(session: AsyncSession, token_hash: str) -> tuple[ApiToken, User] | None:
    stmt = select(ApiToken, User).join(User, col(User.id) == col(ApiToken.user_id))
    row = (await session.execute(stmt.where(col(ApiToken.token_hash) == token_hash))).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def get_token(session: AsyncSession, token_id: int) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def list_tokens(session: AsyncSession, user_id: int | None) -> Sequence[ApiToken]:
    stmt = select(ApiToken).order_by(col(ApiToken.id))
    if user_id is not None:
        stmt = stmt.where(col(ApiToken.user_id) == user_id)
    return (await session.scalars(stmt)).all()


async def touch_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    await session.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now))


# Sessions ---------------------------------------------------------------------------------------------


async def session_by_hash(session: AsyncSession, session_hash: str) -> tuple[UserSession, User] | None:
    stmt = select(UserSession, User).join(User, col(User.id) == col(UserSession.user_id))
    row = (await session.execute(stmt.where(col(UserSession.session_hash) == session_hash))).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def extend_session(session: AsyncSession, session_id: int, now: datetime, expires_at: datetime) -> None:
    stmt = update(UserSession).where(col(UserSession.id) == session_id)
    await session.execute(stmt.values(last_seen_at=now, expires_at=expires_at))


async def delete_session(session: AsyncSession, session_hash: str) -> int | None:
    """Delete a session; the user it belonged to, or None when there was none."""
    stmt = delete(UserSession).where(col(UserSession.session_hash) == session_hash)
    return (await session.execute(stmt.returning(col(UserSession.user_id)))).scalar_one_or_none()


async def delete_sessions_of(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(UserSession).where(col(UserSession.user_id) == user_id))


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(UserSession).where(col(UserSession.expires_at) <= now))
    await session.execute(delete(LoginLink).where(col(LoginLink.expires_at) <= now))


# One-time links and tickets -----------------------------------------------------------------------------


async def use_link(session: AsyncSession, token_hash: str, purpose: str, now: datetime) -> int | None:
    """Mark an unused, unexpired link used, in one statement (two requests racing: one wins); the user
    it signs in, or None."""
    stmt = (
        update(LoginLink)
        .where(
            col(LoginLink.token_hash) == token_hash,
            col(LoginLink.purpose) == purpose,
            col(LoginLink.used_at).is_(None),
            col(LoginLink.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(LoginLink.user_id))
    )
    result = await execute_dml(session, stmt)
    return result.scalar_one_or_none()
