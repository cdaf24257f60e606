"""REST adapters for accounts: sign-in and sign-out, who am I, one-time links and WebSocket tickets
(`/api/auth`), users (`/api/users`, admin) and personal API tokens (`/api/tokens`)."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from tasktracker.api import access
from tasktracker.api.access import AdminDep, ViewerDep, public, requires
from tasktracker.api.deps import SettingsDep, UnitOfWorkDep
from tasktracker.api.params import IdPath, IdQuery
from tasktracker.api.rate_limit import RateLimitsDep
from tasktracker.auth import service
from tasktracker.auth.schemas import (
    LoginRequest,
    Me,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokensPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdate,
    WsTicket,
)
from tasktracker.errors import Forbidden, Invalid
from tasktracker.models import Role

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])
users_router = APIRouter(prefix="/api/users", tags=["users"], dependencies=[requires(Role.admin)])
tokens_router = APIRouter(prefix="/api/tokens", tags=["tokens"], dependencies=[requires(Role.viewer)])


# Signing in ---------------------------------------------------------------------------------------------


@auth_router.post(
    "/login",
    dependencies=[public],
    responses={
        401: {
            "description": "Wrong username or password, or the account is disabled (`invalid_credentials`)."
        },
        429: {"description": "Too many attempts (`rate_limited`); `Retry-After` says how long to wait."},
    },
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
) -> UserPublic:
    """Sign in to the dashboard: sets the session cookie `tt_session` (HttpOnly) and `tt_csrf`, whose
    value unsafe requests send back as `X-CSRF-Token`."""
    if not settings.auth_on:
        raise Invalid(
            "sign-in is off: TASKTRACKER_AUTH=off makes every caller a local admin", code="auth_off"
        )
    limits.check_login(request, body.username)  # per address, and per account's failures
    try:
        user = await service.check_password(uow.session, body.username, body.password.get_secret_value())
    except service.InvalidCredentials:
        limits.login_failed(body.username)
        raise
    value = await service.start_session(uow.session, user, access.session_ttl(settings))
    access.set_session_cookies(response, settings, value)
    return UserPublic.model_validate(user)


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[public])
async def logout(request: Request, uow: UnitOfWorkDep, settings: SettingsDep) -> Response:
    """Sign out: ends the session and clears the cookies (also when the session had ended already)."""
    value = request.cookies.get(access.SESSION_COOKIE)
    if value:
        user_id = await service.end_session(uow.session, value)
        access.cache_of(request.app).drop("s:" + service.digest(value))
        if user_id is not None:
            access.access_changed(request.app, uow, user_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    access.clear_session_cookies(response, settings)
    return response


@auth_router.get("/me")
async def me(principal: ViewerDep, uow: UnitOfWorkDep) -> Me:
    """Who is calling: with `TASKTRACKER_AUTH=off`, a local admin (`via` "off", `id` null)."""
    email = None
    if principal.user_id is not None:
        email = (await service.get_user(uow.session, principal.user_id)).email
    return Me(
        id=principal.user_id, username=principal.name, email=email, role=principal.role, via=principal.via
    )


LINK_FAILED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign-in link not valid</title></head><body><h1>This sign-in link is not valid</h1>
<p>{detail}</p><p>Ask an admin for a new one, or run <code>tasktracker user link NAME</code>.</p>
<p><a href="{root}/">Sign in with a password</a></p></body></html>"""


@auth_router.get(
    "/link",
    dependencies=[public],
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses={
        303: {"description": "Signed in: the cookies are set; on to the dashboard."},
        401: {"description": "The link is unknown, used or expired (`invalid_link`)."},
    },
)
async def use_link(
    request: Request,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    token: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    """A one-time sign-in link (from `tasktracker run`, `tasktracker user link NAME`): works once,
    within `TASKTRACKER_LOGIN_LINK_TTL_S`."""
    root = request.scope.get("root_path", "").rstrip("/")
    user = await service.use_one_time(uow.session, token, "login") if settings.auth_on else None
    if user is None:
        detail = "The link is unknown, used or expired." if settings.auth_on else "Sign-in is off."
        if "text/html" in request.headers.get("accept", ""):
            page = LINK_FAILED_PAGE.format(detail=html.escape(detail), root=html.escape(root))
            return HTMLResponse(page, status_code=401)
        return JSONResponse({"detail": detail, "code": "invalid_link"}, status_code=401)
    value = await service.start_session(uow.session, user, access.session_ttl(settings))
    response = RedirectResponse(f"{root}/", status_code=status.HTTP_303_SEE_OTHER)
    access.set_session_cookies(response, settings, value)
    return response


@auth_router.post("/ws-ticket")
async def ws_ticket(principal: ViewerDep, uow: UnitOfWorkDep, settings: SettingsDep) -> WsTicket:
    """A one-time ticket for `/ws?ticket=...` (browsers cannot send headers with a WebSocket)."""
    if not settings.auth_on or principal.user_id is None:
        return WsTicket(ticket="off", expires_in=access.WS_TICKET_TTL_S)
    user = await service.get_user(uow.session, principal.user_id)
    ticket = await service.one_time(uow.session, user, "ws", timedelta(seconds=access.WS_TICKET_TTL_S))
    return WsTicket(ticket=ticket, expires_in=access.WS_TICKET_TTL_S)


# Users (admin) ------------------------------------------------------------------------------------------


@users_router.get("")
async def list_users(uow: UnitOfWorkDep) -> UsersPublic:
    users = [UserPublic.model_validate(u) for u in await service.list_users(uow.session)]
    return UsersPublic(data=users, count=len(users))


@users_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Username or Telegram user taken."}},
)
async def create_user(data: UserCreate, uow: UnitOfWorkDep, _: AdminDep) -> UserPublic:
    """Create a user; the password needs at least 12 characters."""
    return UserPublic.model_validate(await service.create_user(uow.session, data))


@users_router.patch(
    "/{user_id}",
    responses={
        409: {"description": "Telegram user taken, or it would leave no enabled admin (`last_admin`)."},
    },
)
async def update_user(user_id: IdPath, data: UserUpdate, request: Request, uow: UnitOfWorkDep) -> UserPublic:
    """Change the role, password, email or Telegram account, or disable the user. A new role, a new
    password or disabling takes effect at once: the user's sessions end (new password, disabled) and
    cached credentials are forgotten."""
    user, changed = await service.update_user(uow.session, user_id, data)
    if changed:
        access.access_changed(request.app, uow, user_id)
    return UserPublic.model_validate(user)


@users_router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "The last enabled admin (`last_admin`)."}},
)
async def delete_user(user_id: IdPath, request: Request, uow: UnitOfWorkDep) -> Response:
    """Delete a user with their tokens and sessions. Task activity keeps their name."""
    await service.delete_user(uow.session, user_id)
    access.access_changed(request.app, uow, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Personal API tokens --------------------------------------------------------------------------------------


@tokens_router.get("")
async def list_tokens(principal: ViewerDep, uow: UnitOfWorkDep, user_id: IdQuery = None) -> TokensPublic:
    """Your tokens. An admin sees everyone's, or one user's with `user_id`."""
    if principal.allows(Role.admin):
        owner = user_id
    elif user_id is not None and user_id != principal.user_id:
        raise Forbidden("only an admin sees other users' tokens")
    else:
        owner = principal.user_id if principal.user_id is not None else -1
    tokens = [TokenPublic.model_validate(t) for t in await service.list_tokens(uow.session, owner)]
    return TokensPublic(data=tokens, count=len(tokens))


@tokens_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "Invalid input, or no user (`no_user`)."}},
)
async def create_token(data: TokenCreate, principal: ViewerDep, uow: UnitOfWorkDep) -> TokenCreated:
    """A personal API token with your role, for scripts and the CLI: `Authorization: Bearer <token>`.
    The token is in this answer only; it is stored hashed."""
    if principal.user_id is None:
        raise Invalid(
            "with TASKTRACKER_AUTH=off there is no user to own a token; use `tasktracker token create`",
            code="no_user",
        )
    token, value = await service.create_token(uow.session, principal.user_id, data)
    assert token.id is not None
    return TokenCreated(
        id=token.id, name=token.name, token=value, prefix=token.prefix, expires_at=token.expires_at
    )


@tokens_router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(
    token_id: IdPath, principal: ViewerDep, request: Request, uow: UnitOfWorkDep
) -> Response:
    """Revoke a token (yours; an admin: anyone's). It stops working at once."""
    token = await service.revoke_token(uow.session, token_id, principal)
    access.access_changed(request.app, uow, token.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
