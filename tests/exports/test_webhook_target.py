"""Exports to a generic JSON webhook: signed, timestamped, with an idempotency key per event."""

from __future__ import annotations

import httpx

from tests.exports.conftest import add_target, add_task, export_to, settled
from tests.support.app import eventually
from tests.support.trackers import WebhookReceiver


def webhook_target(receiver: WebhookReceiver, secret: str | None = None) -> dict:
    return {
        "name": "ops hook",
        "kind": "webhook",
        "config": {"url": f"{receiver.base_url}/hooks/tasks"},
        "token": secret or receiver.secret,
    }


async def test_signed_deliveries_with_one_key_per_event(
    app: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    target = await add_target(app, webhook_target(receiver))
    task = await add_task(app)
    receiver.script("POST", r"/hooks/tasks$", "lose")  # received, answer lost: sent again with the same key
    export = await export_to(app, task["id"], target["id"])

    done = await settled(app, task["id"], export["id"])
    assert done["external_id"] == "T-1" and done["url"] == "https://hooks.example/tickets/T-1"
    # Two deliveries, or more when a retry's answer also outran the tests' 1 s timeout on a loaded
    # machine: every one of them the same export, under the same key, and the receiver made one ticket.
    sent = list(receiver.deliveries)
    first = sent[0]
    assert len(sent) >= 2 and all(d.signature_ok for d in sent)
    assert {d.key for d in sent} == {f"tasktracker-export-{export['id']}"}
    assert first.event == "task.exported" and first.body["task"]["title"] == "Checkout throws 500"
    assert len(receiver.seen) == 1

    assert (await app.patch(f"/api/tasks/{task['id']}", json={"status": "completed"})).status_code == 200
    await eventually(lambda: len(receiver.deliveries) == len(sent) + 1)
    change = receiver.deliveries[-1]
    assert change.event == "task.status_changed" and change.body["task"]["status"] == "completed"
    assert change.key != first.key


async def test_a_refused_signature_fails_the_export(
    app: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    target = await add_target(app, webhook_target(receiver, secret="not-the-receivers-secret"))
    task = await add_task(app)
    export = await export_to(app, task["id"], target["id"])
    failed = await settled(app, task["id"], export["id"], ("failed",))
    assert "refused the signature (403)" in failed["error"] and len(receiver.deliveries) == 1
