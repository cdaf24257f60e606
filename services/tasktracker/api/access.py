"""Who may call what: the rule on every route, and how a request's caller is found.

Every route carries exactly one kind of rule (tests/test_access.py walks the app and fails on a
route without one):

* `ViewerDep` / `EditorDep` / `AdminDep` as an endpoint parameter (`actor: EditorDep`), or
  `dependencies=[requires(Role.admin)]` on a route or router: anonymous -> 401 `not_authenticated`
  (with `WWW-Authenticate: Bearer`), too low a role -> 403 `forbidden`;
* `dependencies=[public]`: no user needed (health, login, webhooks that check their own signatures).

Credentials: `Authorization: Bearer tt_...` (a personal API token), or the dashboard's session
cookie `tt_session`. With the cookie, unsafe methods must send `X-CSRF-Token` equal to the readable
`tt_csrf` cookie, which is an HMAC of the session under the secret key (double submit, bound to the
session): another site's page can make the browser send the cookie, but cannot read `tt_csrf`.

A checked credential is kept in the process's `PrincipalCache` for `TASKTRACKER_AUTH_CACHE_TTL_S`,
keyed by its SHA-256, so the hot path asks the database nothing; `access_changed()` drops a user's
entries here at once and, through an `access.changed` event on the bus, in every other process.

With `TASKTRACKER_AUTH=off` every caller is `LOCAL_ADMIN` (the settings accept that on a loopback
bind only).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response, WebSocket
from fastapi.params import Depends as DependsParam
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from tasktracker import metrics
from tasktracker.auth import service
from tasktracker.auth.cache import PrincipalCache
from tasktracker.auth.principal import LOCAL_ADMIN, Principal
from tasktracker.auth.rules import public
from tasktracker.config import Settings
from tasktracker.errors import AppError, Forbidden, NotAuthenticated
from tasktracker.events import schemas as events
from tasktracker.events.schemas import Event, EventType
from tasktracker.models.user import Role
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

SESSION_COOKIE = "tt_session"
CSRF_COOKIE = "tt_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WS_TICKET_TTL_S = 30


class CsrfFailed(AppError):
    status_code = 403
    code = "csrf_failed"


__all__ = [
    "AdminDep",
    "EditorDep",
    "Principal",
    "Role",
    "ViewerDep",
    "public",
    "requires",
]


def cache_of(app: Any) -> PrincipalCache:
    cache: PrincipalCache | None = getattr(app.state, "principals", None)
    if cache is None:
        runtime: Runtime = app.state.runtime
        cache = app.state.principals = PrincipalCache(runtime.settings.auth_cache_ttl_s)
    return cache


def session_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.session_ttl_h)


async def _checked(
    conn: HTTPConnection, key: str, check: Callable[[AsyncSession], Awaitable[service.Checked | None]]
) -> Principal | None:
    """The cached principal of a credential, or check it in a unit of work of its own (which commits
    its small bookkeeping: last use, sliding expiry) and cache the answer."""
    cache = cache_of(conn.app)
    principal = cache.get(key)
    if principal is not None:
        return principal
    runtime: Runtime = conn.app.state.runtime
    async with unit_of_work(runtime) as uow:
        checked = await check(uow.session)
    if checked is None:
        return None
    if checked.renewed:
        conn.state.renew_session = True
    cache.put(key, checked.principal, checked.valid_for_s)
    return checked.principal


def _bearer(conn: HTTPConnection) -> str | None:
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def identify(conn: HTTPConnection, *, check_csrf: bool = True) -> Principal | None:
    """The caller, or None (anonymous). Raises `CsrfFailed` for a cookie request without the token."""
    known: Principal | None = getattr(conn.state, "principal", None)
    if known is not None:
        return known
    settings: Settings = conn.app.state.runtime.settings
    if not settings.auth_on:
        return LOCAL_ADMIN
    principal: Principal | None = None
    token = _bearer(conn)
    if token is not None:
        principal = await _checked(
            conn, "t:" + service.digest(token), lambda s: service.check_token(s, token)
        )
    elif cookie := conn.cookies.get(SESSION_COOKIE):
        ttl = session_ttl(settings)
        principal = await _checked(
            conn, "s:" + service.digest(cookie), lambda s: service.check_session(s, cookie, ttl)
        )
        if principal is not None and check_csrf and conn.scope["type"] == "http":
            _check_csrf(conn, settings, cookie)
    if principal is not None and check_csrf:  # remembered only once fully checked
        conn.state.principal = principal
    return principal


def _check_csrf(conn: HTTPConnection, settings: Settings, session_value: str) -> None:
    if conn.scope.get("method", "GET") in SAFE_METHODS:
        return
    sent = conn.headers.get(CSRF_HEADER, "").encode()
    cookie = conn.cookies.get(CSRF_COOKIE, "").encode()
    # The token is an HMAC of the session under the secret key; one made under a key being rotated out
    # (TASKTRACKER_PREVIOUS_SECRET_KEYS) still counts, so a rotation does not lock signed-in dashboards
    # out of every change until they sign in again (the next renewal sets a token of the new key).
    keys = [settings.secret_key.get_secret_value(), *settings.previous_secret_key_list]
    if not (
        hmac.compare_digest(sent, cookie)
        and any(hmac.compare_digest(cookie, service.csrf_token(key, session_value).encode()) for key in keys)
    ):
        raise CsrfFailed(f"send the {CSRF_COOKIE} cookie's value in the X-CSRF-Token header")


Rule = Callable[[Request, Response], Awaitable[Principal]]


def _rule(required: Role) -> Rule:
    async def rule(request: Request, response: Response) -> Principal:
        principal = await identify(request)
        if principal is None:
            raise NotAuthenticated("sign in, or send an API token as `Authorization: Bearer tt_...`")
        if not principal.allows(required):
            raise Forbidden(
                f"this needs the {required.value} role; {principal.name} is {principal.role.value}"
            )
        if getattr(request.state, "renew_session", False):
            # The session slid forward: so does the cookie's Max-Age (on JSON answers; an endpoint
            # that returns its own Response skips it, and the next renewal, a minute on, catches up).
            request.state.renew_session = False
            settings: Settings = request.app.state.runtime.settings
            set_session_cookies(response, settings, request.cookies[SESSION_COOKIE])
        return principal

    rule.__name__ = f"requires_{required.value}"
    rule.required_role = required  # type: ignore[attr-defined]  # read by the route-walking test
    return rule


RULES: dict[Role, Rule] = {role: _rule(role) for role in Role}


def requires(role: Role) -> DependsParam:
    """`dependencies=[requires(Role.admin)]` on a route or router."""
    return Depends(RULES[role])


ViewerDep = Annotated[Principal, Depends(RULES[Role.viewer])]
EditorDep = Annotated[Principal, Depends(RULES[Role.editor])]
AdminDep = Annotated[Principal, Depends(RULES[Role.admin])]


# WebSocket ---------------------------------------------------------------------------------------------


async def websocket_principal(websocket: WebSocket) -> Principal | None:
    """The caller of `/ws`: a one-time `?ticket=` (browsers cannot set headers on a WebSocket), the
    session cookie, or a Bearer token; None: the endpoint closes with 4401."""
    ticket = websocket.query_params.get("ticket")
    if ticket is None:
        return await identify(websocket, check_csrf=False)
    if not websocket.app.state.runtime.settings.auth_on:
        return LOCAL_ADMIN
    runtime: Runtime = websocket.app.state.runtime
    async with unit_of_work(runtime) as uow:
        user = await service.use_one_time(uow.session, ticket, "ws")
        return service.principal_of(user, "session") if user is not None else None


websocket_principal.required_role = Role.viewer  # type: ignore[attr-defined]
WebSocketPrincipal = Annotated[Principal | None, Depends(websocket_principal)]


# Metrics -----------------------------------------------------------------------------------------------


async def scrape_token_or_admin(request: Request) -> None:
    """`/metrics`: Prometheus with `TASKTRACKER_METRICS_TOKEN` as a Bearer token, or an admin."""
    token = request.app.state.runtime.settings.metrics_token
    if token is not None and metrics.authorized(
        request.headers.get("authorization"), token.get_secret_value()
    ):
        return
    principal = await identify(request)
    if principal is None:
        raise NotAuthenticated(
            "metrics need the scrape token (TASKTRACKER_METRICS_TOKEN) as a Bearer header, or an admin"
        )
    if not principal.allows(Role.admin):
        raise Forbidden(f"metrics need an admin; {principal.name} is {principal.role.value}")


scrape_token_or_admin.required_role = Role.admin  # type: ignore[attr-defined]


# Cookies and invalidation ------------------------------------------------------------------------------


def set_session_cookies(response: Response, settings: Settings, session_value: str) -> None:
    max_age = int(session_ttl(settings).total_seconds())
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE, session_value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
    )
    csrf = service.csrf_token(settings.secret_key.get_secret_value(), session_value)
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure, path="/"
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies, samesite="lax")


def access_changed(app: Any, uow: UnitOfWork, user_id: int) -> None:
    """What a user may do changed (revoked, signed out, disabled, new role or password): forget their
    cached credentials here now and once more after the commit, and in every other process through the
    bus."""
    cache = cache_of(app)
    cache.drop_user(user_id)
    uow.queue_event(events.access_changed(user_id))

    async def drop() -> None:
        cache.drop_user(user_id)

    uow.after_commit(drop)


class AccessFollower:
    """Drops cached credentials when any process says a user's access changed. A `Listener` of the
    process's hub, which feeds it from its one subscription to the bus."""

    def __init__(self, cache: PrincipalCache) -> None:
        self.cache = cache

    def on_event(self, event: Event) -> None:
        if event.type is EventType.access_changed:
            user_id = event.data.get("user_id")
            if isinstance(user_id, int):
                self.cache.drop_user(user_id)

    def on_gap(self) -> None:
        self.cache.clear()  # whatever was missed meanwhile: ask the database again


# The rule of a route ------------------------------------------------------------------------------------

PUBLIC = "public"


def rule_of(route: Any) -> Role | str | None:
    """The role a route needs (the highest of its rules), `PUBLIC`, or None: a route with no rule."""
    roles: set[Role] = set()
    is_public = False
    stack = [route.dependant] if getattr(route, "dependant", None) is not None else []
    while stack:
        dependant = stack.pop()
        call = dependant.call
        is_public = is_public or bool(getattr(call, "public", False))
        role = getattr(call, "required_role", None)
        if isinstance(role, Role):
            roles.add(role)
        stack.extend(dependant.dependencies)
    if roles:
        return max(roles, key=lambda r: r.rank)
    return PUBLIC if is_public else None
