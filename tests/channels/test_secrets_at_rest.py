"""Channel secrets are encrypted at rest, write-only in the API, never logged, and survive a key rotation."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tasktracker.channels.signing import generic_signature
from tasktracker.crypto import SecretBox
from tasktracker.db import create_engine
from tasktracker.migrations import downgrade, upgrade
from tests.channels.conftest import running

SECRET = "webhook-secret-0123456789abcdef"
OLD_KEY = "the-old-secret-key-for-tests-0001"
NEW_KEY = "the-new-secret-key-for-tests-0002"
TASKTRACKER = str(Path(sys.executable).with_name("tasktracker"))


def _signed(text: str, secret: str = SECRET) -> dict:
    raw = json.dumps({"content": text, "id": text}).encode()
    return {
        "content": raw,
        "headers": {"content-type": "application/json", "X-Signature-256": generic_signature(secret, raw)},
    }


async def _stored_secret(settings) -> str:
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            return (
                await conn.execute(sa.text("SELECT secret FROM channels WHERE name = 'forms'"))
            ).scalar_one()
    finally:
        await engine.dispose()


async def test_secret_is_stored_encrypted_is_never_shown_nor_logged(make_settings, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(secret_key=OLD_KEY)
    async with running(settings) as client:
        created = await client.post(
            "/api/channels", json={"kind": "webhook", "name": "forms", "secret": SECRET}
        )
        assert created.status_code == 201
        channel_id = created.json()["id"]
        assert created.json()["has_secret"] is True and SECRET not in created.text
        assert SECRET not in (await client.get(f"/api/channels/{channel_id}")).text
        assert SECRET not in (await client.get("/api/channels")).text
        accepted = await client.post("/webhook/generic/forms", **_signed("bug: form 1"))
        assert accepted.status_code == 202, accepted.text
        forged = await client.post("/webhook/generic/forms", **_signed("bug: form 2", secret="x" * 20))
        assert forged.status_code == 401

        stored = await _stored_secret(settings)
        assert stored.startswith("enc:") and SECRET not in stored
        assert SecretBox([OLD_KEY]).open(stored) == SECRET

        rotated = "a-brand-new-webhook-secret-42"
        patched = await client.patch(f"/api/channels/{channel_id}", json={"secret": rotated})
        assert patched.status_code == 200 and rotated not in patched.text
        assert SecretBox([OLD_KEY]).open(await _stored_secret(settings)) == rotated
        assert (
            await client.post("/webhook/generic/forms", **_signed("bug: form 3", rotated))
        ).status_code == 202
    assert SECRET not in caplog.text and rotated not in caplog.text


async def test_key_rotation_keeps_every_channel_working(make_settings, database_url, tmp_path) -> None:
    old = make_settings(secret_key=OLD_KEY)
    async with running(old) as client:
        created = await client.post(
            "/api/channels", json={"kind": "webhook", "name": "forms", "secret": SECRET}
        )
        assert created.status_code == 201

    # A new key alone cannot read what the old one sealed: the webhook says so, without a traceback.
    async with running(make_settings(secret_key=NEW_KEY)) as client:
        unreadable = await client.post("/webhook/generic/forms", **_signed("bug: a"))
        assert unreadable.status_code == 503 and unreadable.json()["code"] == "secret_unreadable"

    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TASKTRACKER_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "TASKTRACKER_SECRET_KEY": NEW_KEY,
    }
    refused = subprocess.run([TASKTRACKER, "secrets", "rotate"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "nothing changed" in refused.stderr
    assert SecretBox([OLD_KEY]).open(await _stored_secret(old)) == SECRET  # untouched

    # The documented rotation: new key, the old one among the previous keys, then `secrets rotate`.
    during = make_settings(secret_key=NEW_KEY, previous_secret_keys=OLD_KEY)
    async with running(during) as client:
        assert (await client.post("/webhook/generic/forms", **_signed("bug: b"))).status_code == 202
    rotated = subprocess.run(
        [TASKTRACKER, "secrets", "rotate"],
        env=env | {"TASKTRACKER_PREVIOUS_SECRET_KEYS": OLD_KEY},
        capture_output=True,
        text=True,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "1 stored secret(s)" in rotated.stdout
    assert SECRET not in rotated.stdout + rotated.stderr
    async with running(make_settings(secret_key=NEW_KEY)) as client:  # the old key is gone now
        assert (await client.post("/webhook/generic/forms", **_signed("bug: c"))).status_code == 202
    assert SecretBox([NEW_KEY]).open(await _stored_secret(old)) == SECRET


@pytest.mark.empty_database
async def test_migration_encrypts_existing_plain_text_secrets_and_downgrade_restores_them(
    make_settings,
) -> None:
    settings = make_settings(secret_key=OLD_KEY)
    engine = create_engine(settings)
    try:
        await upgrade(engine, "0002", settings=settings)
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO channels (kind, name, enabled, secret, settings, created_at) "
                    "VALUES ('webhook', 'forms', :t, :secret, '{}', CURRENT_TIMESTAMP)"
                ),
                {"t": True, "secret": SECRET},
            )
        await upgrade(engine, settings=settings)
        stored = await _stored_secret(settings)
        assert stored.startswith("enc:") and SecretBox([OLD_KEY]).open(stored) == SECRET
        await downgrade(engine, "0002", settings=settings)
        assert await _stored_secret(settings) == SECRET
    finally:
        await engine.dispose()
