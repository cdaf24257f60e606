"""Errors that carry their HTTP status; one handler renders them as `{"detail", "code"}`."""

from typing import Any


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, detail: Any, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Invalid(AppError):
    status_code = 422
    code = "invalid"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Unavailable(AppError):
    status_code = 503
    code = "unavailable"
