"""Every string and datetime field of every write operation and webhook, sent what breaks databases:
NUL, lone surrogates, 10,000 characters, datetimes at the calendar's ends, JSON 1,000 levels deep.

On SQLite and PostgreSQL alike each is answered 2xx or 4xx with `{"detail", "code"}`; a refused
request stores nothing, and afterwards every list and detail still answers (nothing poisoned).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from tasktracker.channels.signing import generic_signature, slack_signature
from tests.channels import updates as tg
from tests.channels.conftest import fake_telegram, running, telegram_settings  # noqa: F401 (fixtures)
from tests.support.app import get_json

SLACK_SECRET = "slack-signing-secret-0123456789"
GENERIC_SECRET = "generic-secret-0123456789"
TELEGRAM_SECRET = "telegram-webhook-secret"

NUL = "bad\x00value"
SURROGATE = "bad\ud800value"
LONG = "x" * 10_000
EARLY = "0001-01-01T00:00:00+14:00"
LATE = "9999-12-31T23:59:59-14:00"
DEEP = "__DEEP__"  # replaced by JSON nested 1,000 levels once the body is encoded
STRINGS = {"nul": NUL, "surrogate": SURROGATE, "long": LONG, "deep": DEEP}
DATETIMES = {"nul": NUL, "surrogate": SURROGATE, "long": LONG, "early": EARLY, "late": LATE, "deep": DEEP}
ALWAYS_REFUSED = {"nul", "surrogate", "early", "late", "deep"}


def encode(body: Any) -> bytes:
    """JSON with escapes (`\\u0000`, `\\ud800`) as a client would send them; DEEP spliced in."""
    return json.dumps(body).replace(f'"{DEEP}"', '{"a":' * 1000 + "1" + "}" * 1000).encode()


def put(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of `body` with `value` at `path`."""
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


Signer = Callable[[bytes], dict[str, str]]


def no_signature(_: bytes) -> dict[str, str]:
    return {}


def slack_headers(raw: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(SLACK_SECRET, timestamp, raw),
    }


def generic_headers(raw: bytes) -> dict[str, str]:
    return {"X-Signature-256": generic_signature(GENERIC_SECRET, raw)}


def telegram_headers(_: bytes) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


MESSAGE = {
    "content": "checkout fails",
    "author": "ann",
    "channel": "team",
    "external_id": "m-1",
    "thread_external_id": "m-0",
    "sent_at": "2026-01-01T10:00:00Z",
    "meta": {"k": "v"},
}
MESSAGE_FIELDS = [
    ("content",),
    ("author",),
    ("channel",),
    ("external_id",),
    ("thread_external_id",),
    ("meta", "k"),
]
TASK = {"title": "A task", "description": "d", "assignee": "ann", "labels": ["x"]}
TASK_FIELDS = [("title",), ("description",), ("assignee",), ("labels", 0)]
CHANNEL = {
    "kind": "webhook",
    "name": "probe",
    "external_id": "e-1",
    "secret": "a-secret-of-enough-length",
    "defaults": {"assignee": "ann", "labels": ["x"]},
}
CHANNEL_PATCH = {k: v for k, v in CHANNEL.items() if k != "kind"} | {"name": "renamed", "external_id": "e-2"}
CHANNEL_FIELDS = [
    ("name",),
    ("external_id",),
    ("secret",),
    ("defaults", "assignee"),
    ("defaults", "labels", 0),
]
GENERIC = {
    "content": "form broken",
    "subject": "s",
    "author": "c@example.com",
    "id": "g-1",
    "thread_id": "g-0",
    "date": "2026-01-01T10:00:00Z",
    "meta": {"k": "v"},
}
GENERIC_FIELDS = [("content",), ("subject",), ("author",), ("id",), ("thread_id",), ("meta", "k")]
SLACK = {
    "type": "event_callback",
    "team_id": "T1",
    "event_id": "Ev1",
    "event": {
        "type": "message",
        "channel": "C1",
        "user": "U1",
        "text": "hello",
        "ts": "1700000000.1",
        "thread_ts": "1",
    },
}
SLACK_FIELDS = [("team_id",), ("event_id",)] + [
    ("event", k) for k in ("channel", "user", "text", "ts", "thread_ts", "subtype", "channel_type")
]
TELEGRAM = tg.update(1, tg.message(tg.SUPERGROUP, 1, "hello"))
TELEGRAM_FIELDS = [
    ("message", "text"),
    ("message", "from", "first_name"),
    ("message", "from", "last_name"),
    ("message", "from", "username"),
    ("message", "chat", "title"),
]


def cases(
    task_id: int, channel_id: int
) -> list[tuple[str, str, Any, tuple[Any, ...], dict[str, str], Signer]]:
    """(method, url, base body, field path, values to try, signer) for every string/datetime field."""
    out: list[tuple[str, str, Any, tuple[Any, ...], dict[str, str], Signer]] = []
    for path in MESSAGE_FIELDS:
        out.append(("POST", "/api/messages", MESSAGE, path, STRINGS, no_signature))
        out.append(
            (
                "POST",
                "/api/messages/batch",
                {"messages": [MESSAGE]},
                ("messages", 0, *path),
                STRINGS,
                no_signature,
            )
        )
    out.append(("POST", "/api/messages", MESSAGE, ("sent_at",), DATETIMES, no_signature))
    undated = {k: v for k, v in MESSAGE.items() if k != "sent_at"}
    out.append(("POST", "/api/messages", undated, ("timestamp",), DATETIMES, no_signature))
    out.append(
        (
            "POST",
            "/api/messages/batch",
            {"messages": [MESSAGE]},
            ("messages", 0, "sent_at"),
            DATETIMES,
            no_signature,
        )
    )
    for path in TASK_FIELDS:
        out.append(("POST", "/api/tasks", TASK, path, STRINGS, no_signature))
        out.append(("PATCH", f"/api/tasks/{task_id}", TASK, path, STRINGS, no_signature))
    out.append(("POST", f"/api/tasks/{task_id}/merge", {"into": task_id}, ("into",), STRINGS, no_signature))
    for path in CHANNEL_FIELDS:
        out.append(("POST", "/api/channels", CHANNEL, path, STRINGS, no_signature))
    for path in CHANNEL_FIELDS:
        out.append(("PATCH", f"/api/channels/{channel_id}", CHANNEL_PATCH, path, STRINGS, no_signature))
    out.append(("POST", "/api/classify", {"content": "x"}, ("content",), STRINGS, no_signature))
    for path in GENERIC_FIELDS:
        out.append(("POST", "/webhook/generic/forms", GENERIC, path, STRINGS, generic_headers))
    out.append(("POST", "/webhook/generic/forms", GENERIC, ("date",), DATETIMES, generic_headers))
    for path in SLACK_FIELDS:
        out.append(("POST", "/webhook/slack", SLACK, path, STRINGS, slack_headers))
    for path in TELEGRAM_FIELDS:
        out.append(("POST", "/webhook/telegram", TELEGRAM, path, STRINGS, telegram_headers))
    return out


def unique(body: Any, path: tuple[Any, ...], n: int) -> None:
    """Fresh ids and names, so that no request is answered as a repeat of an earlier one."""
    target = body["messages"][0] if "messages" in body else body
    for key in ("external_id", "id", "name", "event_id"):
        if key in target and key not in path and path[-1:] != (key,):
            target[key] = f"{target[key]}-{n}"
    if "update_id" in body:
        body["update_id"] = 1000 + n
        body["message"]["message_id"] = 1000 + n


async def snapshot(client: httpx.AsyncClient) -> tuple[int, int, int]:
    messages = await get_json(client, "/api/messages?limit=200")
    tasks = await get_json(client, "/api/tasks?limit=200")
    channels = await get_json(client, "/api/channels")
    return len(messages["data"]), len(tasks["data"]), len(channels["data"])  # no message makes a task


async def test_hostile_values_in_every_field_get_4xx_or_are_stored_intact(telegram_settings) -> None:  # noqa: F811
    settings = telegram_settings(telegram_webhook_secret=TELEGRAM_SECRET, slack_signing_secret=SLACK_SECRET)
    async with running(settings) as client:
        task = (await client.post("/api/tasks", json={"title": "target"})).json()
        other = (await client.post("/api/channels", json={"kind": "api", "name": "other"})).json()
        forms = await client.post(
            "/api/channels", json={"kind": "webhook", "name": "forms", "secret": GENERIC_SECRET}
        )
        assert forms.status_code == 201, forms.text
        problems: list[str] = []
        sent = 0
        stored = await snapshot(client)
        for method, url, base, path, values, signer in cases(task["id"], other["id"]):
            for kind, value in values.items():
                body = put(base, path, value)
                unique(body, path, sent)
                raw = encode(body)
                response = await client.request(
                    method, url, content=raw, headers={"content-type": "application/json", **signer(raw)}
                )
                sent += 1
                label = f"{method} {url} {'.'.join(map(str, path))}={kind}"
                if response.status_code >= 500:
                    problems.append(f"{label}: {response.status_code} {response.text[:200]}")
                    continue
                before, stored = stored, await snapshot(client)
                if response.status_code >= 400:
                    if set(response.json()) != {"detail", "code"}:
                        problems.append(f"{label}: error body {response.text[:200]}")
                    if stored != before:
                        problems.append(
                            f"{label}: refused with {response.status_code} but something was stored"
                        )
                elif kind in ALWAYS_REFUSED and url != "/webhook/slack":
                    problems.append(f"{label}: accepted with {response.status_code}: {response.text[:200]}")
                elif kind in ALWAYS_REFUSED and response.json().get("status") != "ignored":
                    problems.append(f"{label}: Slack event stored: {response.text[:200]}")
        assert sent > 200
        assert not problems, "\n".join(problems)

        # Nothing poisoned: every list and every detail still answers.
        for url in ("/api/messages?limit=200", "/api/tasks?limit=200", "/api/channels", "/api/stats"):
            assert (await client.get(url)).status_code == 200, url
        for message in (await get_json(client, "/api/messages?limit=200"))["data"]:
            assert (await client.get(f"/api/messages/{message['id']}")).status_code == 200
            assert "\x00" not in json.dumps(message)
        for row in (await get_json(client, "/api/tasks?limit=200"))["data"]:
            assert (await client.get(f"/api/tasks/{row['id']}")).status_code == 200
            assert (await client.patch(f"/api/tasks/{row['id']}", json={})).status_code == 200
