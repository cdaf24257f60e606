"""The whole pipeline over real HTTP and WebSocket, on SQLite and PostgreSQL, with the in-process broker."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, eventually, get_json, serve


@pytest.fixture
async def embedded(make_settings):
    classifier = ScriptedClassifier()
    app = create_app(make_settings(), role=Role.all, migrate=True, classifier=classifier)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        client.classifier = classifier  # type: ignore[attr-defined]
        yield client


async def test_message_becomes_task_with_events(embedded: httpx.AsyncClient) -> None:
    ws_url = (await get_json(embedded, "/api/config"))["ws_url"]
    assert ws_url.startswith("ws://127.0.0.1:") and ws_url.endswith("/ws")
    async with websockets.connect(ws_url) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["id"] and hello["ts"]

        response = await embedded.post(
            "/api/messages",
            json={
                "content": "bug: login page crashes",
                "author": "ann",
                "channel": "team",
                "external_id": "m-1",
            },
        )
        assert response.status_code == 202, response.text
        message = response.json()
        assert message["status"] == "received" and message["channel"]["name"] == "team"

        seen: dict[str, dict] = {}
        while not {"message.received", "message.classified", "task.created"} <= seen.keys():
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            seen[event["type"]] = event
        task = seen["task.created"]["data"]
        assert task["category"] == "bug" and task["source_message_id"] == message["id"]
        assert seen["message.classified"]["data"]["classification"]["category"] == "bug"

    detail = await get_json(embedded, f"/api/tasks/{task['id']}")
    assert [m["id"] for m in detail["messages"]] == [message["id"]]
    assert detail["issues"][0]["model"] == "scripted"
    assert detail["activity"][0]["kind"] == "created"
    stored = await get_json(embedded, f"/api/messages/{message['id']}")
    assert stored["status"] == "classified" and stored["task_id"] == task["id"] and len(stored["issues"]) == 1


async def test_ingest_is_idempotent(embedded: httpx.AsyncClient) -> None:
    body = {"content": "task: rotate the keys", "channel": "ops", "external_id": "42"}
    first = await embedded.post("/api/messages", json=body)
    second = await embedded.post("/api/messages", json=body)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    # the original system's body: {"id", "content", "author", "timestamp"}
    legacy = await embedded.post(
        "/api/messages",
        json={
            "id": 42,
            "content": "task: rotate the keys",
            "author": "x",
            "channel": "ops",
            "timestamp": "2026-01-02T03:04:05",
        },
    )
    assert legacy.status_code == 200 and legacy.json()["id"] == first.json()["id"]
    page = await get_json(embedded, "/api/messages", params={"channel": "ops"})
    assert len(page["data"]) == 1
    await eventually(lambda: _task_count(embedded, 1))
    assert embedded.classifier.calls.count("task: rotate the keys") == 1  # type: ignore[attr-defined]


async def _task_count(client: httpx.AsyncClient, n: int) -> bool:
    return len((await get_json(client, "/api/tasks"))["data"]) == n


async def test_messages_filter_by_the_category_they_were_classified_as(embedded: httpx.AsyncClient) -> None:
    texts = {"bug: the export button is dead": "bug", "feature: dark mode": "feature", "hello all": "noise"}
    items = [{"content": text, "external_id": f"c{i}", "channel": "cat"} for i, text in enumerate(texts)]
    assert (await embedded.post("/api/messages/batch", json=items)).status_code == 202
    await eventually(lambda: _classified(embedded, 3))
    for text, category in texts.items():
        page = await get_json(embedded, "/api/messages", params={"category": category})
        assert [m["content"] for m in page["data"]] == [text]
        assert page["data"][0]["classification"]["category"] == category
    both = await get_json(embedded, "/api/messages", params=[("category", "bug"), ("category", "noise")])
    assert len(both["data"]) == 2
    stats = await get_json(embedded, "/api/stats")
    assert stats["total_messages"] == 3 and sum(d["count"] for d in stats["messages_per_day"]) == 3
    assert stats["by_category"]["bug"] == 1 and stats["by_category"]["feature"] == 1


async def test_batch_ingest(embedded: httpx.AsyncClient) -> None:
    items = [{"content": f"feature: idea {i}", "external_id": f"b{i}", "channel": "batch"} for i in range(20)]
    response = await embedded.post("/api/messages/batch", json={"messages": items})
    assert response.status_code == 202, response.text
    assert response.json()["created"] == 20
    again = await embedded.post(
        "/api/messages:batch",
        json=items[:5] + [{"content": "feature: new", "external_id": "b99", "channel": "batch"}],
    )
    assert again.status_code == 202 and again.json()["created"] == 1 and again.json()["existing"] == 5
    await eventually(lambda: _classified(embedded, 21))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"content": ""}, "validation_error"),
        ({"content": "   "}, "validation_error"),
        ({"author": "x"}, "validation_error"),
        ({"content": "x" * (16 * 1024 + 1)}, "content_too_long"),
        ({"content": "ok", "sent_at": "yesterday"}, "validation_error"),
        ({"content": "ok", "channel": "bad\nname"}, "validation_error"),
    ],
)
async def test_bad_messages_get_422(embedded: httpx.AsyncClient, body: dict, code: str) -> None:
    response = await embedded.post("/api/messages", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == code and response.json()["detail"]


async def test_bad_requests_get_json_4xx(embedded: httpx.AsyncClient) -> None:
    cases = [
        ("GET", "/api/tasks?limit=0", 422),
        ("GET", "/api/tasks?limit=-1", 422),
        ("GET", "/api/tasks?limit=201", 422),
        ("GET", "/api/tasks?sort=bogus", 422),
        ("GET", "/api/tasks?cursor=!!!", 422),
        ("GET", "/api/tasks?status=nope", 422),
        ("GET", "/api/tasks/999999", 404),
        ("GET", "/api/messages/999999", 404),
        ("PATCH", "/api/tasks/999999", 404),
        ("DELETE", "/api/tasks/999999", 404),
        ("POST", "/api/messages/batch", 422),
        ("GET", "/api/nothing-here", 404),
    ]
    for method, url, status in cases:
        kwargs = {"json": {}} if method in ("PATCH", "POST") else {}
        response = await embedded.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        assert set(response.json()) >= {"detail", "code"}, (url, response.json())
    raw = await embedded.post(
        "/api/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert raw.status_code == 422 and raw.json()["code"] == "validation_error"
    big = await embedded.post(
        "/api/messages/batch", json=[{"content": "x", "external_id": str(i)} for i in range(501)]
    )
    assert big.status_code == 422 and big.json()["code"] == "batch_too_large"


async def test_task_crud_filters_and_pagination(embedded: httpx.AsyncClient) -> None:
    created = []
    for i, (cat, prio) in enumerate(
        [("bug", "high"), ("feature", "low"), ("bug", "urgent"), ("task", "medium")] * 3
    ):
        r = await embedded.post(
            "/api/tasks", json={"title": f"Item {i} alpha", "category": cat, "priority": prio}
        )
        assert r.status_code == 201, r.text
        created.append(r.json())
    bugs = await get_json(embedded, "/api/tasks", params={"category": "bug"})
    assert len(bugs["data"]) == 6 and {t["category"] for t in bugs["data"]} == {"bug"}
    two = await get_json(embedded, "/api/tasks", params=[("priority", "urgent"), ("priority", "low")])
    assert {t["priority"] for t in two["data"]} == {"urgent", "low"} and len(two["data"]) == 6

    seen, cursor = [], None
    while True:
        params = {"limit": 5, "sort": "-priority"} | ({"cursor": cursor} if cursor else {})
        page = await get_json(embedded, "/api/tasks", params=params)
        seen += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 12 and len({t["id"] for t in seen}) == 12
    ranks = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
    assert [ranks[t["priority"]] for t in seen] == sorted((ranks[t["priority"]] for t in seen), reverse=True)

    target = created[0]["id"]
    patched = await embedded.patch(
        f"/api/tasks/{target}", json={"status": "in_progress", "assignee": "bob", "labels": ["ui", "ui"]}
    )
    assert (
        patched.status_code == 200
        and patched.json()["status"] == "in_progress"
        and patched.json()["labels"] == ["ui"]
    )
    mine = await get_json(embedded, "/api/tasks", params={"assignee": "bob"})
    assert [t["id"] for t in mine["data"]] == [target]
    found = await get_json(embedded, "/api/tasks", params={"q": "ITEM 3 ALPHA"})
    assert [t["title"] for t in found["data"]] == ["Item 3 alpha"]
    bad = await embedded.patch(f"/api/tasks/{target}", json={"status": "done"})
    assert bad.status_code == 422
    null_title = await embedded.patch(f"/api/tasks/{target}", json={"title": None})
    assert null_title.status_code == 422
    assert (await embedded.delete(f"/api/tasks/{target}")).status_code == 204
    assert (await embedded.get(f"/api/tasks/{target}")).status_code == 404


async def test_correction_is_recorded_and_clears_review(embedded: httpx.AsyncClient) -> None:
    r = await embedded.post(
        "/api/messages", json={"content": "unsure question: what is the VPN address?", "external_id": "q1"}
    )
    assert r.status_code == 202
    tasks = await eventually(lambda: _tasks(embedded))
    task = tasks[0]
    assert task["needs_review"] is True and task["confidence"] == pytest.approx(0.3)
    review = await get_json(embedded, "/api/tasks", params={"needs_review": "true"})
    assert [t["id"] for t in review["data"]] == [task["id"]]
    patched = await embedded.patch(f"/api/tasks/{task['id']}", json={"category": "task", "priority": "high"})
    assert patched.json()["needs_review"] is False
    detail = await get_json(embedded, f"/api/tasks/{task['id']}")
    assert detail["activity"][-1]["data"]["category"] == {"from": "question", "to": "task"}


async def _tasks(client: httpx.AsyncClient) -> list:
    return (await get_json(client, "/api/tasks"))["data"]


async def test_duplicate_request_joins_open_task(embedded: httpx.AsyncClient) -> None:
    await embedded.post(
        "/api/messages",
        json={"content": "bug: the export button does nothing", "channel": "dup", "external_id": "d1"},
    )
    await eventually(lambda: _tasks(embedded))
    await embedded.post(
        "/api/messages",
        json={"content": "Bug: the export button does nothing!!", "channel": "dup", "external_id": "d2"},
    )
    msgs = await eventually(lambda: _classified(embedded, 2))
    tasks = await _tasks(embedded)
    assert len(tasks) == 1 and tasks[0]["message_count"] == 2
    assert {m["task_id"] for m in msgs} == {tasks[0]["id"]}


async def _classified(client: httpx.AsyncClient, n: int) -> list | None:
    data = (await get_json(client, "/api/messages", params={"status": "classified"}))["data"]
    return data if len(data) == n else None


async def test_merge(embedded: httpx.AsyncClient) -> None:
    a = (await embedded.post("/api/tasks", json={"title": "A"})).json()
    b = (await embedded.post("/api/tasks", json={"title": "B"})).json()
    assert (await embedded.post(f"/api/tasks/{a['id']}/merge", json={"into": a["id"]})).status_code == 422
    merged = await embedded.post(f"/api/tasks/{a['id']}/merge", json={"into": b["id"]})
    assert merged.status_code == 200 and merged.json()["id"] == b["id"]
    source = await get_json(embedded, f"/api/tasks/{a['id']}")
    assert source["status"] == "closed" and source["merged_into_id"] == b["id"]
    assert (await embedded.post(f"/api/tasks/{a['id']}/merge", json={"into": 99999})).status_code == 404


async def test_stats_health_and_classify(embedded: httpx.AsyncClient) -> None:
    await embedded.post("/api/messages", json={"content": "feature: dark mode", "external_id": "s1"})
    await eventually(lambda: _tasks(embedded))
    stats = await get_json(embedded, "/api/stats")
    assert stats["by_category"]["feature"] == 1 and stats["total_messages"] == 1
    assert stats["messages_per_day"][0]["count"] == 1 and stats["models"] == {"scripted": 1}
    assert (await get_json(embedded, "/api/health")) == {"status": "ok"}
    ready = await get_json(embedded, "/api/health/ready")
    assert ready["checks"]["database"] == "ok" and ready["checks"]["broker"] == "ok"
    root = await embedded.get("/", headers={"accept": "application/json"})
    assert root.json()["name"] == "tasktracker" and root.json()["status"] == "ok"
    result = await embedded.post("/api/classify", json={"content": "bug: it broke"})
    assert (
        result.status_code == 200
        and result.json()["category"] == "bug"
        and result.json()["model"] == "scripted"
    )
    assert (await embedded.post("/api/classify", json={"content": ""})).status_code == 422
    assert (await get_json(embedded, "/api/messages"))["data"][0][
        "external_id"
    ] == "s1"  # classify stored nothing


async def test_config_ws_url_follows_forwarded_headers(embedded: httpx.AsyncClient) -> None:
    cfg = await get_json(
        embedded,
        "/api/config",
        headers={
            "x-forwarded-proto": "https",
            "x-forwarded-host": "tt.example.org",
            "x-forwarded-prefix": "/tracker",
        },
    )
    assert cfg["ws_url"] == "wss://tt.example.org/tracker/ws"


def _cursor(value: object, row_id: object) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode().rstrip("=")


async def test_out_of_range_ids_and_odd_parameters_get_4xx(embedded: httpx.AsyncClient) -> None:
    """Ids past the database's integer range, non-ASCII digits and forged cursors are the client's error."""
    task = (await embedded.post("/api/tasks", json={"title": "A"})).json()
    huge = str(2**40)
    cases = [
        ("GET", f"/api/tasks/{huge}", 422),
        ("PATCH", f"/api/tasks/{huge}", 422),
        ("DELETE", f"/api/tasks/{huge}", 422),
        ("GET", f"/api/messages/{huge}", 422),
        ("GET", f"/api/channels/{huge}", 422),
        ("GET", f"/api/messages?task_id={huge}", 422),
        ("GET", f"/api/tasks?channel={huge}", 200),
        ("GET", f"/api/tasks?channel={'9' * 30}", 200),
        ("GET", f"/api/tasks?channel={'9' * 5000}", 200),  # past int()'s 4300-digit limit
        ("GET", "/api/tasks?channel=%C2%B2", 200),  # "²" is a digit to str.isdigit(), not to int()
        ("GET", "/api/messages?channel=%C2%B2", 200),
        ("GET", f"/api/tasks?cursor={_cursor('2026-01-01T00:00:00', 1)}", 422),  # no offset
        ("GET", f"/api/messages?cursor={_cursor('2026-01-01T00:00:00', 1)}", 422),
        ("GET", f"/api/tasks?cursor={_cursor('2026-01-01T00:00:00+00:00', 2**70)}", 422),
        ("GET", f"/api/tasks?sort=-priority&cursor={_cursor(2**70, 1)}", 422),
    ]
    for method, url, status in cases:
        kwargs = {"json": {}} if method in ("PATCH", "POST") else {}
        response = await embedded.request(method, url, **kwargs)
        assert response.status_code == status, (method, url, response.text)
        if status >= 400:
            assert set(response.json()) >= {"detail", "code"}, (url, response.json())
    merge = await embedded.post(f"/api/tasks/{task['id']}/merge", json={"into": 2**40})
    assert merge.status_code == 422, merge.text


async def test_embedded_shutdown_finishes_in_flight_job_and_cancels_a_stuck_one(make_settings) -> None:
    """`tasktracker run` stopping: a running job gets the grace period, then is cancelled, not orphaned."""
    from tasktracker.db import create_engine, create_sessionmaker
    from tasktracker.models import Message

    settings = make_settings(shutdown_grace_s=5)
    classifier = ScriptedClassifier(delay=1.0)
    app = create_app(settings, role=Role.all, migrate=True, classifier=classifier)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        r = await client.post("/api/messages", json={"content": "task: slow one", "external_id": "g1"})
        await eventually(lambda: classifier.calls)  # the job is running now
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            message = await session.get(Message, r.json()["id"])
            assert message is not None and message.status == "classified"
    finally:
        await engine.dispose()

    stuck = ScriptedClassifier(delay=60.0)
    app = create_app(make_settings(shutdown_grace_s=0.5), role=Role.all, migrate=True, classifier=stuck)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        await client.post("/api/messages", json={"content": "task: stuck one", "external_id": "g2"})
        await eventually(lambda: stuck.calls)
        runtime = app.state.runtime
    assert not runtime.broker._running_tasks  # cancelled within the grace period, not left running


async def test_oversized_body_is_refused_with_413(make_settings) -> None:
    app = create_app(
        make_settings(max_body_bytes=4096), role=Role.all, migrate=True, classifier=ScriptedClassifier()
    )
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        big = await client.post("/api/messages", json={"content": "x", "meta": {"blob": "y" * 10_000}})
        assert big.status_code == 413 and big.json()["code"] == "content_too_large", big.text

        async def chunks():  # no Content-Length: the limit applies while the body streams in
            yield b'{"content": "x", "meta": {"blob": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}}'

        streamed = await client.post(
            "/api/messages", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413 and streamed.json()["code"] == "content_too_large"
        small = await client.post("/api/messages", json={"content": "task: fine", "external_id": "ok"})
        assert small.status_code == 202
        assert len((await get_json(client, "/api/messages"))["data"]) == 1


async def test_blank_assignee_means_unassigned(embedded: httpx.AsyncClient) -> None:
    task = (await embedded.post("/api/tasks", json={"title": "T", "assignee": "bob"})).json()
    cleared = await embedded.patch(f"/api/tasks/{task['id']}", json={"assignee": "  "})
    assert cleared.status_code == 200 and cleared.json()["assignee"] is None
    unassigned = await get_json(embedded, "/api/tasks", params={"assignee": ""})
    assert [t["id"] for t in unassigned["data"]] == [task["id"]]


async def test_rest_message_to_a_disabled_channel_is_refused(embedded: httpx.AsyncClient) -> None:
    first = await embedded.post(
        "/api/messages", json={"content": "task: a", "channel": "ops", "external_id": "1"}
    )
    channel_id = first.json()["channel"]["id"]
    assert (await embedded.patch(f"/api/channels/{channel_id}", json={"enabled": False})).status_code == 200
    refused = await embedded.post(
        "/api/messages", json={"content": "task: b", "channel": "ops", "external_id": "2"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "channel_disabled"
    batch = await embedded.post(
        "/api/messages/batch",
        json=[
            {"content": "task: c", "channel": "other", "external_id": "3"},
            {"content": "task: d", "channel": "ops"},
        ],
    )
    assert batch.status_code == 409
    stored = await get_json(embedded, "/api/messages")
    assert [m["external_id"] for m in stored["data"]] == ["1"]  # nothing of the refused requests was kept
