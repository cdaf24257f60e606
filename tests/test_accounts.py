"""Accounts as users meet them: signing in and out, the CSRF token, API tokens (shown once, revoked at
once), roles taking effect at once, one-time links and tickets, the rules that keep an admin, and the
actor in task activity."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select, update
from websockets.exceptions import ConnectionClosed

from tasktracker.api import access
from tasktracker.api.app import create_app
from tasktracker.auth import service
from tasktracker.config import ConfigError
from tasktracker.db import utcnow
from tasktracker.models import Role, UserSession
from tasktracker.runtime import Role as ProcessRole
from tasktracker.unit_of_work import unit_of_work
from tests.support.accounts import PASSWORD, add_token, add_user, bearer
from tests.support.app import ScriptedClassifier, eventually, serve
from tests.support.services import delete_stream
from tests.test_statement_counts import counting


def _app(make_settings, **overrides):
    # Development: the session cookie is not `Secure` there, so this client sends it over http.
    overrides.setdefault("environment", "development")
    settings = make_settings(auth="on", telegram_mode="off", **overrides)
    return create_app(settings, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier())


async def _login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"username": username, "password": password})


async def test_sign_in_sets_cookies_and_unsafe_requests_need_the_csrf_token(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "ann", Role.editor)
        signed_in = await _login(client, "Ann")  # usernames are not case-sensitive
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.json()["username"] == "ann" and "password_hash" not in signed_in.json()
        cookie = signed_in.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookie if c.startswith("tt_session="))
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert "Secure" not in session_cookie  # development only: http://127.0.0.1
        csrf = client.cookies["tt_csrf"]

        me = await client.get("/api/auth/me")
        assert me.status_code == 200, me.text
        assert me.json() | {"id": 0} == {
            "id": 0,
            "username": "ann",
            "email": None,
            "role": "editor",
            "via": "session",
        }

        task = {"title": "Fix the login page", "category": "bug"}
        without = await client.post("/api/tasks", json=task)
        assert without.status_code == 403 and without.json()["code"] == "csrf_failed"
        forged = await client.post("/api/tasks", json=task, headers={"x-csrf-token": "0" * 64})
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
        made = await client.post("/api/tasks", json=task, headers={"x-csrf-token": csrf})
        assert made.status_code == 201, made.text
        detail = (await client.get(f"/api/tasks/{made.json()['id']}")).json()
        assert [a["actor"] for a in detail["activity"]] == ["ann"]

        out = await client.post("/api/auth/logout")
        assert out.status_code == 204
        client.cookies.clear()
        assert (await client.get("/api/auth/me")).status_code == 401


async def test_session_cookies_are_secure_outside_development(make_settings) -> None:
    app = _app(make_settings, environment="test")
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "ann", Role.viewer)
        cookies = (await _login(client, "ann")).headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("Secure" in c and "SameSite=lax" in c for c in cookies)
        assert sum("HttpOnly" in c for c in cookies) == 1  # tt_csrf is for the page to read


async def test_a_signed_out_session_is_refused_even_if_the_cookie_is_replayed(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "bob", Role.viewer)
        await _login(client, "bob")
        stolen = dict(client.cookies)
        assert (await client.get("/api/tasks")).status_code == 200  # now in the cache
        assert (await client.post("/api/auth/logout")).status_code == 204
        replay = await client.get("/api/tasks", cookies=stolen)
        assert replay.status_code == 401


@pytest.mark.real_password_cost  # the timing is the hashing's
async def test_wrong_password_and_unknown_user_get_the_same_answer(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "carol", Role.viewer)
        timings = {}
        answers = {}
        for name, password in (("carol", "wrong password!!"), ("nobody-here", "wrong password!!")):
            started = time.perf_counter()
            answer = await _login(client, name, password)
            timings[name] = time.perf_counter() - started
            answers[name] = (answer.status_code, answer.json())
        assert (
            answers["carol"]
            == answers["nobody-here"]
            == (
                401,
                {"detail": "wrong username or password", "code": "invalid_credentials"},
            )
        )
        # Both verify an argon2 hash: neither answers in a fraction of the other's time.
        assert min(timings.values()) > 0.3 * max(timings.values()), timings
        async with unit_of_work(app.state.runtime) as uow:
            user = await service.user_named(uow.session, "carol")
            user.disabled = True
        disabled = await _login(client, "carol")
        assert (disabled.status_code, disabled.json()["code"]) == (401, "invalid_credentials")


async def test_token_create_command_prints_a_token_that_acts_as_the_user(
    make_settings, database_url: str, tmp_path
) -> None:
    """`tasktracker token create NAME --user U`, as a script (or the bench) gets its token."""
    from typer.testing import CliRunner

    from tasktracker.cli import app as command

    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "erin", Role.editor)
        env = {"DATABASE_URL": database_url, "TASKTRACKER_DATA_DIR": str(tmp_path / "data")}

        def token_create(user: str) -> Any:
            return CliRunner().invoke(command, ["token", "create", "ci", "--user", user], env=env)

        made = await asyncio.to_thread(token_create, "erin")
        assert made.exit_code == 0, made.output
        token = made.stdout.strip()
        me = await client.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200, me.text
        assert (me.json()["username"], me.json()["via"]) == ("erin", "token")
        unknown = await asyncio.to_thread(token_create, "nobody")
        assert unknown.exit_code == 1 and "error: no user named 'nobody'" in unknown.output


async def test_api_tokens_are_shown_once_stored_hashed_and_revoked_at_once(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        dan = await add_user(runtime, "dan", Role.editor)
        first = await add_token(runtime, dan, "first")
        made = await client.post(
            "/api/tokens", json={"name": "ci", "expires_in_days": 30}, headers=bearer(first)
        )
        assert made.status_code == 201, made.text
        token = made.json()["token"]
        assert token.startswith("tt_") and len(token) >= 43 and made.json()["prefix"] == token[:10]
        listed = (await client.get("/api/tokens", headers=bearer(token))).json()
        assert {t["name"] for t in listed["data"]} == {"first", "ci"}
        assert token not in str(listed)
        async with runtime.engine.connect() as conn:
            stored = (await conn.exec_driver_sql("SELECT token_hash FROM api_tokens")).scalars().all()
        assert token not in stored and service.digest(token) in stored

        # Cached: a request with a known token asks the database nothing about who is calling.
        assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 200
        with counting(runtime.engine) as counter:
            again = await client.post("/api/classify", json={"content": "bug: x"}, headers=bearer(token))
            assert again.status_code == 200, again.text
        assert len(counter) == 0, counter.statements

        token_id = made.json()["id"]
        revoked = await client.delete(f"/api/tokens/{token_id}", headers=bearer(first))
        assert revoked.status_code == 204
        refused = await client.get("/api/tasks", headers=bearer(token))
        assert refused.status_code == 401  # at once, although it was cached a moment ago

        # Someone else's token is not found to a non-admin; an admin may revoke it.
        erin = await add_user(runtime, "erin", Role.editor)
        erins = await add_token(runtime, erin)
        listed = (await client.get("/api/tokens", headers=bearer(erins))).json()["data"]
        assert (
            await client.delete(f"/api/tokens/{listed[0]['id'] - 1}", headers=bearer(erins))
        ).status_code == 404
        peek = await client.get("/api/tokens", params={"user_id": dan}, headers=bearer(erins))
        assert peek.status_code == 403


async def test_role_change_and_disabling_take_effect_at_once(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        admin = await add_token(runtime, await add_user(runtime, "root", Role.admin))
        fay = await add_user(runtime, "fay", Role.editor)
        fays = await add_token(runtime, fay)
        task = {"title": "Write the docs", "category": "task"}
        assert (await client.post("/api/tasks", json=task, headers=bearer(fays))).status_code == 201
        demoted = await client.patch(f"/api/users/{fay}", json={"role": "viewer"}, headers=bearer(admin))
        assert demoted.status_code == 200 and demoted.json()["role"] == "viewer"
        assert (await client.post("/api/tasks", json=task, headers=bearer(fays))).status_code == 403
        assert (await client.get("/api/tasks", headers=bearer(fays))).status_code == 200
        disabled = await client.patch(f"/api/users/{fay}", json={"disabled": True}, headers=bearer(admin))
        assert disabled.status_code == 200
        assert (await client.get("/api/tasks", headers=bearer(fays))).status_code == 401


async def test_there_is_always_an_enabled_admin(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        root = await add_user(runtime, "root", Role.admin)
        admin = await add_token(runtime, root)
        for change in ({"role": "editor"}, {"disabled": True}):
            answer = await client.patch(f"/api/users/{root}", json=change, headers=bearer(admin))
            assert (answer.status_code, answer.json()["code"]) == (409, "last_admin")
        assert (await client.delete(f"/api/users/{root}", headers=bearer(admin))).json()[
            "code"
        ] == "last_admin"
        made = await client.post(
            "/api/users",
            json={"username": "second", "password": "short", "role": "admin"},
            headers=bearer(admin),
        )
        assert made.status_code == 422  # passwords have at least 12 characters
        made = await client.post(
            "/api/users",
            json={"username": "second", "password": PASSWORD, "role": "admin", "email": "s@example.com"},
            headers=bearer(admin),
        )
        assert made.status_code == 201, made.text
        again = await client.post(
            "/api/users", json={"username": "SECOND", "password": PASSWORD}, headers=bearer(admin)
        )
        assert (again.status_code, again.json()["code"]) == (409, "username_taken")
        assert (await client.delete(f"/api/users/{root}", headers=bearer(admin))).status_code == 204
        assert (await client.get("/api/users", headers=bearer(admin))).status_code == 401  # deleted: gone


async def test_one_time_link_signs_in_once_and_ws_ticket_opens_the_feed_once(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        await add_user(runtime, "gil", Role.viewer)
        async with unit_of_work(runtime) as uow:
            link = await service.one_time(
                uow.session, await service.user_named(uow.session, "gil"), "login", timedelta(minutes=5)
            )
        used = await client.get("/api/auth/link", params={"token": link})
        assert used.status_code == 303 and used.headers["location"] == "/"
        assert (await client.get("/api/auth/me")).json()["username"] == "gil"
        csrf = {"x-csrf-token": client.cookies["tt_csrf"]}
        ticket = (await client.post("/api/auth/ws-ticket", headers=csrf)).json()
        assert ticket["expires_in"] == 30
        anonymous = httpx.AsyncClient(base_url=base, timeout=30)
        again = await anonymous.get("/api/auth/link", params={"token": link})
        assert (again.status_code, again.json()["code"]) == (401, "invalid_link")
        html = await anonymous.get("/api/auth/link", params={"token": link}, headers={"accept": "text/html"})
        assert html.status_code == 401 and "not valid" in html.text
        await anonymous.aclose()

        ws_url = base.replace("http", "ws") + "/ws"
        async with websockets.connect(f"{ws_url}?ticket={ticket['ticket']}") as ws:
            assert '"hello"' in await ws.recv()
        async with websockets.connect(f"{ws_url}?ticket={ticket['ticket']}") as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_auth_off_makes_a_local_admin_and_only_on_loopback(make_settings) -> None:
    settings = make_settings(auth="off")
    with pytest.raises(ConfigError, match=r"TASKTRACKER_AUTH=off .* loopback"):
        settings.check_bind("0.0.0.0")
    for host in ("::", "10.1.2.3", "tracker.example.com"):
        with pytest.raises(ConfigError):
            settings.check_bind(host)
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        settings.check_bind(host)
    with pytest.raises(ConfigError):
        create_app(make_settings(auth="off", host="0.0.0.0"))
    make_settings(auth="on").check_bind("0.0.0.0")

    app = create_app(settings, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        me = (await client.get("/api/auth/me")).json()
        assert me == {"id": None, "username": "local", "email": None, "role": "admin", "via": "off"}
        assert (await client.get("/api/config")).json()["auth"] == "off"
        made = await client.post("/api/tasks", json={"title": "Local", "category": "task"})
        detail = (await client.get(f"/api/tasks/{made.json()['id']}")).json()
        assert [a["actor"] for a in detail["activity"]] == ["local"]

        # What the pipeline does is the system's.
        posted = await client.post(
            "/api/messages", json={"content": "bug: the pipeline acts", "channel": "t"}
        )
        assert posted.status_code == 202

        async def classified() -> dict | None:
            tasks = (await client.get("/api/tasks", params={"q": "pipeline"})).json()["data"]
            return tasks[0] if tasks else None

        task = await eventually(classified)
        detail = (await client.get(f"/api/tasks/{task['id']}")).json()
        assert [a["actor"] for a in detail["activity"]] == ["system"]


async def test_admin_from_the_settings_is_created_once_and_never_reset(make_settings, tmp_path) -> None:
    secret = tmp_path / "admin-password"
    secret.write_text("first password of the admin\n")
    settings = make_settings(auth="on", admin_username="Boss", admin_password="first password of the admin")
    app = create_app(settings, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        signed_in = await _login(client, "boss", "first password of the admin")
        assert signed_in.status_code == 200 and signed_in.json()["role"] == "admin"
    changed = make_settings(auth="on", admin_username="boss", admin_password="another password entirely")
    app = create_app(changed, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier())
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        assert (await _login(client, "boss", "another password entirely")).status_code == 401
        assert (await _login(client, "boss", "first password of the admin")).status_code == 200
    with pytest.raises(ConfigError, match="at least 12"):
        make_settings(admin_username="x", admin_password="short")
    with pytest.raises(ConfigError, match="needs TASKTRACKER_ADMIN_PASSWORD"):
        make_settings(admin_username="x")
    assert make_settings(admin_password="a password alone names admin").admin_username == "admin"


async def test_revoking_in_one_api_process_ends_the_token_in_another_at_once(
    make_settings, database_url: str, nats_server, unique: str
) -> None:
    """Two API replicas on one database and one NATS: each caches the token; revoking it through one
    makes the other refuse it at once (the `access.changed` event), long before the cache's TTL."""
    if database_url.startswith("sqlite"):
        pytest.skip("replicas share PostgreSQL")
    settings = make_settings(
        auth="on",
        auth_cache_ttl_s=3600,  # so only the event can end it in time
        nats_url=nats_server.url,
        nats_stream=f"tt_jobs_{unique}",
        nats_subject=f"tt.{unique}.jobs",
        nats_durable=f"tt_workers_{unique}",
        nats_events_subject=f"tt.{unique}.events",
    )
    first = create_app(settings, role=ProcessRole.api, migrate=True, classifier=ScriptedClassifier())
    second = create_app(settings, role=ProcessRole.api, classifier=ScriptedClassifier())
    try:
        async with (
            serve(first) as one,
            serve(second) as two,
            httpx.AsyncClient(timeout=30) as client,
        ):
            runtime = first.state.runtime
            await eventually(lambda: runtime.bus.connected and second.state.runtime.bus.connected, timeout=15)
            owner = await add_user(runtime, "hal", Role.editor)
            token = await add_token(runtime, owner)
            for base in (one, two):  # both replicas now hold it in their caches
                assert (await client.get(f"{base}/api/tasks", headers=bearer(token))).status_code == 200
            token_id = (await client.get(f"{one}/api/tokens", headers=bearer(token))).json()["data"][0]["id"]
            revoked = await client.delete(f"{one}/api/tokens/{token_id}", headers=bearer(token))
            assert revoked.status_code == 204

            async def refused_by_the_other() -> bool:
                answer = await client.get(f"{two}/api/tasks", headers=bearer(token))
                return answer.status_code == 401

            await eventually(refused_by_the_other, timeout=5)
    finally:
        await delete_stream(nats_server.url, settings.nats_stream)


async def test_run_creates_admin_on_a_fresh_install_and_prints_a_one_time_link(make_settings, capsys) -> None:
    """What `tasktracker run` does: a fresh data dir gets `admin` and a printed sign-in link (never a
    log record); in development each start prints a fresh one, elsewhere only the first."""

    async def start(environment: str) -> str:
        settings = make_settings(auth="on", environment=environment)
        app = create_app(
            settings, role=ProcessRole.all, migrate=True, classifier=ScriptedClassifier(), announce_login="X"
        )
        async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            printed = capsys.readouterr().out
            links = re.findall(r"Open X/api/auth/link\?token=(\S+)", printed)
            if not links:
                return ""
            used = await client.get("/api/auth/link", params={"token": links[0]})
            assert used.status_code == 303
            me = (await client.get("/api/auth/me")).json()
            assert (me["username"], me["role"]) == ("admin", "admin")
            again = await client.get("/api/auth/link", params={"token": links[0]})
            assert again.status_code == 401
            return links[0]

    first = await start("development")
    second = await start("development")
    assert first and second and first != second
    assert await start("test") == ""  # users exist: no link outside development


async def test_a_used_session_slides_forward_and_so_does_its_cookie(make_settings) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        await add_user(runtime, "ivy", Role.viewer)
        assert (await _login(client, "ivy")).status_code == 200
        quiet = (await client.get("/api/tasks")).headers.get_list("set-cookie")
        assert quiet == []  # just signed in: nothing to renew
        async with runtime.engine.begin() as conn:  # the session was last used an hour ago
            await conn.execute(
                update(UserSession).values(
                    last_seen_at=utcnow() - timedelta(hours=1), expires_at=utcnow() + timedelta(minutes=5)
                )
            )
        access.cache_of(app).clear()  # as after the cache's TTL
        used = await client.get("/api/tasks")
        assert used.status_code == 200
        renewed = [c for c in used.headers.get_list("set-cookie") if c.startswith("tt_session=")]
        assert len(renewed) == 1 and "Max-Age=1209600" in renewed[0]
        async with runtime.engine.connect() as conn:
            expires_at = (await conn.execute(select(UserSession.expires_at))).scalar_one()
        assert expires_at > utcnow() + timedelta(days=13)


async def test_a_signed_in_dashboard_keeps_working_through_a_secret_key_rotation(make_settings) -> None:
    """The CSRF token is an HMAC under the secret key: while the old key is listed in
    TASKTRACKER_PREVIOUS_SECRET_KEYS its tokens still count; once it is gone they do not."""
    old_key, new_key = "old-secret-key-" + "a" * 32, "new-secret-key-" + "b" * 32
    task = {"title": "Rotate the key", "category": "task"}
    app = _app(make_settings, secret_key=old_key)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        await add_user(app.state.runtime, "ann", Role.editor)
        assert (await _login(client, "ann")).status_code == 200
        cookies = dict(client.cookies)
        csrf = {"x-csrf-token": cookies["tt_csrf"]}

    during = _app(make_settings, secret_key=new_key, previous_secret_keys=old_key)
    async with serve(during) as base, httpx.AsyncClient(base_url=base, timeout=30, cookies=cookies) as client:
        made = await client.post("/api/tasks", json=task, headers=csrf)
        assert made.status_code == 201, made.text
        forged = await client.post("/api/tasks", json=task, headers={"x-csrf-token": "0" * 64})
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"

    after = _app(make_settings, secret_key=new_key)  # the old key is gone: its tokens are too
    async with serve(after) as base, httpx.AsyncClient(base_url=base, timeout=30, cookies=cookies) as client:
        refused = await client.post("/api/tasks", json=task, headers=csrf)
        assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
