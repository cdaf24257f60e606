"""Accounts and access: who may sign in, what a credential is worth, and the rules that keep an
installation administrable (there is always an enabled admin).

Every credential handed out is random (`secrets`), and only its SHA-256 is stored: a database dump
signs nobody in. Passwords are argon2id hashes (`passwords.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.auth import passwords, repository
from tasktracker.auth.principal import Principal, Via
from tasktracker.auth.schemas import TokenCreate, UserCreate, UserUpdate
from tasktracker.db import utcnow
from tasktracker.errors import Conflict, Invalid, NotFound, Unauthorized
from tasktracker.models import ApiToken, LoginLink, Role, User, UserSession

log = logging.getLogger(__name__)

TOKEN_PREFIX = "tt_"
TOKEN_BYTES = 32
DISPLAY_PREFIX_LENGTH = 10  # "tt_" + 7 characters: enough to tell tokens apart, useless to guess one
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at / session sliding: at most one write a minute
FIRST_ADMIN = "admin"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class LastAdmin(Conflict):
    code = "last_admin"


@dataclass(frozen=True)
class Checked:
    """A credential found valid: who it signs in, and how many seconds it stays valid (None: no end)."""

    principal: Principal
    valid_for_s: float | None
    renewed: bool = False  # a session whose expiry moved forward: the browser's cookie should too


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def csrf_token(secret_key: str, session_value: str) -> str:
    """The CSRF token bound to a session: readable by the page (a cookie), useless without the session."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_value.encode(), hashlib.sha256).hexdigest()


def principal_of(user: User, via: Via) -> Principal:
    assert user.id is not None
    return Principal(user_id=user.id, name=user.username, role=Role(user.role), via=via)


# Users ------------------------------------------------------------------------------------------------


async def _check_unique(
    session: AsyncSession, user: User | None, username: str | None, tg: int | None
) -> None:
    if username is not None:
        other = await repository.user_by_name(session, username)
        if other is not None and other is not user:
            raise Conflict(f"the username {username!r} is taken", code="username_taken")
    if tg is not None:
        other = await repository.user_by_telegram_id(session, tg)
        if other is not None and other is not user:
            raise Conflict(
                f"Telegram user {tg} is already linked to {other.username!r}", code="telegram_user_taken"
            )


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    await _check_unique(session, None, data.username, data.telegram_user_id)
    user = User(
        username=data.username,
        email=data.email,
        role=data.role.value,
        telegram_user_id=data.telegram_user_id,
        password_hash=await passwords.hash_async(data.password.get_secret_value()),
    )
    repository.add(session, user)
    await session.flush()
    log.info("user %s created (%s)", user.username, user.role)
    return user


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list(await repository.list_users(session))


async def _keeps_an_admin(session: AsyncSession, user: User, role: Role, disabled: bool) -> None:
    """Refuse a change that would leave no enabled admin: nobody could administer the installation."""
    was_admin = user.role == Role.admin.value and not user.disabled
    stays_admin = role is Role.admin and not disabled
    if was_admin and not stays_admin and await repository.count_active_admins(session) <= 1:
        raise LastAdmin(f"{user.username!r} is the last enabled admin; make another admin first")


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate) -> tuple[User, bool]:
    """Apply the given fields; the second value says whether what the user may do changed (role,
    disabled, password), so their sessions and cached credentials must go."""
    user = await get_user(session, user_id)
    given = data.model_fields_set
    role = data.role if data.role is not None else Role(user.role)
    disabled = data.disabled if data.disabled is not None else user.disabled
    await _keeps_an_admin(session, user, role, disabled)
    if "telegram_user_id" in given:
        await _check_unique(session, user, None, data.telegram_user_id)
        user.telegram_user_id = data.telegram_user_id
    if "email" in given:
        user.email = data.email
    access_changed = role.value != user.role or disabled != user.disabled
    user.role, user.disabled = role.value, disabled
    if data.password is not None:
        user.password_hash = await passwords.hash_async(data.password.get_secret_value())
        await repository.delete_sessions_of(session, user_id)  # a new password signs everyone else out
        access_changed = True
    if disabled:
        await repository.delete_sessions_of(session, user_id)
    user.updated_at = utcnow()
    session.add(user)
    await session.flush()
    return user, access_changed


async def delete_user(session: AsyncSession, user_id: int) -> None:
    user = await get_user(session, user_id)
    await _keeps_an_admin(session, user, Role.viewer, True)
    await repository.delete_user(session, user)


async def ensure_admin(session: AsyncSession, username: str, password: str, email: str | None) -> bool:
    """Create this admin unless a user of that name exists (whose password is never reset). True when
    created."""
    username = username.lower()
    if await repository.user_by_name(session, username) is not None:
        return False
    passwords.check_strength(password)
    repository.add(
        session,
        User(
            username=username,
            email=email or None,
            role=Role.admin.value,
            password_hash=await passwords.hash_async(password),
        ),
    )
    await session.flush()
    log.info("admin %s created from the settings", username)
    return True


async def first_admin(session: AsyncSession) -> User | None:
    """On an installation without users: create `admin` with a random password nobody knows (it signs
    in by a one-time link, and sets a password in the dashboard). None when users exist."""
    if await repository.count_users(session) > 0:
        return None
    user = User(
        username=FIRST_ADMIN,
        role=Role.admin.value,
        password_hash=await passwords.hash_async(secrets.token_urlsafe(24)),
    )
    repository.add(session, user)
    await session.flush()
    return user


# Signing in -------------------------------------------------------------------------------------------


async def check_password(session: AsyncSession, username: str, password: str) -> User:
    """The user these credentials sign in. Unknown user, wrong password and disabled account get the
    same answer after the same work, so the answer does not tell which usernames exist."""
    user = await repository.user_by_name(session, username.strip().lower())
    valid = await passwords.verify_async(user.password_hash if user else None, password)
    if user is None or not valid or user.disabled:
        raise InvalidCredentials("wrong username or password")
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.hash_async(password)
        session.add(user)
    return user


async def start_session(session: AsyncSession, user: User, ttl: timedelta) -> str:
    """A new dashboard session; the value for the cookie (stored only as its hash)."""
    assert user.id is not None
    value = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    await repository.delete_expired(session, now)
    repository.add(
        session,
        UserSession(user_id=user.id, session_hash=digest(value), expires_at=now + ttl, last_seen_at=now),
    )
    return value


async def check_session(session: AsyncSession, value: str, ttl: timedelta) -> Checked | None:
    """The principal of a session cookie, sliding its expiry forward (at most one write a minute)."""
    found = await repository.session_by_hash(session, digest(value))
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.expires_at <= now or user.disabled:
        return None
    expires_at = row.expires_at
    renewed = now - row.last_seen_at >= TOUCH_EVERY
    if renewed:
        assert row.id is not None
        expires_at = now + ttl
        await repository.extend_session(session, row.id, now, expires_at)
    return Checked(principal_of(user, "session"), (expires_at - now).total_seconds(), renewed)


async def end_session(session: AsyncSession, value: str) -> int | None:
    """Delete the session; the user it belonged to, or None."""
    return await repository.delete_session(session, digest(value))


# API tokens -------------------------------------------------------------------------------------------


async def create_token(session: AsyncSession, user_id: int, data: TokenCreate) -> tuple[ApiToken, str]:
    """A new token for the user; the token itself is returned this once and stored only hashed."""
    user = await get_user(session, user_id)
    if user.disabled:
        raise Invalid(f"{user.username!r} is disabled", code="user_disabled")
    value = new_token()
    expires_at = utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    token = ApiToken(
        user_id=user_id,
        name=data.name,
        token_hash=digest(value),
        prefix=value[:DISPLAY_PREFIX_LENGTH],
        expires_at=expires_at,
    )
    repository.add(session, token)
    await session.flush()
    log.info("API token %s (%s) created for %s", token.prefix, token.name, user.username)
    return token, value


async def check_token(session: AsyncSession, value: str) -> Checked | None:
    """The principal of a Bearer token; records its use (at most one write a minute)."""
    if not value.startswith(TOKEN_PREFIX) or len(value) > 200:
        return None
    found = await repository.token_by_hash(session, digest(value))
    if found is None:
        return None
    token, user = found
    now = utcnow()
    if token.revoked_at is not None or user.disabled or (token.expires_at and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        assert token.id is not None
        await repository.touch_token(session, token.id, now)
    valid_for = (token.expires_at - now).total_seconds() if token.expires_at else None
    return Checked(principal_of(user, "token"), valid_for)


async def list_tokens(session: AsyncSession, user_id: int | None) -> list[ApiToken]:
    return list(await repository.list_tokens(session, user_id))


async def revoke_token(session: AsyncSession, token_id: int, by: Principal) -> ApiToken:
    """Revoke one's own token (an admin: anyone's). Someone else's token is 'not found' to a non-admin."""
    token = await repository.get_token(session, token_id)
    if token is None or (token.user_id != by.user_id and not by.allows(Role.admin)):
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        log.info("API token %s revoked by %s", token.prefix, by.name)
    return token


# One-time links and WebSocket tickets ---------------------------------------------------------------------


async def one_time(session: AsyncSession, user: User, purpose: str, ttl: timedelta) -> str:
    """A single-use credential for a login link (`login`) or a WebSocket ticket (`ws`)."""
    assert user.id is not None
    if user.disabled:
        raise Invalid(f"{user.username!r} is disabled", code="user_disabled")
    value = secrets.token_urlsafe(TOKEN_BYTES)
    repository.add(
        session,
        LoginLink(user_id=user.id, purpose=purpose, token_hash=digest(value), expires_at=utcnow() + ttl),
    )
    await session.flush()
    return value


async def use_one_time(session: AsyncSession, value: str, purpose: str) -> User | None:
    """The user a single-use credential signs in, marking it used; None when unknown, used or expired."""
    if not value or len(value) > 200:
        return None
    user_id = await repository.use_link(session, digest(value), purpose, utcnow())
    if user_id is None:
        return None
    user = await repository.get_user(session, user_id)
    return user if user is not None and not user.disabled else None


async def user_named(session: AsyncSession, username: str) -> User:
    user = await repository.user_by_name(session, username.strip().lower())
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


# Telegram ----------------------------------------------------------------------------------------------


async def telegram_principal(session: AsyncSession, telegram_user_id: int | None) -> Principal | None:
    """The enabled user a Telegram account is linked to, if any."""
    if telegram_user_id is None:
        return None
    user = await repository.user_by_telegram_id(session, telegram_user_id)
    if user is None or user.disabled:
        return None
    return principal_of(user, "telegram")


async def link_user_at_start(session: AsyncSession, *, every_start: bool) -> User | None:
    """Whom `tasktracker run` prints a sign-in link for: a new `admin` on an installation without users;
    with `every_start` (development) also `admin` (or else the first enabled admin) on later starts."""
    created = await first_admin(session)
    if created is not None or not every_start:
        return created
    named = await repository.user_by_name(session, FIRST_ADMIN)
    if named is not None and not named.disabled and named.role == Role.admin.value:
        return named
    return next(
        (u for u in await repository.list_users(session) if u.role == Role.admin.value and not u.disabled),
        None,
    )
