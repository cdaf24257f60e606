"""The exports API: targets (secrets write-only, encrypted at rest, rotated), routing rules, manual
exports, and the refusals, each a 4xx with the one error shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import sqlalchemy as sa

from tasktracker.crypto import SecretBox
from tasktracker.db import create_engine
from tests.channels.conftest import running
from tests.exports.conftest import WEBHOOK_SECRET, add_target, add_task, export_to, github_target, settled
from tests.support.app import eventually, get_json
from tests.support.trackers import FakeGitHub

OLD_KEY = "the-old-secret-key-for-tests-0001"
NEW_KEY = "the-new-secret-key-for-tests-0002"
TASKTRACKER = str(Path(sys.executable).with_name("tasktracker"))


async def _stored(settings, column: str) -> str:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(f"SELECT {column} FROM export_targets"))).scalar_one()
    finally:
        await engine.dispose()


async def test_target_secrets_are_write_only_encrypted_and_rotated(
    export_settings, github: FakeGitHub, database_url: str, tmp_path: Path
) -> None:
    settings = export_settings(secret_key=OLD_KEY)
    async with running(settings) as app:
        created = await add_target(app, github_target(github))
        assert created["has_token"] and created["has_webhook_secret"]
        assert created["webhook_path"] == "/webhook/github"
        for text in (str(created), (await app.get("/api/export-targets")).text):
            assert github.token not in text and WEBHOOK_SECRET not in text
    token, hook = await _stored(settings, "secret"), await _stored(settings, "webhook_secret")
    assert token.startswith("enc:") and SecretBox([OLD_KEY]).open(token) == github.token
    assert SecretBox([OLD_KEY]).open(hook) == WEBHOOK_SECRET

    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TASKTRACKER_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "TASKTRACKER_SECRET_KEY": NEW_KEY,
        "TASKTRACKER_PREVIOUS_SECRET_KEYS": OLD_KEY,
    }
    rotated = subprocess.run([TASKTRACKER, "secrets", "rotate"], env=env, capture_output=True, text=True)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 stored secret(s)" in rotated.stdout
    assert SecretBox([NEW_KEY]).open(await _stored(settings, "secret")) == github.token
    assert SecretBox([NEW_KEY]).open(await _stored(settings, "webhook_secret")) == WEBHOOK_SECRET

    async with running(export_settings(secret_key=NEW_KEY)) as app:  # the old key is gone: exports still work
        task = await add_task(app)
        export = await export_to(app, task["id"], created["id"])
        await settled(app, task["id"], export["id"])


async def test_bad_input_is_refused_with_the_error_shape(app: httpx.AsyncClient, github: FakeGitHub) -> None:
    cases = [
        ({"name": "x", "kind": "gitlab", "config": {}, "token": "t"}, 422),
        ({"name": "x", "kind": "github", "config": {"repository": "no-slash"}, "token": "t"}, 422),
        (
            {
                "name": "x",
                "kind": "github",
                "config": {"repository": "a/b", "api_url": "ftp://x"},
                "token": "t",
            },
            422,
        ),
        ({"name": "x", "kind": "github", "config": {"repository": "a/b", "extra": 1}, "token": "t"}, 422),
        (
            {
                "name": "x",
                "kind": "jira",
                "config": {"base_url": "https://a.atlassian.net", "email": "e@x", "project_key": "lower"},
                "token": "t",
            },
            422,
        ),
        ({"name": "x", "kind": "linear", "config": {}, "token": "t"}, 422),
        ({"name": "x", "kind": "webhook", "config": {"url": "https://h.example/x"}}, 422),  # no token
        ({"name": "x", "kind": "webhook", "config": {"url": "https://h.example/x"}, "token": ""}, 422),
    ]
    for body, status in cases:
        response = await app.post("/api/export-targets", json=body)
        assert response.status_code == status, (body, response.text)
        assert {"detail", "code"} <= response.json().keys()
    assert await get_json(app, "/api/export-targets") == []

    target = await add_target(app, github_target(github))
    taken = await app.post("/api/export-targets", json=github_target(github))
    assert taken.status_code == 409 and taken.json()["code"] == "export_target_name_taken"
    task = await add_task(app)
    assert (await app.post(f"/api/tasks/{task['id']}/exports", json={"target_id": 999})).json()[
        "code"
    ] == "unknown_export_target"
    assert (await app.post("/api/tasks/999/exports", json={"target_id": target["id"]})).status_code == 404
    assert (await app.post(f"/api/tasks/{task['id']}/exports", json={"target_id": -1})).status_code == 422
    assert (await app.post(f"/api/tasks/{task['id']}/exports/999/retry")).json()["code"] == "unknown_export"
    assert (await app.post("/api/export-rules", json={"target_id": 999})).json()[
        "code"
    ] == "unknown_export_target"
    assert (
        await app.post("/api/export-rules", json={"target_id": target["id"], "channel_id": 999})
    ).status_code == 404
    assert (
        await app.post("/api/export-rules", json={"target_id": target["id"], "category": "nope"})
    ).status_code == 422

    disabled = await app.patch(f"/api/export-targets/{target['id']}", json={"enabled": False})
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    refused = await app.post(f"/api/tasks/{task['id']}/exports", json={"target_id": target["id"]})
    assert refused.status_code == 409 and refused.json()["code"] == "export_target_disabled"
    assert await get_json(app, "/api/export-targets/choices") == []


async def test_rules_route_new_tasks_and_targets_with_exports_stay(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    target = await add_target(app, github_target(github))
    rule = await app.post(
        "/api/export-rules", json={"target_id": target["id"], "category": "bug", "priority": "urgent"}
    )
    assert rule.status_code == 201, rule.text
    assert await get_json(app, "/api/export-targets/choices") == [
        {"id": target["id"], "name": "web repo", "kind": "github"}
    ]

    routed = await add_task(app, priority="urgent")
    not_routed = await add_task(app, title="Polish the footer", category="feature", priority="urgent")
    exports = await eventually(lambda: get_json(app, f"/api/tasks/{routed['id']}/exports"))
    await settled(app, routed["id"], exports[0]["id"])
    assert list(github.issues) == [1] and github.issues[1]["title"] == "Checkout throws 500"
    assert await get_json(app, f"/api/tasks/{not_routed['id']}/exports") == []
    detail = await get_json(app, f"/api/tasks/{routed['id']}")
    assert detail["exports"][0]["target_name"] == "web repo" and detail["exports"][0]["status"] == "exported"

    patched = await app.patch(f"/api/export-rules/{rule.json()['id']}", json={"priority": None})
    assert patched.status_code == 200 and patched.json()["priority"] is None
    assert len(await get_json(app, "/api/export-rules")) == 1

    kept = await app.delete(f"/api/export-targets/{target['id']}")
    assert kept.status_code == 409 and kept.json()["code"] == "export_target_has_exports"
    assert (await app.delete(f"/api/export-rules/{rule.json()['id']}")).status_code == 204
    spare = await add_target(app, github_target(github, name="spare"))
    assert (await app.delete(f"/api/export-targets/{spare['id']}")).status_code == 204


async def test_tasks_made_from_messages_follow_the_channel_rule(
    app: httpx.AsyncClient, github: FakeGitHub
) -> None:
    channel = await app.post("/api/channels", json={"kind": "api", "name": "support"})
    assert channel.status_code == 201, channel.text
    target = await add_target(app, github_target(github))
    rule = await app.post(
        "/api/export-rules", json={"target_id": target["id"], "channel_id": channel.json()["id"]}
    )
    assert rule.status_code == 201
    for text, where in (
        ("bug: the export button is grey", "support"),
        ("bug: the logo is blurry", "elsewhere"),
    ):
        sent = await app.post("/api/messages", json={"content": text, "author": "ann", "channel": where})
        assert sent.status_code in (201, 202), sent.text

    await eventually(lambda: len(github.issues) == 1)
    assert github.issues[1]["title"] == "bug: the export button is grey"


async def test_who_may_do_what(export_settings, github: FakeGitHub) -> None:
    """Admins manage targets and rules; an editor exports, retries and picks from the names; a viewer
    reads a task's exports; the exports name the editor's choice, never the token."""
    from tests.support.accounts import bearer, tokens_by_role

    async with running(export_settings(auth="on")) as app:
        tokens = await tokens_by_role(app.app.state.runtime)  # type: ignore[attr-defined]
        admin, editor, viewer = (bearer(tokens[role]) for role in ("admin", "editor", "viewer"))
        body = github_target(github)
        assert (await app.post("/api/export-targets", json=body, headers=editor)).status_code == 403
        target = (await app.post("/api/export-targets", json=body, headers=admin)).json()
        assert (await app.get("/api/export-targets", headers=editor)).status_code == 403
        assert (
            await app.post("/api/export-rules", json={"target_id": target["id"]}, headers=editor)
        ).status_code == 403
        choices = await app.get("/api/export-targets/choices", headers=viewer)
        assert choices.status_code == 200 and choices.json()[0]["name"] == "web repo"

        task = (
            await app.post(
                "/api/tasks", json={"title": "t", "category": "bug", "priority": "low"}, headers=editor
            )
        ).json()
        url = f"/api/tasks/{task['id']}/exports"
        assert (await app.post(url, json={"target_id": target["id"]}, headers=viewer)).status_code == 403
        export = await app.post(url, json={"target_id": target["id"]}, headers=editor)
        assert export.status_code == 202
        listed = await app.get(url, headers=viewer)
        assert listed.status_code == 200 and listed.json()[0]["id"] == export.json()["id"]
        assert (await app.post(f"{url}/{export.json()['id']}/retry", headers=viewer)).status_code == 403
        assert (await app.get(url)).status_code == 401
