"""`POST /webhook/slack`: the Slack Events API, signed with the app's signing secret."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tasktracker.channels.signing import slack_signature, verify_slack
from tasktracker.errors import Unauthorized
from tests.channels.conftest import running
from tests.support.app import get_json

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def client(make_settings):
    async with running(make_settings(slack_signing_secret=SIGNING_SECRET)) as client:
        yield client


def signed(payload: dict | bytes, *, at: float | None = None, secret: str = SIGNING_SECRET) -> dict:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = str(int(at if at is not None else time.time()))
    return {
        "content": raw,
        "headers": {
            "content-type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_signature(secret, timestamp, raw),
        },
    }


def non_ascii_signature(request: dict) -> dict:
    """The same request with a signature header byte outside ASCII (headers arrive as Latin-1)."""
    headers = request["headers"] | {"X-Slack-Signature": b"v0=\xe9" + b"0" * 63}
    return request | {"headers": headers}


def event(event_id: str, **fields) -> dict:
    body = {
        "type": "message",
        "channel": "C024BE91L",
        "user": "U2147483697",
        "text": "bug: deploys hang",
        "ts": "1700000000.000100",
        "channel_type": "channel",
    }
    return {
        "token": "ignored",
        "team_id": "T061EG9R6",
        "api_app_id": "A0MDYCDME",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000000,
        "event": body | fields,
    }


async def _contents(client: httpx.AsyncClient) -> list[str]:
    return sorted(m["content"] for m in (await get_json(client, "/api/messages"))["data"])


def test_slack_signature_matches_slacks_documented_example() -> None:
    # https://api.slack.com/authentication/verifying-requests-from-slack (the documented sample request)
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    secret, timestamp = "8f742231b10e8888abcd99yyyzzz85a5", "1531420618"
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature(secret, timestamp, body) == expected
    verify_slack(secret, timestamp, expected, body, now=1531420618 + 60)
    with pytest.raises(Unauthorized) as stale:
        verify_slack(secret, timestamp, expected, body, now=1531420618 + 301)
    assert stale.value.code == "stale_timestamp"


async def test_url_verification_answers_the_challenge(client: httpx.AsyncClient) -> None:
    payload = {
        "token": "x",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    response = await client.post("/webhook/slack", **signed(payload))
    assert response.status_code == 200 and response.json() == {"challenge": payload["challenge"]}


async def test_message_events_are_stored_once_and_noise_is_dropped(client: httpx.AsyncClient) -> None:
    first = await client.post("/webhook/slack", **signed(event("Ev01")))
    assert first.status_code == 202 and first.json()["status"] == "stored", first.text
    retry = await client.post(
        "/webhook/slack", **signed(event("Ev01"))
    )  # Slack retries with the same event_id
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"

    reply = event("Ev02", text="same for me", ts="1700000050.000200", thread_ts="1700000000.000100")
    assert (await client.post("/webhook/slack", **signed(reply))).json()["status"] == "stored"
    noise = [
        event("Ev03", bot_id="B123", text="deploy finished"),
        event("Ev04", subtype="bot_message", text="beep"),
        event("Ev05", subtype="message_changed", message={"text": "edited"}),
        event("Ev06", subtype="channel_join", text="<@U1> has joined"),
        event("Ev07", type="reaction_added"),
    ]
    for body in noise:
        response = await client.post("/webhook/slack", **signed(body))
        assert response.status_code == 200 and response.json()["status"] == "ignored", response.text
        assert response.json()["reason"]

    messages = sorted((await get_json(client, "/api/messages"))["data"], key=lambda m: m["id"])
    assert [m["content"] for m in messages] == ["bug: deploys hang", "same for me"]
    assert messages[0]["channel"]["name"] == "slack:C024BE91L" and messages[0]["author"] == "U2147483697"
    assert messages[0]["external_id"] == "C024BE91L:1700000000.000100"
    assert messages[1]["thread_external_id"] == "C024BE91L:1700000000.000100"
    assert messages[0]["sent_at"].startswith("2023-11-14T22:13:20")


async def test_bad_requests_are_refused(client: httpx.AsyncClient) -> None:
    payload = event("Ev10")
    raw = json.dumps(payload).encode()
    cases = [
        ({"json": payload}, 401, "missing_signature"),
        (signed(payload, secret="not-the-signing-secret"), 401, "bad_signature"),
        (signed(payload, at=time.time() - 600), 401, "stale_timestamp"),  # a replay of an old request
        (
            {"content": raw, "headers": {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}},
            401,
            "bad_timestamp",
        ),
        (non_ascii_signature(signed(payload)), 401, "bad_signature"),  # not a 500
        (signed(b"{not json"), 400, "malformed_json"),
        (signed({"no": "type"}), 422, "validation_error"),
        (signed({"type": "event_callback", "event": {"type": "message"}}), 422, "validation_error"),
    ]
    for kwargs, status, code in cases:
        response = await client.post("/webhook/slack", **kwargs)
        assert response.status_code == status, response.text
        assert response.json()["code"] == code and response.json()["detail"]
    # a body changed after signing is refused too
    tampered = signed(payload)
    tampered["content"] = raw.replace(b"deploys hang", b"all is fine!")
    assert (await client.post("/webhook/slack", **tampered)).json()["code"] == "bad_signature"
    assert await _contents(client) == []


async def test_disabled_slack_channel_answers_202_and_stores_nothing(client: httpx.AsyncClient) -> None:
    await client.post("/webhook/slack", **signed(event("Ev20")))
    channel = next(c for c in (await get_json(client, "/api/channels"))["data"] if c["kind"] == "slack")
    await client.patch(f"/api/channels/{channel['id']}", json={"enabled": False})
    response = await client.post(
        "/webhook/slack", **signed(event("Ev21", ts="1700000099.000100", text="bug: hidden"))
    )
    assert response.status_code == 202
    assert response.json()["status"] == "ignored" and response.json()["reason"] == "channel_disabled"
    assert await _contents(client) == ["bug: deploys hang"]


async def test_slack_is_404_when_not_configured(make_settings) -> None:
    async with running(make_settings()) as client:
        response = await client.post("/webhook/slack", **signed(event("Ev30")))
        assert response.status_code == 404 and response.json()["code"] == "slack_not_configured"
