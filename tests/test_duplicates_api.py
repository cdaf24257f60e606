"""Repeats through the REST API with the real built-in classifier: classifier, window and matcher together."""

from __future__ import annotations

import httpx
import pytest

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import eventually, get_json, serve

# (first message, repeat or not, is it the same request): a reworded repeat, a transliterated one, and a
# same-topic different request (another page).
CASES = [
    (
        "the export button on the reports page does nothing",
        "export button on reports page doesnt work pls",
        True,
    ),
    (
        "не работает экспорт в эксель на странице отчетов",
        "ne rabotaet eksport v eksel na stranitse otchetov",
        True,
    ),
    (
        "the export button on the reports page does nothing",
        "the export button on the tasks page does nothing",
        False,
    ),
]


@pytest.fixture
async def api(make_settings):
    app = create_app(make_settings(classifier="builtin"), role=Role.all, migrate=True)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=20) as client:
        yield client


async def _settled(client: httpx.AsyncClient, message_id: int) -> dict | None:
    message = await get_json(client, f"/api/messages/{message_id}")
    return message if message["status"] == "classified" else None


@pytest.mark.parametrize(("first", "second", "same"), CASES)
async def test_a_repeat_joins_the_open_task_and_another_request_does_not(api, first, second, same):
    channel = f"dup-{abs(hash((first, second)))}"
    ids = []
    for text in (first, second):
        posted = await api.post("/api/messages", json={"content": text, "channel": channel})
        assert posted.status_code == 202, posted.text
        ids.append(posted.json()["id"])
        await eventually(lambda message_id=ids[-1]: _settled(api, message_id), timeout=30)
    a, b = [await get_json(api, f"/api/messages/{i}") for i in ids]
    assert a["task_id"] is not None and b["task_id"] is not None  # both actionable
    assert (a["task_id"] == b["task_id"]) is same
