"""The OpenAPI document, true to what the API answers.

FastAPI documents a 422 of its own shape (`detail` always a list) and none of the errors the
application raises. Here every error is one schema, `Error` (`detail` a message or the list of
validation issues, and a `code`), and every operation declares the statuses it can answer:

* 422 everywhere (a NUL in any query parameter is refused, besides validation),
* 400, 413 where there is a body (not JSON / not UTF-8; over the size limit),
* 404 where there is a path parameter, 409 where the endpoint says so,
* 429 where a rate limit applies (the endpoint says so), with its `Retry-After` header.

OpenAPI has no words for WebSocket messages, so the `/ws` payloads are added as schema-only
components: `LiveEvent` (a `oneOf` over the event types, discriminated by `type`) and its members.
The dashboard's client generator then types `src/live/events.ts` from the same document as the REST
client. Schemas the routes already define (`MessagePublic`, `TaskPublic`, ...) are referred to, not
redefined.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field, TypeAdapter

from tasktracker.api.access import SESSION_COOKIE, rule_of
from tasktracker.events.schemas import LiveEvent
from tasktracker.models.user import Role


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="Where: `body`, `query` or `path`, then the field.")
    msg: str
    type: str


class Error(BaseModel):
    """Every error the API answers: `{"detail", "code"}`."""

    detail: str | list[ValidationIssue] = Field(
        description="What went wrong: a sentence, or (code `validation_error`) one issue per bad field."
    )
    code: str = Field(description="Machine-readable, e.g. `not_found`, `validation_error`, `null_field`.")


REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "The body is not valid JSON or not UTF-8 (`malformed_json`), or the Host is not served here.",
    "404": "Not found (`not_found`, or a more specific code).",
    "409": "Conflict with the stored state (`code` says which).",
    "413": "The body is over the size limit (`content_too_large`).",
    "401": "Not signed in, or the API token is unknown, expired or revoked (`not_authenticated`).",
    "403": "The caller's role does not allow this (`forbidden`), or a cookie request without its CSRF token "
    "(`csrf_failed`).",
    "429": "Over a rate limit (`rate_limited`): nothing was done; retry after `Retry-After` seconds.",
    "422": (
        "Invalid input: `validation_error` (with a list of issues), `invalid_characters` (NUL or a lone "
        "surrogate), `json_too_deep`, `invalid_number`, or a more specific code."
    ),
}
RETRY_AFTER = {
    "description": "Whole seconds (at least 1) until the limit lets the request through.",
    "schema": {"type": "integer", "minimum": 1},
}
BODY_METHODS = {"post", "put", "patch"}
SAFE_METHODS = {"get", "head", "options"}


SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`tt_...`), from `POST /api/tokens` or `tasktracker token create`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The dashboard's session (`POST /api/auth/login`); unsafe methods also need the "
        "`X-CSRF-Token` header equal to the `tt_csrf` cookie.",
    },
}


def _with_errors(path: str, method: str, operation: dict[str, Any], rule: Role | str | None) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses = {"422"}
    if isinstance(rule, Role):
        statuses.add("401")
        if rule is not Role.viewer or method not in SAFE_METHODS:
            statuses.add("403")
    if method in BODY_METHODS and "requestBody" in operation:
        statuses |= {"400", "413"}
    if "{" in path:
        statuses.add("404")
    for status in statuses:
        responses.setdefault(status, {"description": DESCRIPTIONS[status]})
    for status, response in responses.items():
        if status.startswith("4"):
            response["content"] = {"application/json": {"schema": ERROR_REF}}
            if status in DESCRIPTIONS and response.get("description") in (None, "", "Validation Error"):
                response["description"] = DESCRIPTIONS[status]
        if status == "429":
            response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    rules = {
        (route.path_format, method.lower()): rule_of(route)
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        for method in route.methods or ()
    }
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            _with_errors(path, method, operation, rules.get((path, method)))
            if isinstance(rules.get((path, method)), Role):
                operation.setdefault("security", [{"bearer": []}, {"session": []}])
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    error = Error.model_json_schema(ref_template=REF_TEMPLATE)
    schemas.update(error.pop("$defs", {}))
    schemas["Error"] = error
    for name, schema in event_schemas().items():
        schemas.setdefault(name, schema)
    return spec


def event_schemas() -> dict[str, Any]:
    """`LiveEvent` and the models it is made of, as OpenAPI components."""
    schema = TypeAdapter(LiveEvent).json_schema(ref_template=REF_TEMPLATE, mode="serialization")
    components: dict[str, Any] = schema.pop("$defs")
    components["LiveEvent"] = {"title": "LiveEvent", **schema}
    return components


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
