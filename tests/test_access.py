"""Every route has a rule, and the rule holds: anonymous callers get 401 (4401 on /ws), callers with
too low a role 403, on every route but the public ones. Derived from the app's own routes, so a new
route without a rule fails here."""

from __future__ import annotations

import re

import httpx
import pytest
import websockets
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount
from websockets.exceptions import ConnectionClosed

from tasktracker.api.access import PUBLIC, rule_of
from tasktracker.api.app import create_app
from tasktracker.models import ROLE_ORDER, Role
from tasktracker.runtime import Role as ProcessRole
from tests.support.accounts import bearer, tokens_by_role
from tests.support.app import ScriptedClassifier, serve

# Public on purpose: liveness and readiness, what the dashboard needs before sign-in, sign-in itself,
# webhooks that check their own signatures, the dashboard's files, and the docs (TASKTRACKER_API_DOCS).
EXPECTED_PUBLIC = {
    "/api/health",
    "/api/health/ready",
    "/api/config",
    "/api/auth/login",
    "/api/auth/logout",
    "/api/auth/link",
    "/webhook/slack",
    "/webhook/generic/{channel}",
    "/webhook/telegram",
    "/webhook/github",
    "/webhook/jira",
    "/webhook/linear",
    "/",
    "/{path}",  # the dashboard's files and its client-side routes (when it is built)
    "/docs",
    "/redoc",
    "/openapi.json",
}


def _routes(app):
    return list(iter_route_contexts(app.routes))


def _url(path: str) -> str:
    return re.sub(r"\{[^}:]+(:[^}]+)?\}", "2147483647", path)  # names no row: the walk changes nothing


def _app(make_settings, **overrides):
    settings = make_settings(auth="on", telegram_mode="off", **overrides)
    return create_app(settings, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier())


async def test_every_route_has_a_rule_and_refuses_whom_it_should(make_settings) -> None:
    app = _app(make_settings, metrics_token="scrape-token-for-tests-0123456789")
    routes = _routes(app)
    unruled = [
        r.path_format for r in routes if not isinstance(r.original_route, Mount) and rule_of(r) is None
    ]
    assert unruled == [], f"routes without an access rule: {unruled}"
    public = {r.path_format for r in routes if rule_of(r) == PUBLIC}
    assert public <= EXPECTED_PUBLIC, f"public routes nobody decided on: {public - EXPECTED_PUBLIC}"

    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = await tokens_by_role(app.state.runtime)
        checked = 0
        for route in routes:
            if not isinstance(route.original_route, APIRoute):
                continue
            required = rule_of(route)
            if required == PUBLIC:
                continue
            assert isinstance(required, Role)
            url = _url(route.path_format)
            for method in sorted(route.methods or ()):
                body = {} if method in ("POST", "PUT", "PATCH") else None
                anonymous = await client.request(method, url, json=body)
                assert anonymous.status_code == 401, (method, url, anonymous.text)
                assert anonymous.json()["code"] == "not_authenticated"
                assert anonymous.headers["www-authenticate"] == "Bearer"
                rank = ROLE_ORDER.index(required)
                for role in ROLE_ORDER:
                    answer = await client.request(method, url, json=body, headers=bearer(tokens[role]))
                    if ROLE_ORDER.index(role) < rank:
                        assert answer.status_code == 403, (method, url, role, answer.text)
                        assert answer.json()["code"] == "forbidden"
                    else:
                        assert answer.status_code not in (401, 403), (method, url, role, answer.text)
                checked += 1
        assert checked >= 25  # the walk did walk

        ws_routes = [r for r in routes if isinstance(r.original_route, APIWebSocketRoute)]
        assert [r.path_format for r in ws_routes] == ["/ws"] and rule_of(ws_routes[0]) is Role.viewer
        ws_url = base.replace("http", "ws") + "/ws"
        async with websockets.connect(ws_url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        async with websockets.connect(ws_url, additional_headers=bearer(tokens[Role.viewer])) as ws:
            assert '"hello"' in await ws.recv()


async def test_metrics_take_the_scrape_token_or_an_admin(make_settings) -> None:
    scrape = "scrape-token-for-tests-0123456789"
    app = _app(make_settings, metrics_token=scrape)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = await tokens_by_role(app.state.runtime)
        assert (await client.get("/metrics", headers=bearer(scrape))).status_code == 200
        assert (await client.get("/metrics", headers=bearer(tokens[Role.admin]))).status_code == 200
        assert (await client.get("/metrics", headers=bearer(tokens[Role.editor]))).status_code == 403
        assert (await client.get("/metrics", headers=bearer("wrong"))).status_code == 401
        assert (await client.get("/metrics")).status_code == 401


@pytest.mark.parametrize("mode", ["open", "viewer", "off"])
async def test_api_docs_follow_the_setting(make_settings, mode: str) -> None:
    app = _app(make_settings, api_docs=mode)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = await tokens_by_role(app.state.runtime)
        for path in ("/openapi.json", "/docs", "/redoc"):
            anonymous = await client.get(path)
            signed_in = await client.get(path, headers=bearer(tokens[Role.viewer]))
            expected = {"open": (200, 200), "viewer": (401, 200), "off": (404, 404)}[mode]
            assert (anonymous.status_code, signed_in.status_code) == expected, path
