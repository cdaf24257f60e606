"""Every screen in a real Chromium, light and dark (and once in Ukrainian): no serious or critical
axe-core violations, and a screenshot of each in docs/screenshots/. The module has its own
server, so the pictures show only the seeded, realistic data."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SCREENSHOTS, TaskTrackerServer, wait_until

pytestmark = pytest.mark.e2e

CONNECTION = "[data-testid=connection]"


def wait_live(page: Any, timeout: float = 15_000) -> None:
    page.wait_for_selector(f'{CONNECTION}[data-state="connected"]', timeout=timeout)


SEED_MESSAGES = [
    ("maria", "support", "Checkout page throws a 500 error when paying with Apple Pay"),
    ("oleh", "telegram", "URGENT: production database is down, customers cannot log in"),
    ("sam", "api", "Could we get a dark mode for the dashboard?"),
    ("dana", "support", "How do I export my tasks to Jira?"),
    ("oleh", "telegram", "Please renew the TLS certificate on staging before Friday"),
    ("maria", "api", "The Android app freezes when opening settings on Android 14"),
    ("sam", "support", "It would be great to have keyboard shortcuts for triage"),
    ("dana", "telegram", "lol that meme in #random is great"),
    ("maria", "api", "Can someone review the billing refactor PR today?"),
    ("oleh", "support", "Search results are empty when the query contains an apostrophe"),
]


@pytest.fixture(scope="module")
def seeded(server: TaskTrackerServer) -> dict[str, Any]:
    """Realistic content for the screenshots: classified messages and tasks in every column."""
    with httpx.Client(base_url=server.url, timeout=10) as api:
        ids = []
        for author, channel, text in SEED_MESSAGES:
            body = {"content": text, "author": author, "channel": channel}
            ids.append(api.post("/api/messages", json=body).json()["id"])

        def classified() -> list[dict[str, Any]] | None:
            rows = [api.get(f"/api/messages/{i}").json() for i in ids]
            return rows if all(row["status"] in ("classified", "failed") for row in rows) else None

        messages = wait_until(classified, what="the seed messages to be classified")
        task_ids = [m["task_id"] for m in messages if m["task_id"]]
        assert len(task_ids) >= 6, messages
        api.patch(
            f"/api/tasks/{task_ids[1]}",
            json={"status": "in_progress", "assignee": "oleh", "labels": ["incident"]},
        )
        api.patch(f"/api/tasks/{task_ids[0]}", json={"status": "in_progress", "assignee": "maria"})
        api.patch(f"/api/tasks/{task_ids[4]}", json={"status": "completed", "assignee": "dana"})
        api.patch(f"/api/tasks/{task_ids[2]}", json={"assignee": "sam", "labels": ["ui"]})
        needs_review = api.get("/api/tasks", params={"needs_review": "true"}).json()["data"]
        if not needs_review:
            api.patch(f"/api/tasks/{task_ids[3]}", json={"needs_review": True})
        return {"task_id": task_ids[0]}


SCREENS = [
    ("board", "/board", "[data-testid=task-card]"),
    ("board-table", "/board?view=table", "[data-testid=task-table]"),
    ("inbox", "/inbox", "[data-testid=message]"),
    ("review", "/review", "[data-testid=review-detail]"),
    ("task", "/tasks/{task_id}", "#sec-activity"),
    ("stats", "/stats", ".kpi"),
]

AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_screen_is_accessible_and_photographed(
    server: TaskTrackerServer, seeded: dict[str, Any], axe_source: str, open_page: Any, theme: str
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(server.url, color_scheme=theme)
    found: dict[str, list[dict[str, Any]]] = {}
    for name, path, ready in SCREENS:
        page.goto(path.format(**seeded))
        page.wait_for_selector(ready)
        wait_live(page)
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        page.wait_for_timeout(300)  # let late rows settle before the picture
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{theme}.png"))
        page.evaluate(axe_source)  # CDP evaluation: the dashboard's CSP refuses inline script tags
        found[name] = serious(page.evaluate(AXE_RUN))

    # the shortcut overlay, over the review queue
    page.goto("/review")
    page.wait_for_selector("[data-testid=review-detail]")
    page.keyboard.press("?")
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    page.screenshot(path=str(SCREENSHOTS / f"shortcuts-{theme}.png"))
    page.evaluate(axe_source)  # CDP evaluation: the dashboard's CSP refuses inline script tags
    found["shortcuts"] = serious(page.evaluate(AXE_RUN))

    failing = {name: v for name, v in found.items() if v}
    assert not failing, json.dumps(failing, indent=1, ensure_ascii=False)
    assert page.js_errors == []


def test_ukrainian_dashboard(
    server: TaskTrackerServer, seeded: dict[str, Any], axe_source: str, open_page: Any
) -> None:
    page = open_page(server.url, locale="uk-UA")
    page.goto("/board")
    page.wait_for_selector("[data-testid=task-card]")
    wait_live(page)
    assert page.evaluate("document.documentElement.lang") == "uk"
    assert page.get_by_role("heading", name="Дошка", level=1).is_visible()
    assert page.locator(CONNECTION).get_by_role("status").inner_text() == "Наживо"
    page.screenshot(path=str(SCREENSHOTS / "board-uk-light.png"))
    page.evaluate(axe_source)  # CDP evaluation: the dashboard's CSP refuses inline script tags
    violations = serious(page.evaluate(AXE_RUN))
    assert not violations, json.dumps(violations, indent=1, ensure_ascii=False)

    # the choice is remembered over the browser's language
    page.get_by_test_id("lang-toggle").click()  # Ukrainian -> Russian (en -> uk -> ru -> en)
    page.get_by_role("heading", name="Доска", level=1).wait_for()
    assert page.evaluate("document.documentElement.lang") == "ru"
    page.reload()
    page.get_by_role("heading", name="Доска", level=1).wait_for()
    page.get_by_test_id("lang-toggle").click()
    page.get_by_role("heading", name="Board", level=1).wait_for()
