"""Dead letters: messages that failed every attempt are listed and can be retried."""

from __future__ import annotations

import httpx

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import ScriptedClassifier, eventually, serve


async def test_a_message_that_failed_every_attempt_is_listed_and_retried(make_settings) -> None:
    classifier = ScriptedClassifier()
    classifier.fail_next = 1000  # the model is broken until the test repairs it
    # Claims go stale at once and the sweep runs all the time, so a failing job is re-run at once
    # (a worker that died, many times over) until the message runs out of attempts.
    settings = make_settings(job_ack_wait_s=0.01, sweep_stuck_after_s=0.01, sweep_interval_s=0.05)
    app = create_app(settings, role=Role.all, migrate=True, classifier=classifier)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        await eventually(app.state.runtime.broker_connected, timeout=10)
        ok = await client.post("/api/messages", json={"content": "bug: fine one", "channel": "dl"})
        classifier.fail_next = 0
        await eventually(lambda: _status(client, ok.json()["id"], "classified"), timeout=10)
        classifier.fail_next = 1000
        posted = await client.post("/api/messages", json={"content": "bug: export crashes", "channel": "dl"})
        message_id = posted.json()["id"]

        await eventually(lambda: _status(client, message_id, "failed"), timeout=30, interval=0.05)
        attempts = len([c for c in classifier.calls if c == "bug: export crashes"])
        assert attempts == settings.job_max_deliver  # every attempt ran the model, then it gave up

        listed = (await client.get("/api/messages", params={"status": "failed"})).json()["data"]
        assert [m["id"] for m in listed] == [message_id]  # the classified one is not a dead letter

        for already in (ok.json()["id"],):
            refused = await client.post(f"/api/messages/{already}/retry")
            assert refused.status_code == 409 and refused.json()["code"] == "not_failed"
        assert (await client.post("/api/messages/999999/retry")).status_code == 404
        assert (await client.post("/api/messages/0/retry")).status_code == 422

        classifier.fail_next = 0  # repaired
        retried = await client.post(f"/api/messages/{message_id}/retry")
        assert retried.status_code == 202, retried.text
        assert retried.json()["status"] in ("received", "classifying", "classified")
        await eventually(lambda: _status(client, message_id, "classified"), timeout=15)
        detail = (await client.get(f"/api/messages/{message_id}")).json()
        assert len(detail["issues"]) == 1  # classified once, however often the sweep re-sent it
        assert (await client.get("/api/messages", params={"status": "failed"})).json()["data"] == []
        again = await client.post(f"/api/messages/{message_id}/retry")
        assert again.status_code == 409


async def _status(client: httpx.AsyncClient, message_id: int, wanted: str) -> bool:
    return (await client.get(f"/api/messages/{message_id}")).json()["status"] == wanted
