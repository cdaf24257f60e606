"""Defects found by fuzzing and probing (issue 8), each pinned by the request that used to answer 500."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pytest
from fastapi import FastAPI

from tasktracker.api.app import create_app
from tasktracker.channels.signing import generic_signature, slack_signature
from tasktracker.runtime import Role
from tests.channels.conftest import running
from tests.support.app import ScriptedClassifier, get_json, serve

SLACK_SECRET = "slack-signing-secret-0123456789"
GENERIC_SECRET = "generic-secret-0123456789"


@pytest.fixture
async def client(make_settings):
    async with running(make_settings(slack_signing_secret=SLACK_SECRET)) as client:
        created = await client.post(
            "/api/channels", json={"kind": "webhook", "name": "forms", "secret": GENERIC_SECRET}
        )
        assert created.status_code == 201, created.text
        yield client


def _slack(payload: dict | bytes) -> dict:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    return {
        "content": raw,
        "headers": {
            "content-type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_signature(SLACK_SECRET, timestamp, raw),
        },
    }


def _generic(payload: dict | bytes) -> dict:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {
        "content": raw,
        "headers": {
            "content-type": "application/json",
            "X-Signature-256": generic_signature(GENERIC_SECRET, raw),
        },
    }


def _slack_event(event_id: str, **fields: object) -> dict:
    event = {"type": "message", "channel": "C1", "user": "U1", "text": "bug: it hangs", "ts": "1700000000.1"}
    return {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event | fields}


def _cursor(value: object, row_id: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode().rstrip("=")


async def _message_count(client: httpx.AsyncClient) -> int:
    return len((await get_json(client, "/api/messages?limit=200"))["data"])


def _is_error(response: httpx.Response, status: int, code: str | None = None) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and set(body) == {"detail", "code"}
        and (code is None or body["code"] == code)
    )


# D1, D9: nulls in PATCH ---------------------------------------------------------------------------


async def test_null_for_a_required_task_field_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    task = (await client.post("/api/tasks", json={"title": "A", "labels": ["x"], "description": "d"})).json()
    for field in ("labels", "description", "needs_review", "title", "category", "priority", "status"):
        response = await client.patch(f"/api/tasks/{task['id']}", json={field: None})
        assert _is_error(response, 422, "null_field"), (field, response.text)
    after = await get_json(client, f"/api/tasks/{task['id']}")
    assert (after["labels"], after["description"], after["needs_review"]) == (["x"], "d", False)
    assert (await client.get("/api/tasks")).status_code == 200
    cleared = await client.patch(f"/api/tasks/{task['id']}", json={"assignee": None})
    assert cleared.status_code == 200, cleared.text  # the one nullable field


# D6: datetimes past the calendar's ends ------------------------------------------------------------


@pytest.mark.parametrize("sent_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_datetimes_that_overflow_utc_are_refused(client: httpx.AsyncClient, sent_at: str) -> None:
    response = await client.post("/api/messages", json={"content": "hello", "sent_at": sent_at})
    assert _is_error(response, 422, "validation_error"), response.text
    generic = await client.post("/webhook/generic/forms", **_generic({"content": "hi", "date": sent_at}))
    assert _is_error(generic, 422, "validation_error"), generic.text
    cursor = await client.get(f"/api/tasks?cursor={_cursor(sent_at, 1)}")
    assert _is_error(cursor, 422, "bad_cursor"), cursor.text
    assert await _message_count(client) == 0


async def test_cursors_of_the_wrong_type_are_refused(client: httpx.AsyncClient) -> None:
    for sort, value in [("-priority", True), ("priority", 1.5), ("-created_at", 7), ("updated_at", None)]:
        response = await client.get(f"/api/tasks?sort={sort}&cursor={_cursor(value, 1)}")
        assert _is_error(response, 422, "bad_cursor"), (sort, value, response.text)


# D7, D8: webhooks ----------------------------------------------------------------------------------


async def test_an_absurd_slack_timestamp_is_refused_before_anything_else(client: httpx.AsyncClient) -> None:
    raw = json.dumps(_slack_event("Ev1")).encode()
    for timestamp in ["9" * 400, "-" + "9" * 400, "1e999", "nan"]:
        response = await client.post(
            "/webhook/slack",
            content=raw,
            headers={"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64},
        )
        assert response.status_code == 401, (timestamp, response.text)


@pytest.mark.parametrize(
    "fields",
    [
        {"text": 12345},
        {"user": ["U1", "U2"]},
        {"subtype": {"a": 1}},
        {"channel": "C" * 300},
        {"ts": "1" * 300},
        {"thread_ts": ["x"]},
        {"user": "U" * 300},
        {"channel_type": {"x": 1}},
        {"team": 5},
    ],
)
async def test_signed_but_malformed_slack_events_store_nothing(
    client: httpx.AsyncClient, fields: dict
) -> None:
    response = await client.post("/webhook/slack", **_slack(_slack_event("Ev2", **fields)))
    if response.status_code == 200:
        assert response.json()["status"] == "ignored", response.text
    else:
        assert _is_error(response, 422), response.text
    assert await _message_count(client) == 0


async def test_slack_ids_too_long_to_store_are_refused(client: httpx.AsyncClient) -> None:
    body = _slack_event("Ev3") | {"team_id": "T" * 300}
    response = await client.post("/webhook/slack", **_slack(body))
    assert response.status_code in (200, 422), response.text
    assert await _message_count(client) == 0


DEEP = '{"a":' * 1000 + '"x"' + "}" * 1000  # too deep for json.dumps to write, so written by hand


def _with_deep(payload: dict) -> bytes:
    """The payload with its `"DEEP"` value replaced by JSON nested 1,000 levels."""
    return json.dumps(payload).replace('"DEEP"', DEEP).encode()


async def test_deeply_nested_json_is_refused_everywhere(client: httpx.AsyncClient) -> None:
    json_headers = {"content-type": "application/json"}
    slack = await client.post("/webhook/slack", **_slack(_with_deep(_slack_event("Ev4", blocks="DEEP"))))
    generic = await client.post(
        "/webhook/generic/forms", **_generic(_with_deep({"content": "hi", "meta": "DEEP"}))
    )
    rest = await client.post(
        "/api/messages", content=_with_deep({"content": "hi", "meta": "DEEP"}), headers=json_headers
    )
    lists = await client.post("/api/messages", content=b"[" * 100_000, headers=json_headers)
    for response in (slack, generic, rest, lists):
        assert _is_error(response, 422, "json_too_deep"), response.text
    assert await _message_count(client) == 0


# D10, D11: the server itself ------------------------------------------------------------------------


async def test_a_nul_in_the_path_is_a_404(make_settings, tmp_path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html></html>")
    app = create_app(
        make_settings(dashboard_dir=dist), role=Role.all, migrate=True, classifier=ScriptedClassifier()
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        for path in ["/%00", "/assets%00/x", "/a/%00.js", "/webhook/generic/%00"]:
            response = await http.get(path)
            assert _is_error(response, 404, "not_found"), (path, response.text)
        assert (await http.get("/", headers={"accept": "text/html"})).text == "<html></html>"


async def _raw_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[int, dict]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), headers


async def test_after_a_500_the_connection_stays_usable(make_settings, tmp_path) -> None:
    settings = make_settings(
        dashboard_dir=tmp_path / "no-dashboard"
    )  # its catch-all route would shadow /boom
    app: FastAPI = create_app(settings, role=Role.all, migrate=True, classifier=ScriptedClassifier())

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    async with serve(app) as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            status, headers = await _raw_exchange(reader, writer, "/boom")
            assert status == 500
            if headers.get("connection") != "close":  # otherwise the client knows to reconnect
                status, _ = await _raw_exchange(reader, writer, "/api/health")
                assert status == 200
        finally:
            writer.close()


async def test_options_is_answered(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/tasks")
    assert response.status_code == 204, response.text
    assert {"GET", "POST"} <= set(response.headers["allow"].replace(" ", "").split(","))
