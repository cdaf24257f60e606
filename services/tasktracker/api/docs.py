"""`/docs`, `/redoc` and `/openapi.json`, for whom `TASKTRACKER_API_DOCS` says: anyone (`open`, the
default in development and test), signed-in users (`viewer`, the default in production) or nobody
(`off`: 404)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from tasktracker.api.access import public, requires
from tasktracker.config import ApiDocs
from tasktracker.models.user import Role


def install(app: FastAPI, mode: ApiDocs) -> None:
    if mode is ApiDocs.off:
        return
    rule = [public] if mode is ApiDocs.open else [requires(Role.viewer)]

    def document_url(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/") + "/openapi.json"

    @app.get("/openapi.json", include_in_schema=False, dependencies=rule)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=rule)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=document_url(request), title=f"{app.title} - Swagger UI")

    @app.get("/redoc", include_in_schema=False, dependencies=rule)
    async def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url=document_url(request), title=f"{app.title} - ReDoc")
