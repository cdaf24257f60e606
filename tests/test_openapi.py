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
