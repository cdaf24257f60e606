"""Exports to GitHub Issues through the real client, against the GitHub stand-in."""

from __future__ import annotations

import itertools

import httpx

from tasktracker.exports.clients.base import Draft, RateLimited
from tasktracker.exports.clients.github import GitHubClient
from tests.exports.conftest import (
    WEBHOOK_SECRET,
    add_target,
    add_task,
    export_to,
    github_target,
    settled,
    task_status,
)
from tests.support.app import eventually, get_json
from tests.support.trackers import FakeGitHub


async def test_export_creates_one_issue_and_status_changes_follow_both_ways(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    target = await add_target(app, github_target(github))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])
    assert export["status"] == "pending" and export["target_name"] == "web repo"

    done = await settled(app, task["id"], export["id"])
    assert (
        done["external_id"] == "1" and done["url"] == f"https://github.example/{github.repository}/issues/1"
    )
    issue = github.issues[1]
    assert issue["title"] == "Checkout throws 500"
    assert issue["body"].startswith("Since the last deploy.\n\nEvery card payment fails.")
    assert f"<!-- tasktracker:task={task['id']}:export={export['id']} -->" in issue["body"]
    assert "https://tt.example.com/tasks/" in issue["body"]
    assert {label["name"] for label in issue["labels"]} == {"from-tracker", "payments"}
    assert issue["assignees"] == [{"login": "ann"}]

    # asking again answers the same export; nothing new is created
    again = await app.post(f"/api/tasks/{task['id']}/exports", json={"target_id": target["id"]})
    assert again.status_code == 200 and again.json()["id"] == export["id"]

    # closed here -> closed there, as completed
    assert (await app.patch(f"/api/tasks/{task['id']}", json={"status": "completed"})).status_code == 200
    await eventually(lambda: github.issues[1]["state"] == "closed")
    assert github.issues[1]["state_reason"] == "completed"

    # reopened there (GitHub's webhook, signed) -> reopened here, by the tracker
    github.set_state(1, "open")
    body, headers = github.webhook(WEBHOOK_SECRET, 1, "reopened")
    answer = await app.post("/webhook/github", content=body, headers=headers)
    assert answer.status_code == 202 and answer.json()["status"] == "queued", answer.text

    async def reopened() -> bool:
        return await task_status(app, task["id"]) == "open"

    await eventually(reopened)
    activity = (await get_json(app, f"/api/tasks/{task['id']}"))["activity"]
    assert activity[-1]["actor"] == "github:web repo" and activity[-1]["data"]["status"]["to"] == "open"
    assert len(github.issues) == 1
    # pushing a status never re-sent the issue; the sync-back read it once
    assert len(github.calls_to("POST", r"/issues$")) == 1


async def test_a_lost_response_never_makes_a_second_issue(app: httpx.AsyncClient, github: FakeGitHub) -> None:
    target = await add_target(app, github_target(github))
    task = await add_task(app)
    github.script("POST", r"/issues$", "lose")  # created, but the answer never arrives
    export = await export_to(app, task["id"], target["id"])

    done = await settled(app, task["id"], export["id"])
    assert len(github.issues) == 1 and done["external_id"] == "1"
    assert len(github.calls_to("POST", r"/issues$")) == 1  # the retry found the issue by its marker
    activity = (await get_json(app, f"/api/tasks/{task['id']}"))["activity"]
    exported = next(a for a in activity if a["kind"] == "exported")
    assert exported["data"]["found_existing"] is True


async def test_secondary_rate_limit_is_waited_out(app: httpx.AsyncClient, github: FakeGitHub) -> None:
    target = await add_target(app, github_target(github))
    task = await add_task(app)
    github.script("POST", r"/issues$", "secondary", retry_after=2)
    export = await export_to(app, task["id"], target["id"])

    waiting = await settled(app, task["id"], export["id"], ("retrying",))
    assert "secondary rate limit" in waiting["error"] and waiting["attempts"] == 1
    await settled(app, task["id"], export["id"])
    first, second = github.calls_to("POST", r"/issues$")
    assert first.answered == 403 and second.answered == 201
    assert second.at - first.at >= 2.0  # Retry-After honoured (not the 0.2 s backoff)
    assert len(github.issues) == 1


async def test_bad_credentials_fail_at_once_and_retry_works_once_fixed(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    target = await add_target(app, github_target(github, token="ghp_wrong"))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])

    failed = await settled(app, task["id"], export["id"], ("failed",))
    assert failed["error"].startswith("bad credentials: GitHub refused the credentials (401)")
    posts = len(github.calls)
    assert posts == 1  # one look-up, refused; nothing retried

    fixed = await app.patch(f"/api/export-targets/{target['id']}", json={"token": github.token})
    assert fixed.status_code == 200 and fixed.json()["has_token"] is True
    retried = await app.post(f"/api/tasks/{task['id']}/exports/{export['id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    done = await settled(app, task["id"], export["id"])
    assert done["error"] is None and done["attempts"] == 0 and len(github.issues) == 1


async def test_server_errors_are_retried_with_backoff_then_given_up(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    target = await add_target(app, github_target(github))
    task = await add_task(app)
    github.script("GET", r"/issues$", "server_error", times=100)
    export = await export_to(app, task["id"], target["id"])

    failed = await settled(app, task["id"], export["id"], ("failed",), timeout=20)
    assert failed["error"].startswith("gave up after 4 attempts: GitHub answered 502")
    calls = github.calls_to("GET", r"/issues$")
    assert len(calls) == 4  # export_max_attempts, then no more
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8  # exponential backoff from 0.2 s
    assert github.issues == {}


async def test_reconcile_catches_a_missed_webhook(export_settings, github: FakeGitHub) -> None:
    from tests.channels.conftest import running

    async with running(export_settings(export_reconcile_interval_s=1.0)) as app:
        target = await add_target(app, github_target(github))
        task = await add_task(app)
        export = await export_to(app, task["id"], target["id"])
        await settled(app, task["id"], export["id"])
        github.set_state(1, "closed", "not_planned")  # closed in GitHub; no webhook arrives

        async def closed() -> bool:
            return await task_status(app, task["id"]) == "closed"

        await eventually(closed, timeout=15)  # not planned -> closed (completed would be `completed`)


async def test_webhook_signatures_are_checked(app: httpx.AsyncClient, github: FakeGitHub) -> None:
    none_yet = await app.post("/webhook/github", content=b"{}", headers={"X-GitHub-Event": "ping"})
    assert none_yet.status_code == 404 and none_yet.json()["code"] == "sync_not_configured"

    target = await add_target(app, github_target(github))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])
    await settled(app, task["id"], export["id"])
    github.set_state(1, "closed")
    body, headers = github.webhook(WEBHOOK_SECRET, 1, "closed")

    forged = await app.post(
        "/webhook/github", content=body, headers={**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert forged.status_code == 401 and forged.json()["code"] == "bad_signature"
    unsigned = await app.post(
        "/webhook/github",
        content=body,
        headers={k: v for k, v in headers.items() if k != "X-Hub-Signature-256"},
    )
    assert unsigned.status_code == 401
    tampered = await app.post("/webhook/github", content=body.replace(b"closed", b"opened"), headers=headers)
    assert tampered.status_code == 401
    assert await task_status(app, task["id"]) == "open"  # none of them changed anything

    ping = await app.post("/webhook/github", content=body, headers={**headers, "X-GitHub-Event": "ping"})
    assert ping.status_code == 200 and ping.json()["status"] == "ignored"
    good = await app.post("/webhook/github", content=body, headers=headers)
    assert good.status_code == 202

    async def completed() -> bool:
        return await task_status(app, task["id"]) == "completed"

    await eventually(completed)


async def test_client_pages_through_issues_and_reads_the_primary_rate_limit(github: FakeGitHub) -> None:
    """The marker look-up follows `Link: rel="next"`; a used-up primary limit waits until the reset."""
    draft = Draft(task_id=7, export_id=9, title="t", description="d", category="bug", priority="low")
    github.add_issue("ours", f"text\n<!-- {draft.marker} -->")
    for n in range(150):  # newer issues push ours to the second page
        github.add_issue(f"other {n}")
    async with httpx.AsyncClient(timeout=5) as http:
        client = GitHubClient(http, token=github.token, repository=github.repository, api_url=github.base_url)
        found = await client.find(draft)
        assert found is not None and found.external_id == "1"
        assert len(github.calls_to("GET", r"/issues$")) == 2

        github.script("POST", r"/issues$", "primary", retry_after=30)
        try:
            await client.create(draft)
        except RateLimited as exc:
            assert exc.retry_after is not None and 29 <= exc.retry_after <= 31
        else:
            raise AssertionError("a used-up rate limit must not pass")


async def test_a_job_delivered_several_times_files_one_issue(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    """Deliveries of one job at once: one holds the row, the others find it taken; a delivery after
    the export only reads the issue."""
    import asyncio

    from tasktracker.exports import jobs

    runtime = app.app.state.runtime  # type: ignore[attr-defined]
    target = await add_target(app, github_target(github))
    task = await add_task(app)
    github.lose_for_s = 0.5
    github.script("POST", r"/issues$", "lose")  # a slow answer keeps the first run busy ...
    export = await export_to(app, task["id"], target["id"])
    outcomes = await asyncio.gather(*(jobs.push_export(runtime, export["id"]) for _ in range(4)))
    assert outcomes.count(None) >= 3  # ... while the other deliveries find the row held
    await settled(app, task["id"], export["id"])
    assert len(github.issues) == 1

    reads = len(github.calls_to("GET", r"/issues/1$"))
    again = await jobs.push_export(runtime, export["id"])
    assert again is not None and again.error is None and not again.created
    assert len(github.issues) == 1 and len(github.calls_to("GET", r"/issues/1$")) == reads + 1


async def test_odd_signed_bodies_are_answered_not_crashed_on(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    import hashlib
    import hmac
    import json

    await add_target(app, github_target(github))
    for payload in (
        {"issue": "x", "repository": 3},
        {"issue": {"number": "1"}, "repository": {"full_name": "acme/web"}},
        {},
    ):
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "X-GitHub-Event": "issues",
            "X-Hub-Signature-256": signature,
            "content-type": "application/json",
        }
        answer = await app.post("/webhook/github", content=body, headers=headers)
        assert answer.status_code == 200 and answer.json()["status"] == "ignored", answer.text
    not_json = b"[1, 2"
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), not_json, hashlib.sha256).hexdigest()
    answer = await app.post("/webhook/github", content=not_json, headers={"X-Hub-Signature-256": signature})
    assert answer.status_code == 400 and answer.json()["code"] == "malformed_json"
