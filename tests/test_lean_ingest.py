"""`POST /api/messages` on its lean path (api/lean.py): answered without FastAPI's dependency machinery
where the process has a group commit (PostgreSQL), and exactly as FastAPI answers everywhere else.

Whether a request went the lean way is seen by counting FastAPI's dependency solving: the lean handler
never calls it; FastAPI's own handler (SQLite, and any request the lean one declines) always does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import fastapi.routing
import httpx
import pytest
from sqlalchemy import event, update

from tasktracker.api import access, input_guard
from tasktracker.api.app import create_app
from tasktracker.db import utcnow
from tasktracker.models import Role, UserSession
from tasktracker.runtime import Role as ProcessRole
from tests.support.accounts import PASSWORD, add_token, add_user, bearer
from tests.support.app import ScriptedClassifier, serve


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the requests whose dependencies FastAPI solved."""
    calls: list[str] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    yield calls


def _app(make_settings):
    # Development: the session cookie is not `Secure` there, so this client sends it over http.
    settings = make_settings(auth="on", telegram_mode="off", environment="development")
    return create_app(settings, role=ProcessRole.api, migrate=True, classifier=ScriptedClassifier())


async def test_a_message_is_answered_the_same_on_the_lean_path_and_declined_requests_by_fastapi(
    make_settings, solved: list[str]
) -> None:
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        lean = runtime.engine.dialect.name == "postgresql"  # the process has a group commit
        editor = bearer(await add_token(runtime, await add_user(runtime, "ed", Role.editor)))
        viewer = bearer(await add_token(runtime, await add_user(runtime, "vi", Role.viewer)))
        body = {"content": "bug: the export button does nothing", "external_id": "e-1", "channel": "lean"}

        solved.clear()
        made = await client.post("/api/messages", json=body, headers=editor)
        assert made.status_code == 202, made.text
        assert made.headers["content-type"] == "application/json"
        assert made.headers["cache-control"] == "no-store"  # the middleware still sees the answer
        assert solved == ([] if lean else ["/api/messages"])

        detail = (await client.get(f"/api/messages/{made.json()['id']}", headers=editor)).json()
        assert detail.pop("issues") == []
        assert made.json() == detail  # what FastAPI's own endpoint gives for the same row
        assert made.json()["channel"]["name"] == "lean" and made.json()["classification"] is None

        again = await client.post("/api/messages", json=body, headers=editor)  # a repeat: 200, the stored one
        assert again.status_code == 200 and again.json() == detail

        solved.clear()  # declined without a side effect: FastAPI's own 422 for the body
        invalid = await client.post("/api/messages", json={"content": "   "}, headers=editor)
        assert invalid.status_code == 422
        assert invalid.json()["code"] == "validation_error"
        no_content = await client.post("/api/messages", json={"author": "x"}, headers=editor)
        assert no_content.status_code == 422
        assert no_content.json()["detail"][0]["loc"] == ["body", "content"]
        assert solved == ["/api/messages", "/api/messages"]

        # The access rule is the endpoint's: anonymous 401, a viewer 403, both without storing anything.
        anonymous = await client.post("/api/messages", json=body | {"external_id": "e-2"})
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
        assert anonymous.headers["www-authenticate"] == "Bearer"
        refused = await client.post("/api/messages", json=body | {"external_id": "e-3"}, headers=viewer)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        listed = await client.get("/api/messages", params={"channel": "lean"}, headers=editor)
        assert [m["external_id"] for m in listed.json()["data"]] == ["e-1"]


async def test_a_session_renewed_by_a_message_post_sends_its_cookies(
    make_settings, solved: list[str]
) -> None:
    """The access rule renews a session that is used after a while; on the lean path its cookies go out
    with the 202 just as FastAPI merges them into an endpoint's answer."""
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        await add_user(runtime, "ivy", Role.editor)
        signed_in = await client.post("/api/auth/login", json={"username": "ivy", "password": PASSWORD})
        assert signed_in.status_code == 200
        csrf = {"x-csrf-token": client.cookies["tt_csrf"]}
        quiet = await client.post("/api/messages", json={"content": "task: one"}, headers=csrf)
        assert quiet.status_code == 202 and quiet.headers.get_list("set-cookie") == []
        async with runtime.engine.begin() as conn:  # the session was last used an hour ago
            await conn.execute(
                update(UserSession).values(
                    last_seen_at=utcnow() - timedelta(hours=1), expires_at=utcnow() + timedelta(minutes=5)
                )
            )
        access.cache_of(app).clear()  # as after the cache's TTL
        solved.clear()
        used = await client.post("/api/messages", json={"content": "task: two"}, headers=csrf)
        assert used.status_code == 202, used.text
        if runtime.engine.dialect.name == "postgresql":
            assert solved == []  # the lean path answered
        cookies = used.headers.get_list("set-cookie")
        renewed = [c for c in cookies if c.startswith("tt_session=")]
        assert len(renewed) == 1 and "Max-Age=1209600" in renewed[0]
        assert any(c.startswith("tt_csrf=") for c in cookies)
        forged = await client.post(
            "/api/messages", json={"content": "task: 3"}, headers={"x-csrf-token": "0"}
        )
        assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"


async def test_a_group_of_any_size_is_stored_by_one_statement_text(make_settings) -> None:
    """On PostgreSQL the rows of a group commit or a batch go in as arrays (`INSERT ... SELECT FROM
    unnest(...)`): one statement text whatever the number of rows, prepared once per connection,
    where a multi-row VALUES list was a new statement, compiled afresh, for every row count."""
    if make_settings().effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite keeps the multi-row VALUES form (no arrays)")
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        editor = bearer(await add_token(runtime, await add_user(runtime, "ed", Role.editor)))
        inserts: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "INSERT INTO messages" in statement:
                inserts.append(statement)

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
        fetch = runtime.autocommit.fetch  # the lone POST's group: past SQLAlchemy, on its own connection

        async def recorded(sql: str, *args: Any) -> list[dict[str, Any]]:
            record(None, None, sql)
            return await fetch(sql, *args)

        runtime.autocommit.fetch = recorded
        try:
            for size in (1, 3, 7):
                batch = [{"content": f"task: item {i} of {size}", "channel": "arrays"} for i in range(size)]
                stored = await client.post("/api/messages/batch", json=batch, headers=editor)
                assert stored.status_code == 202 and stored.json()["created"] == size, stored.text
            one = await client.post("/api/messages", json={"content": "bug: one more"}, headers=editor)
            assert one.status_code == 202
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)
            del runtime.autocommit.fetch
    assert len(inserts) == 4 and len(set(inserts)) == 1, inserts
    assert "unnest(" in inserts[0]


async def test_repeats_are_answered_with_the_stored_rows_in_the_order_given(make_settings) -> None:
    """On PostgreSQL the INSERT also reads the rows that were there already (one statement, committed
    on its own for a lone POST): a batch mixing new messages, a stored one and a repeat within itself
    is answered item by item, and a lone repeat gets the stored message with 200."""
    app = _app(make_settings)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        runtime = app.state.runtime
        editor = bearer(await add_token(runtime, await add_user(runtime, "ed", Role.editor)))
        first = await client.post(
            "/api/messages", json={"content": "bug: a", "external_id": "a", "channel": "r"}, headers=editor
        )
        assert first.status_code == 202, first.text
        batch = [
            {"content": "bug: b", "external_id": "b", "channel": "r"},
            {"content": "bug: a again", "external_id": "a", "channel": "r"},
            {"content": "bug: b again", "external_id": "b", "channel": "r"},
            {"content": "bug: c", "external_id": "c", "channel": "r"},
        ]
        stored = await client.post("/api/messages/batch", json=batch, headers=editor)
        assert stored.status_code == 202, stored.text
        answer = stored.json()
        assert (answer["created"], answer["existing"]) == (2, 2)
        data = answer["data"]
        assert [m["external_id"] for m in data] == ["b", "a", "b", "c"]
        assert data[1]["id"] == first.json()["id"] and data[1]["content"] == "bug: a"
        assert data[2]["id"] == data[0]["id"] and data[2]["content"] == "bug: b"
        again = await client.post(
            "/api/messages", json={"content": "bug: c?", "external_id": "c", "channel": "r"}, headers=editor
        )
        assert again.status_code == 200 and again.json()["id"] == data[3]["id"], again.text
        assert again.json()["content"] == "bug: c"


def test_the_input_guard_parses_only_bodies_with_an_escape_it_must_see() -> None:
    """A body is parsed twice (the guard, then the endpoint) only when it may hold a NUL or a lone
    surrogate: an ASCII-only client escapes every Cyrillic letter (`\\u0430`), which is not a reason."""
    ascii_only = json.dumps({"content": "помилка на сторінці оплати", "author": "Ann"}).encode()
    assert b"\\u" in ascii_only and not input_guard._might_need_checking(ascii_only)
    for risky in ('"a\\u0000b"', '"\\ud800"', '"\\uDFFF"', '"\\ud83d\\ude00"', '"x\\\\u0000"'):
        assert input_guard._might_need_checking(f'{{"content": {risky}}}'.encode()), risky
    with pytest.raises(input_guard.Refused):
        input_guard.check_json_body(b'{"content": "caf\\u00e9 \\u0000"}')
    with pytest.raises(input_guard.Refused):
        input_guard.check_json_body(b'{"content": "\\u0444 \\udc00"}')
    input_guard.check_json_body(b'{"content": "\\ud83d\\ude00 \\u0444"}')  # an emoji's pair is fine


def test_the_input_guard_parses_a_batch_only_when_its_brackets_nest_too_deep() -> None:
    """A batch of 500 messages holds more brackets than the nesting limit, but they do not nest: it is
    not parsed ahead of the endpoint. Nesting past the limit is still refused, brackets inside strings
    (escaped quotes and backslashes included) do not count, and unpaired ones leave it to the parse."""
    limit = input_guard.MAX_JSON_DEPTH
    batch = json.dumps({"messages": [{"content": f"[{i}] {{x}}", "meta": {"a": [1]}} for i in range(500)]})
    assert not input_guard._might_need_checking(batch.encode())
    deep = "[" * (limit + 1) + "]" * (limit + 1)
    assert input_guard._deeper_than(deep.encode(), limit)
    assert not input_guard._deeper_than(("[" * limit + "]" * limit).encode(), limit)
    with pytest.raises(input_guard.Refused):
        input_guard.check_json_body(deep.encode())
    quoted = json.dumps({"a": '\\"' + "{" * 100, "b": "\\", "c": [[["x"]]]})
    assert not input_guard._deeper_than(quoted.encode(), limit)
    assert input_guard._deeper_than(b'{"a": [[[}', 2)  # not JSON: the parse decides (and lets it pass)
