"""The dashboard's typed client is generated from a committed openapi.json: it must match the API."""

from __future__ import annotations

import json
from pathlib import Path

from tasktracker.api.app import create_app
from tasktracker.config import load_settings

COMMITTED = Path(__file__).resolve().parents[1] / "services" / "dashboard" / "openapi.json"


def test_committed_openapi_document_is_current(tmp_path: Path) -> None:
    current = create_app(load_settings(data_dir=tmp_path)).openapi()
    committed = json.loads(COMMITTED.read_text())
    assert committed == json.loads(json.dumps(current)), (
        "services/dashboard/openapi.json is stale: run `make openapi` and commit the result"
    )


def test_every_event_the_server_builds_matches_its_published_schema(tmp_path: Path) -> None:
    """The `/ws` payloads the dashboard's types come from: every event type is in `LiveEvent`, and
    what the builders make validates against it (so the generated types are not a guess)."""
    from datetime import UTC, datetime

    from pydantic import TypeAdapter

    from tasktracker.channels.schemas import ChannelRef
    from tasktracker.events import schemas as events
    from tasktracker.messages.schemas import MessagePublic
    from tasktracker.tasks.schemas import TaskPublic

    document = create_app(load_settings(data_dir=tmp_path)).openapi()
    live = document["components"]["schemas"]["LiveEvent"]
    assert (
        set(live["discriminator"]["mapping"]) == {t.value for t in events.EventType} - events.INTERNAL_EVENTS
    )

    now = datetime.now(UTC)
    channel = ChannelRef(id=1, kind="api", name="team")
    message = MessagePublic(
        id=1,
        channel=channel,
        external_id="m1",
        author=None,
        content="bug: x",
        sent_at=now,
        received_at=now,
        status="received",
        task_id=None,
    )
    task = TaskPublic(
        id=2,
        title="x",
        description="bug: x",
        category="bug",
        priority="high",
        status="open",
        assignee=None,
        labels=[],
        needs_review=False,
        confidence=0.9,
        source_message_id=1,
        channel=channel,
        message_count=1,
        created_at=now,
        updated_at=now,
    )
    built = [
        events.hello("1.0"),
        events.heartbeat(),
        events.message_received(message),
        events.message_classified(message),
        events.task_created(task),
        events.task_updated(task),
        events.task_deleted(2),
    ]
    adapter = TypeAdapter(events.LiveEvent)
    for event in built:
        parsed = adapter.validate_json(event.model_dump_json())
        assert parsed.type == event.type.value
    assert {e.type for e in built} == set(events.EventType) - events.INTERNAL_EVENTS


def test_every_error_status_is_declared_with_the_one_error_shape(tmp_path: Path) -> None:
    document = create_app(load_settings(data_dir=tmp_path)).openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    detail = document["components"]["schemas"]["Error"]["properties"]["detail"]
    assert {"type": "string"} in detail["anyOf"]  # application errors carry a sentence, not a list
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "422" in statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, (method, path)
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
