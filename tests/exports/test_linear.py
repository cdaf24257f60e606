"""Exports to Linear through the real GraphQL client, against the Linear stand-in (graphql-core)."""

from __future__ import annotations

import time

import httpx

from tests.exports.conftest import (
    WEBHOOK_SECRET,
    add_target,
    add_task,
    export_to,
    linear_target,
    settled,
    task_status,
)
from tests.support.app import eventually
from tests.support.trackers import FakeLinear


async def test_export_and_state_sync(app: httpx.AsyncClient, linear: FakeLinear) -> None:
    target = await add_target(app, linear_target(linear))
    task = await add_task(app, priority="urgent")
    export = await export_to(app, task["id"], target["id"])

    done = await settled(app, task["id"], export["id"])
    issue = linear.issues[done["external_id"]]
    assert done["url"] == issue["url"] and issue["identifier"] == "ENG-1"
    assert issue["priority"] == 1.0  # urgent
    assert f"`tasktracker:task={task['id']}:export={export['id']}`" in issue["description"]

    assert (await app.patch(f"/api/tasks/{task['id']}", json={"status": "completed"})).status_code == 200
    await eventually(lambda: issue["state"]["type"] == "completed")

    linear.move(issue["id"], "started")
    body, headers = linear.webhook(WEBHOOK_SECRET, issue["id"])
    answer = await app.post("/webhook/linear", content=body, headers=headers)
    assert answer.status_code == 202, answer.text

    async def reopened() -> bool:
        return await task_status(app, task["id"]) == "open"

    await eventually(reopened)

    stale_body, stale_headers = linear.webhook(
        WEBHOOK_SECRET, issue["id"], sent_ms=int((time.time() - 3600) * 1000)
    )
    stale = await app.post("/webhook/linear", content=stale_body, headers=stale_headers)
    assert stale.status_code == 401 and stale.json()["code"] == "stale_timestamp"
    forged = await app.post(
        "/webhook/linear", content=body, headers={**headers, "Linear-Signature": "ab" * 32}
    )
    assert forged.status_code == 401 and forged.json()["code"] == "bad_signature"


async def test_ratelimited_errors_wait_and_a_lost_response_makes_one_issue(
    app: httpx.AsyncClient, linear: FakeLinear
) -> None:
    target = await add_target(app, linear_target(linear))
    task = await add_task(app)
    linear.script("POST", r"/graphql$", "ratelimited", retry_after=1)  # the look-up
    export = await export_to(app, task["id"], target["id"])
    linear.script("POST", r"/graphql$", "lose")  # then the issueCreate, after the wait

    done = await settled(app, task["id"], export["id"], timeout=20)
    calls = linear.calls_to("POST", r"/graphql$")
    assert calls[0].answered == 400 and calls[1].at - calls[0].at >= 1.0  # until X-RateLimit-Requests-Reset
    assert len(linear.issues) == 1 and done["external_id"] in linear.issues


async def test_an_unknown_api_key_is_reported(app: httpx.AsyncClient, linear: FakeLinear) -> None:
    target = await add_target(app, linear_target(linear, token="lin_api_revoked"))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])
    failed = await settled(app, task["id"], export["id"], ("failed",))
    assert failed["error"].startswith("bad credentials: Linear refused the API key")
    assert len(linear.calls) == 1
