"""What every tracker client offers, what it is given and what it answers, and how it fails.

A client never touches the database. Failures are sorted into what may pass (`Retryable`, with the
delay the tracker asked for when it is a rate limit) and what will not (`Permanent`, `BadCredentials`):
the export job retries only the first kind.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import httpx

RemoteState = Literal["open", "closed"]


def marker(task_id: int, export_id: int) -> str:
    """The text that identifies one export in the tracker, looked up before creating (lost responses)."""
    return f"tasktracker:task={task_id}:export={export_id}"


@dataclass(frozen=True)
class Draft:
    """A task as the tracker should show it."""

    task_id: int
    export_id: int
    title: str
    description: str
    category: str
    priority: str
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    task_url: str | None = None  # the task in Task Tracker, when PUBLIC_URL is set
    closed: bool = False
    status: str = "open"
    version: str = ""  # when the task last changed: tells one status change from the next

    @property
    def marker(self) -> str:
        return marker(self.task_id, self.export_id)


@dataclass(frozen=True)
class RemoteIssue:
    external_id: str
    url: str | None
    state: RemoteState | None  # None: the tracker has no state to read (webhooks)
    closed_as: str | None = None  # why it was closed, when the tracker says (GitHub's state_reason)


class ExportError(Exception):
    """A request to the tracker failed; `str()` is what the export row shows."""


class Retryable(ExportError):
    """Worth another attempt later (network, 5xx, rate limits). `retry_after`: what the tracker asked for."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(Retryable):
    pass


class Permanent(ExportError):
    """Another attempt would fail the same way (a refused request, a missing project)."""


class BadCredentials(Permanent):
    """The token is wrong, expired or lacks the scope: nothing is retried until the target is fixed."""


class TrackerClient(Protocol):
    can_read: bool  # whether `get` tells the issue's state (false for webhooks)

    async def find(self, draft: Draft) -> RemoteIssue | None: ...
    async def create(self, draft: Draft) -> RemoteIssue: ...
    async def get(self, external_id: str) -> RemoteIssue | None: ...
    async def set_state(self, external_id: str, draft: Draft) -> RemoteIssue: ...


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or an HTTP date), or None when absent or unreadable."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def reset_in_s(epoch: str | None, *, milliseconds: bool = False, now: float | None = None) -> float | None:
    """Seconds until a rate-limit window resets, from a Unix time header; a second more for a header
    in whole seconds (the window may reset at any moment of that second)."""
    if not epoch or not epoch.strip().isdigit():
        return None
    at = int(epoch) / 1000 if milliseconds else int(epoch) + 1
    return max(0.0, at - (time.time() if now is None else now))


def short(response: httpx.Response, limit: int = 300) -> str:
    """The start of an error body, for the export row's error."""
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("…" if len(text) > limit else "")


def check_common(response: httpx.Response, tracker: str) -> None:
    """The answers every tracker shares the meaning of: 3xx, 401, 429, 5xx, other 4xx.

    Redirects are not followed (where one leads is not checked like the target's own URL, see
    `exports.egress`): a 3xx fails the export, naming where it pointed, so the admin can put the
    final URL in the target.
    """
    code = response.status_code
    if 300 <= code < 400:
        where = response.headers.get("location", "")[:300]
        raise Permanent(
            f"{tracker} answered a redirect ({code}) to {where or 'nowhere'}: exports do not follow "
            "redirects; give the target the final URL"
        )
    if code < 400:
        return
    if code == 401:
        raise BadCredentials(f"{tracker} refused the credentials (401): {short(response)}")
    if code == 429:
        raise RateLimited(f"{tracker} rate limit (429)", retry_after_s(response.headers))
    if code >= 500:
        raise Retryable(f"{tracker} answered {code}: {short(response)}", retry_after_s(response.headers))
    raise Permanent(f"{tracker} refused the request ({code}): {short(response)}")


async def send(client: httpx.AsyncClient, tracker: str, request: httpx.Request) -> httpx.Response:
    """Send one request; a network failure (including a lost response) is retryable."""
    try:
        return await client.send(request)
    except httpx.TimeoutException as exc:
        raise Retryable(f"{tracker}: no answer in time ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise Retryable(f"{tracker}: connection failed ({type(exc).__name__}: {exc})") from None
