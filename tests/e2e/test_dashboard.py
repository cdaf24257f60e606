"""The dashboard in a real Chromium against the real API: live updates, drag and drop, review
corrections, filters in the URL and the connection indicator."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import TaskTrackerServer, wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "[data-testid=connection]"


def card(page: Any, task_id: int) -> Any:
    return page.locator(f'[data-testid=task-card][data-task-id="{task_id}"]')


def wait_live(page: Any, timeout: float = 15_000) -> None:
    page.wait_for_selector(f'{CONNECTION}[data-state="connected"]', timeout=timeout)


def create_task(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/tasks", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def test_posted_message_appears_on_the_board_without_reload(
    server: TaskTrackerServer, api: httpx.Client, open_page: Any
) -> None:
    page = open_page(server.url)
    page.goto("/board")
    wait_live(page)
    page.evaluate("window.__notReloaded = true")

    word = uuid.uuid4().hex[:8]
    response = api.post(
        "/api/messages",
        json={
            "content": f"Checkout crashes with error 500 on Safari {word}",
            "author": "maria",
            "channel": "api",
        },
    )
    assert response.status_code == 202, response.text
    message_id = response.json()["id"]
    task_id = wait_until(
        lambda: api.get(f"/api/messages/{message_id}").json().get("task_id"), what="the message's task"
    )

    open_column = page.get_by_test_id("column-open")
    open_column.locator(f'[data-task-id="{task_id}"]').wait_for()
    assert word in card(page, task_id).inner_text()
    assert page.evaluate("window.__notReloaded") is True
    assert page.js_errors == []


def test_dragging_a_card_to_completed_updates_the_task(
    server: TaskTrackerServer, api: httpx.Client, open_page: Any
) -> None:
    task = create_task(
        api, title=f"Rotate the signing keys {uuid.uuid4().hex[:6]}", category="task", priority="high"
    )
    page = open_page(server.url)
    page.goto("/board")
    wait_live(page)
    source = card(page, task["id"])
    source.wait_for()
    target = page.get_by_test_id("column-completed")

    start = source.bounding_box()
    end = target.bounding_box()
    assert start and end
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + start["width"] / 2 + 12, start["y"] + start["height"] / 2 + 12, steps=4)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + 120, steps=15)
    page.mouse.up()

    target.locator(f'[data-task-id="{task["id"]}"]').wait_for()
    wait_until(
        lambda: api.get(f"/api/tasks/{task['id']}").json()["status"] == "completed",
        what="the task to be completed in the API",
    )
    # and it stays there after a fresh load
    page.reload()
    page.get_by_test_id("column-completed").locator(f'[data-task-id="{task["id"]}"]').wait_for()


def test_review_queue_corrects_and_approves_a_classification(
    server: TaskTrackerServer, api: httpx.Client, open_page: Any
) -> None:
    word = uuid.uuid4().hex[:6]
    sent = api.post(
        "/api/messages",
        json={
            "content": f"Can someone check whether the export API rate limits us? {word}",
            "author": "ivan",
        },
    )
    message_id = sent.json()["id"]
    task_id = wait_until(lambda: api.get(f"/api/messages/{message_id}").json().get("task_id"), what="a task")
    # whatever the classifier's confidence, put it in the queue
    assert api.patch(f"/api/tasks/{task_id}", json={"needs_review": True}).status_code == 200

    def stored() -> dict[str, Any]:
        return api.get(f"/api/tasks/{task_id}").json()

    before = stored()
    priority_key, new_priority = ("2", "high") if before["priority"] != "high" else ("4", "low")
    category_key, new_category = ("f", "feature") if before["category"] != "feature" else ("b", "bug")

    page = open_page(server.url)
    page.goto("/review")
    wait_live(page)
    item = page.locator(f'[data-testid=review-item][data-review-id="{task_id}"]')
    item.click()
    page.wait_for_selector(f'[data-testid=review-detail][data-task-id="{task_id}"]')

    with page.expect_request(
        lambda r: r.method == "PATCH" and r.url.endswith(f"/api/tasks/{task_id}")
    ) as patched:
        page.keyboard.press(priority_key)
    assert patched.value.post_data_json == {"priority": new_priority}
    # a correction counts as the review on the server; the task stays selected for the next key
    with page.expect_request(lambda r: r.method == "PATCH") as patched:
        page.keyboard.press(category_key)
    assert patched.value.post_data_json == {"category": new_category}
    page.wait_for_selector(f'[data-testid="set-category-{new_category}"][aria-pressed="true"]')
    page.wait_for_selector(f'[data-testid="set-priority-{new_priority}"][aria-pressed="true"]')

    wait_until(
        lambda: (stored()["category"], stored()["priority"]) == (new_category, new_priority),
        what="the correction",
    )
    corrections = [
        entry["data"]
        for entry in stored()["activity"]
        if entry["kind"] == "updated" and "category" in entry["data"]
    ]
    assert corrections and corrections[-1]["category"] == {"from": before["category"], "to": new_category}

    page.keyboard.press("a")
    item.wait_for(state="detached")
    wait_until(lambda: stored()["needs_review"] is False, what="the approval")


def test_filters_live_in_the_url_and_survive_a_reload(
    server: TaskTrackerServer, api: httpx.Client, open_page: Any
) -> None:
    word = f"zebra{uuid.uuid4().hex[:5]}"
    wanted = create_task(api, title=f"{word} crossing lights broken", category="bug", priority="urgent")
    other = create_task(api, title=f"{word} theme request", category="feature", priority="low")

    page = open_page(server.url)
    page.goto("/board")
    wait_live(page)
    page.get_by_role("button", name="Category").click()
    page.get_by_role("group", name="Category").get_by_label("Bug").check()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Priority").click()
    page.get_by_role("group", name="Priority").get_by_label("Urgent").check()
    page.keyboard.press("Escape")
    page.get_by_role("searchbox", name="Search").fill(word)
    page.wait_for_url(re.compile(rf"q={word}"))
    expected = f"/board?category=bug&priority=urgent&q={word}"
    assert page.url.endswith(expected)
    card(page, wanted["id"]).wait_for()
    assert card(page, other["id"]).count() == 0

    page.reload()
    assert page.url.endswith(expected)
    card(page, wanted["id"]).wait_for()
    assert card(page, other["id"]).count() == 0
    assert page.get_by_role("searchbox", name="Search").input_value() == word
    assert "Bug" in page.get_by_role("button", name="Category").inner_text()
    assert "Urgent" in page.get_by_role("button", name="Priority").inner_text()

    page.get_by_role("button", name=re.compile(r"Clear \(3\)")).click()
    page.wait_for_url(re.compile(r"/board$"))
    card(page, other["id"]).wait_for()


def test_connection_indicator_follows_a_server_restart(own_server: TaskTrackerServer, open_page: Any) -> None:
    page = open_page(own_server.url)
    page.goto("/board")
    wait_live(page)
    indicator = page.locator(CONNECTION)
    assert indicator.get_by_role("status").inner_text() == "Live"

    own_server.stop()
    page.wait_for_selector(
        f'{CONNECTION}:is([data-state="reconnecting"], [data-state="offline"])', timeout=10_000
    )
    assert indicator.get_by_role("status").inner_text() in ("Reconnecting…", "Offline")

    own_server.start()  # same port, same data directory
    wait_live(page, timeout=30_000)
    assert indicator.get_by_role("status").inner_text() == "Live"

    # events flow again on the new connection
    with httpx.Client(base_url=own_server.url, timeout=10) as api:
        task = create_task(api, title="Created after the restart")
    card(page, task["id"]).wait_for()
