"""Errors that carry their HTTP status; one handler renders them as `{"detail", "code"}`."""

from typing import Any

from pydantic import ValidationError


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    headers: dict[str, str] | None = None

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


class NotAuthenticated(AppError):
    """No valid credentials: sign in, or send `Authorization: Bearer <API token>`."""

    status_code = 401
    code = "not_authenticated"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class RateLimited(AppError):
    """429: the caller's bucket is empty; `Retry-After` (whole seconds, at least 1) says for how long."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: Any, *, retry_after: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": retry_after}


class Unavailable(AppError):
    status_code = 503
    code = "unavailable"


def invalid(exc: ValidationError, code: str = "validation_error") -> Invalid:
    """A pydantic error as a 422 in the same shape as FastAPI's own validation errors."""
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return Invalid(errors, code=code)
