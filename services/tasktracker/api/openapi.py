"""The OpenAPI document, with the `/ws` event payloads as schema-only components.

OpenAPI has no words for WebSocket messages, so `LiveEvent` (a `oneOf` over the event types,
discriminated by `type`) and its members are added under `components.schemas`: the dashboard's
client generator then types `src/live/events.ts` from the same document as the REST client.
Schemas the routes already define (`MessagePublic`, `TaskPublic`, ...) are referred to, not redefined.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

from tasktracker.events.schemas import LiveEvent

REF_TEMPLATE = "#/components/schemas/{model}"


def event_schemas() -> dict[str, Any]:
    """`LiveEvent` and the models it is made of, as OpenAPI components."""
    schema = TypeAdapter(LiveEvent).json_schema(ref_template=REF_TEMPLATE, mode="serialization")
    components: dict[str, Any] = schema.pop("$defs")
    components["LiveEvent"] = {"title": "LiveEvent", **schema}
    return components


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)  # the routes' document, cached on the app
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in event_schemas().items():
                schemas.setdefault(name, schema)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
