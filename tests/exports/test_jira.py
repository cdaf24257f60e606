"""Exports to Jira Cloud through the real client, against the Jira stand-in."""

from __future__ import annotations

import httpx

from tests.exports.conftest import (
    WEBHOOK_SECRET,
    add_target,
    add_task,
    export_to,
    jira_target,
    settled,
    task_status,
)
from tests.support.app import eventually
from tests.support.trackers import FakeJira


async def test_export_with_adf_description_and_transitions_both_ways(
    app: httpx.AsyncClient, jira: FakeJira
) -> None:
    target = await add_target(app, jira_target(jira))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])

    done = await settled(app, task["id"], export["id"])
    assert done["external_id"] == "10001" and done["url"] == f"{jira.base_url}/browse/OPS-1"
    issue = jira.issues["10001"]
    assert f"tasktracker-export-{export['id']}" in issue["fields"]["labels"]
    assert "payments" in issue["fields"]["labels"]
    description = issue["fields"]["description"]
    assert description["type"] == "doc" and description["version"] == 1
    texts = [node["content"][0]["text"] for node in description["content"] if node["type"] == "paragraph"]
    assert texts[:2] == ["Since the last deploy.", "Every card payment fails."]
    link = description["content"][-1]["content"][-1]
    assert link["marks"] == [
        {"type": "link", "attrs": {"href": f"https://tt.example.com/tasks/{task['id']}"}}
    ]

    assert (await app.patch(f"/api/tasks/{task['id']}", json={"status": "closed"})).status_code == 200
    await eventually(lambda: jira.issues["10001"]["fields"]["status"]["name"] == "Done")

    jira.move("10001", "3")  # someone starts it again in Jira: a status outside `done` is open
    body, headers = jira.webhook(WEBHOOK_SECRET, "10001")
    answer = await app.post("/webhook/jira", content=body, headers=headers)
    assert answer.status_code == 202, answer.text

    async def reopened() -> bool:
        return await task_status(app, task["id"]) == "open"

    await eventually(reopened)
    bad = await app.post("/webhook/jira", content=body, headers={**headers, "X-Hub-Signature": "sha256=00"})
    assert bad.status_code == 401


async def test_429_retry_after_and_a_lost_response_make_one_issue(
    app: httpx.AsyncClient, jira: FakeJira
) -> None:
    target = await add_target(app, jira_target(jira))
    task = await add_task(app)
    jira.script("POST", r"/search/jql$", "too_many", retry_after=1)
    jira.script("POST", r"/rest/api/3/issue$", "lose")
    export = await export_to(app, task["id"], target["id"])

    done = await settled(app, task["id"], export["id"], timeout=20)
    searches = jira.calls_to("POST", r"/search/jql$")
    assert searches[0].answered == 429 and searches[1].at - searches[0].at >= 1.0
    assert len(jira.calls_to("POST", r"/rest/api/3/issue$")) == 1  # the next look-up found it by its label
    assert len(jira.issues) == 1 and done["external_id"] == "10001"


async def test_bad_credentials_are_reported_not_retried(app: httpx.AsyncClient, jira: FakeJira) -> None:
    target = await add_target(app, jira_target(jira, token="expired"))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])
    failed = await settled(app, task["id"], export["id"], ("failed",))
    assert failed["error"].startswith("bad credentials: Jira refused the credentials (401)")
    assert len(jira.calls) == 1
