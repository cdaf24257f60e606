"""`POST /webhook/generic/{channel}`: HMAC-SHA256-signed JSON from forms, email gateways and scripts."""

from __future__ import annotations

import json

import httpx
import pytest

from tasktracker.channels.signing import generic_signature
from tests.channels.conftest import running
from tests.support.app import eventually, get_json

SECRET = "form-secret-0123456789"


@pytest.fixture
async def client(make_settings):
    async with running(make_settings()) as client:
        created = await client.post(
            "/api/channels",
            json={
                "kind": "email",
                "name": "support",
                "secret": SECRET,
                "defaults": {"assignee": "ann", "labels": ["support"]},
            },
        )
        assert created.status_code == 201, created.text
        client.channel_id = created.json()["id"]  # type: ignore[attr-defined]
        yield client


def signed(body: dict | bytes, secret: str = SECRET) -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {
        "content": raw,
        "headers": {"content-type": "application/json", "X-Signature-256": generic_signature(secret, raw)},
    }


async def test_signed_messages_are_stored_once_and_tasks_get_the_channel_defaults(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "subject": "bug: invoice PDF is blank",
        "body": "Since Monday every invoice is empty.",
        "from": "c@example.com",
        "id": "mail-1",
    }
    first = await client.post("/webhook/generic/support", **signed(body))
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "stored" and first.json()["channel"] == "support"
    again = await client.post("/webhook/generic/support", **signed(body))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["message_id"] == first.json()["message_id"]

    message = await get_json(client, f"/api/messages/{first.json()['message_id']}")
    assert message["content"] == "bug: invoice PDF is blank\n\nSince Monday every invoice is empty."
    assert message["author"] == "c@example.com" and message["external_id"] == "mail-1"

    async def task() -> dict | None:
        tasks = (await get_json(client, "/api/tasks", params={"channel": "support"}))["data"]
        return tasks[0] if tasks else None

    made = await eventually(task)
    assert made["assignee"] == "ann" and made["labels"] == ["support"]  # the channel's routing defaults

    # without an id, the body's hash is the id: a resent body is a duplicate, another body is new
    anonymous = {"text": "question: do you ship to Norway?"}
    assert (await client.post("/webhook/generic/support", **signed(anonymous))).json()["status"] == "stored"
    assert (await client.post("/webhook/generic/support", **signed(anonymous))).json()[
        "status"
    ] == "duplicate"


async def test_bad_input_is_refused_and_stores_nothing(client: httpx.AsyncClient) -> None:
    good = {"content": "task: call back", "id": "x1"}
    raw = json.dumps(good).encode()
    cases = [
        ("/webhook/generic/nobody", signed(good), 404, "unknown_channel"),
        ("/webhook/generic/support", {"json": good}, 401, "missing_signature"),
        ("/webhook/generic/support", signed(good, "a-different-secret-value"), 401, "bad_signature"),
        (
            "/webhook/generic/support",
            {"content": raw, "headers": {"X-Signature-256": "sha256=" + "0" * 64}},
            401,
            "bad_signature",
        ),
        (  # a header byte outside ASCII (headers arrive as Latin-1): a wrong signature, not a 500
            "/webhook/generic/support",
            {"content": raw, "headers": {"X-Signature-256": b"sha256=\xe9" + b"0" * 63}},
            401,
            "bad_signature",
        ),
        ("/webhook/generic/support", signed(b"{not json"), 400, "malformed_json"),
        ("/webhook/generic/support", signed(b"[1, 2]"), 400, "malformed_json"),
        ("/webhook/generic/support", signed({"author": "no content"}), 422, "validation_error"),
        (
            "/webhook/generic/support",
            signed({"content": "x", "sent_at": "yesterday"}),
            422,
            "validation_error",
        ),
        ("/webhook/generic/support", signed({"content": "x" * 20000}), 422, "content_too_long"),
    ]
    for url, kwargs, status, code in cases:
        response = await client.post(url, **kwargs)
        assert response.status_code == status, (url, response.text)
        assert response.json()["code"] == code and response.json()["detail"]
    assert (await get_json(client, "/api/messages"))["data"] == []


async def test_disabled_channel_answers_202_and_stores_nothing(client: httpx.AsyncClient) -> None:
    await client.patch(f"/api/channels/{client.channel_id}", json={"enabled": False})  # type: ignore[attr-defined]
    response = await client.post("/webhook/generic/support", **signed({"content": "bug: lost?"}))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored" and response.json()["reason"] == "channel_disabled"
    assert "disabled" in response.json()["detail"]
    assert (await get_json(client, "/api/messages"))["data"] == []


async def test_only_generic_channels_take_generic_webhooks(client: httpx.AsyncClient) -> None:
    await client.post("/api/messages", json={"content": "hi", "channel": "rest"})  # an `api` channel
    response = await client.post("/webhook/generic/rest", **signed({"content": "x"}))
    assert response.status_code == 404 and response.json()["code"] == "unknown_channel"
