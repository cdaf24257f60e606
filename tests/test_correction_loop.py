"""The correction loop end to end with the real built-in model: a person's fix retrains the classifier."""

from __future__ import annotations

import httpx

from tasktracker.api.app import create_app
from tasktracker.runtime import Role
from tests.support.app import WorkerProcess, eventually, get_json, serve

TEXT = "the staging certificate expires on friday, someone renew it please"


async def test_category_correction_retrains_builtin_model(make_settings) -> None:
    app = create_app(make_settings(classifier="builtin", retrain_every=1), role=Role.all, migrate=True)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        before = (await client.post("/api/classify", json={"content": TEXT})).json()
        assert before["model"].startswith("builtin-")
        wrong = "feature" if before["category"] != "feature" else "question"

        r = await client.post("/api/messages", json={"content": TEXT, "external_id": "c1"})
        message_id = r.json()["id"]

        async def task_id() -> int | None:
            return (await get_json(client, f"/api/messages/{message_id}"))["task_id"]

        tid = await eventually(task_id, timeout=20)
        patched = await client.patch(f"/api/tasks/{tid}", json={"category": wrong, "priority": "urgent"})
        assert patched.status_code == 200

        async def retrained() -> dict | None:
            result = (await client.post("/api/classify", json={"content": TEXT})).json()
            return result if result["model"] != before["model"] else None

        after = await eventually(retrained, timeout=30, interval=0.3)
        assert after["category"] == wrong and after["priority"] == "urgent"
        other = (
            await client.post("/api/classify", json={"content": "prod database is down, all requests fail"})
        ).json()
        assert other["category"] == "bug"  # one correction does not wreck everything else


async def test_worker_picks_up_corrections_made_elsewhere(make_settings) -> None:
    """In the split topology the API stores corrections; a worker retrains on its next sweep."""
    import asyncio

    from tasktracker.db import create_engine, create_sessionmaker
    from tasktracker.migrations import upgrade
    from tasktracker.models import Correction

    settings = make_settings(classifier="builtin", retrain_every=1, sweep_interval_s=0.2)
    engine = create_engine(settings)
    await upgrade(engine)
    worker = WorkerProcess(settings)
    await worker.start()
    try:
        await asyncio.wait_for(worker.broker_ready.wait(), 10)
        before = await worker.classifier.classify(TEXT)
        wrong = "feature" if before.category != "feature" else "question"
        async with create_sessionmaker(engine)() as session:  # what the API's PATCH stores
            session.add(Correction(text=TEXT, category=wrong, priority="urgent", actionable=True))
            await session.commit()

        async def retrained() -> bool:
            return (await worker.classifier.classify(TEXT)).category == wrong

        await eventually(retrained, timeout=30, interval=0.3)
    finally:
        await worker.stop()
        await engine.dispose()
