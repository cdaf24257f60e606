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
