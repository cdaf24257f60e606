"""A server process moves what start-up made out of the garbage collector's reach (`freeze_heap`):
a full collection walked ~220,000 start-up objects each time, a pause in the middle of requests. The
collector, paused while start-up makes them, is on again once the server has started."""

from __future__ import annotations

import gc

import httpx
import pytest

from tasktracker.api.app import create_app
from tasktracker.runtime import YOUNG_COLLECTION_THRESHOLD, Role
from tests.support.app import ScriptedClassifier, serve


async def test_a_server_freezes_its_start_up_heap_and_an_app_made_by_a_test_does_not(
    make_settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the same on every database: one is enough")
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        for freeze, frozen in ((False, False), (True, True)):
            if freeze:
                gc.disable()  # as `tasktracker run`/`api` do for start-up (cli.py, `_serve`)
            app = create_app(
                make_settings(),
                role=Role.all,
                classifier=ScriptedClassifier(),
                migrate=True,
                freeze_heap=freeze,
            )
            async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
                assert (await client.get("/api/health")).status_code == 200
                assert (gc.get_freeze_count() > 0) is frozen
                assert (gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD) is frozen
                assert gc.isenabled()  # a server collects again once started
    finally:
        gc.enable()
        gc.unfreeze()  # the rest of the test session collects as before
        gc.set_threshold(*thresholds)
