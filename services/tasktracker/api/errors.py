"""One JSON shape for every error: `{"detail": ..., "code": ...}`."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from tasktracker.db import database_unavailable
from tasktracker.errors import AppError

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_S = 5


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "code": exc.code}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return JSONResponse(jsonable_encoder({"detail": errors, "code": "validation_error"}), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail, "code": _code_for(exc.status_code)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    # Registered by class (not only under Exception) so Starlette answers them without re-raising
    # to the server, which would log a traceback for an outage that is not a bug.
    @app.exception_handler(OSError)
    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(asyncpg.PostgresError)
    @app.exception_handler(asyncpg.InterfaceError)
    async def infrastructure_error(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            log.warning("%s %s: database unavailable (%s)", request.method, request.url.path, exc)
            return JSONResponse(
                {"detail": "the database is unavailable; try again shortly", "code": "database_unavailable"},
                status_code=503,
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
            )
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal server error", "code": "internal_error"}, status_code=500)


async def send_json_error(send: Send, status: int, detail: str, code: str) -> None:
    """Answer a plain ASGI request in the app's error shape, for middleware that runs outside FastAPI's
    exception handlers."""
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
