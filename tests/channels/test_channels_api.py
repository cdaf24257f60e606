"""`/api/channels` CRUD: secrets go in and never come out; conflicts are 409, bad input 422."""

from __future__ import annotations

import httpx
import pytest

from tests.channels.conftest import running

SECRET = "a-long-enough-webhook-secret"


@pytest.fixture
async def client(make_settings):
    async with running(make_settings()) as client:
        yield client


async def test_channel_crud(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/channels",
        json={
            "kind": "webhook",
            "name": "support-form",
            "secret": SECRET,
            "defaults": {"assignee": "ann", "labels": ["support", " web "]},
        },
    )
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["has_secret"] is True and "secret" not in channel and SECRET not in created.text
    assert channel["enabled"] is True and channel["defaults"] == {
        "assignee": "ann",
        "labels": ["support", "web"],
    }

    listed = (await client.get("/api/channels")).json()["data"]
    assert [c["name"] for c in listed] == ["support-form"] and SECRET not in str(listed)
    assert (await client.get(f"/api/channels/{channel['id']}")).json() == channel

    patched = await client.patch(
        f"/api/channels/{channel['id']}",
        json={"name": "forms", "enabled": False, "defaults": {"labels": ["x"]}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "forms" and patched.json()["enabled"] is False
    assert (
        patched.json()["defaults"] == {"assignee": None, "labels": ["x"]}
        and patched.json()["has_secret"] is True
    )

    rotated = await client.patch(
        f"/api/channels/{channel['id']}", json={"secret": "another-long-secret-value"}
    )
    assert rotated.status_code == 200 and "another-long-secret-value" not in rotated.text

    deleted = await client.delete(f"/api/channels/{channel['id']}")
    assert deleted.status_code == 204
    missing = await client.get(f"/api/channels/{channel['id']}")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_channel"


async def test_channel_errors(client: httpx.AsyncClient) -> None:
    first = await client.post("/api/channels", json={"kind": "slack", "name": "eng", "external_id": "T1:C1"})
    assert first.status_code == 201
    cases = [
        ("POST", "/api/channels", {"kind": "slack", "name": "eng"}, 409, "channel_name_taken"),
        (
            "POST",
            "/api/channels",
            {"kind": "slack", "name": "eng2", "external_id": "T1:C1"},
            409,
            "channel_external_id_taken",
        ),
        ("POST", "/api/channels", {"kind": "webhook", "name": "nosecret"}, 422, "validation_error"),
        (
            "POST",
            "/api/channels",
            {"kind": "webhook", "name": "short", "secret": "short"},
            422,
            "validation_error",
        ),
        ("POST", "/api/channels", {"kind": "carrier-pigeon", "name": "x"}, 422, "validation_error"),
        ("POST", "/api/channels", {"kind": "api", "name": "bad\nname"}, 422, "validation_error"),
        (
            "POST",
            "/api/channels",
            {"kind": "api", "name": "x", "defaults": {"labels": [""]}},
            422,
            "validation_error",
        ),
        ("PATCH", "/api/channels/999999", {"enabled": False}, 404, "unknown_channel"),
        ("PATCH", f"/api/channels/{first.json()['id']}", {"bogus": 1}, 422, "validation_error"),
        ("DELETE", "/api/channels/999999", None, 404, "unknown_channel"),
    ]
    for method, url, body, status, code in cases:
        response = await client.request(method, url, json=body)
        assert response.status_code == status, (method, url, body, response.text)
        assert response.json()["code"] == code and response.json()["detail"]

    hook = await client.post("/api/channels", json={"kind": "webhook", "name": "hook", "secret": SECRET})
    cleared = await client.patch(f"/api/channels/{hook.json()['id']}", json={"secret": None})
    assert cleared.status_code == 409 and cleared.json()["code"] == "secret_required"

    await client.post("/api/messages", json={"content": "hello", "channel": "busy"})
    busy = next(c for c in (await client.get("/api/channels")).json()["data"] if c["name"] == "busy")
    refused = await client.delete(f"/api/channels/{busy['id']}")
    assert refused.status_code == 409 and refused.json()["code"] == "channel_has_messages"
