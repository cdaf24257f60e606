"""GitHub Issues over the REST API (`2022-11-28`): create with labels and assignees, close and reopen.

The export's marker rides in a hidden HTML comment at the end of the body. Before creating, the
repository's issues updated since the export was made are listed (the list endpoint is consistent;
the search API lags behind new issues) and their bodies searched for the marker, following the
`Link: rel="next"` pages.

Rate limits: a primary limit is a 403 or 429 with `X-RateLimit-Remaining: 0` (wait until
`X-RateLimit-Reset`); a secondary limit is a 403 or 429 with `Retry-After` (wait that long). Any
other 403 is a missing permission.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from tasktracker.exports.clients.base import (
    BadCredentials,
    Draft,
    Permanent,
    RateLimited,
    RemoteIssue,
    RemoteState,
    check_common,
    reset_in_s,
    retry_after_s,
    send,
    short,
)

NAME = "GitHub"
API_VERSION = "2022-11-28"
MAX_PAGES = 10
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubClient:
    can_read = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        repository: str,
        api_url: str = "https://api.github.com",
        labels: list[str] | None = None,
        since: datetime | None = None,
    ) -> None:
        self.http = http
        self.repository = repository
        self.base = api_url.rstrip("/")
        self.labels = labels or []
        self.since = since
        self.headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "tasktracker-exports",
        }

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        full = url if url.startswith("http") else f"{self.base}/repos/{self.repository}{url}"
        response = await send(
            self.http, NAME, self.http.build_request(method, full, headers=self.headers, **kwargs)
        )
        code = response.status_code
        if code in (403, 429):
            if response.headers.get("x-ratelimit-remaining") == "0":
                raise RateLimited(
                    f"{NAME} rate limit used up ({code})",
                    reset_in_s(response.headers.get("x-ratelimit-reset")),
                )
            if "retry-after" in response.headers:
                raise RateLimited(f"{NAME} secondary rate limit ({code})", retry_after_s(response.headers))
            if code == 403:
                raise BadCredentials(
                    f"{NAME} token lacks access to {self.repository} (403): {short(response)}"
                )
        if code in (404, 410) and method != "GET":
            raise Permanent(f"{NAME} repository {self.repository} not found or issues disabled ({code})")
        return response

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        state: RemoteState = "closed" if data.get("state") == "closed" else "open"
        return RemoteIssue(str(data["number"]), data.get("html_url"), state, data.get("state_reason"))

    def body(self, draft: Draft) -> str:
        lines = [draft.description.strip() or draft.title, ""]
        facts = f"**Category:** {draft.category} · **Priority:** {draft.priority}"
        if draft.task_url:
            facts += f" · [Task #{draft.task_id} in Task Tracker]({draft.task_url})"
        lines += ["---", facts, "", f"<!-- {draft.marker} -->"]
        return "\n".join(lines)

    async def find(self, draft: Draft) -> RemoteIssue | None:
        params: dict[str, Any] = {"state": "all", "sort": "created", "direction": "desc", "per_page": 100}
        if self.since is not None:  # the issue cannot predate its export row; a minute of clock skew
            params["since"] = (self.since - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        url: str | None = f"{self.base}/repos/{self.repository}/issues"
        wanted = f"<!-- {draft.marker} -->"
        for _ in range(MAX_PAGES):
            if url is None:
                return None
            response = await self._call("GET", url, params=params or None)  # `next` links carry their query
            if response.status_code == 404:
                raise Permanent(f"{NAME} repository {self.repository} not found (or the token cannot see it)")
            check_common(response, NAME)
            for item in response.json():
                if "pull_request" not in item and wanted in (item.get("body") or ""):
                    return self._issue(item)
            match = _NEXT.search(response.headers.get("link", ""))
            url, params = (match.group(1), {}) if match else (None, {})
        return None

    async def create(self, draft: Draft) -> RemoteIssue:
        payload: dict[str, Any] = {
            "title": draft.title,
            "body": self.body(draft),
            "labels": sorted({*self.labels, *draft.labels}),
        }
        if draft.assignee:
            payload["assignees"] = [draft.assignee]
        response = await self._call("POST", "/issues", json=payload)
        check_common(response, NAME)
        return self._issue(response.json())

    async def get(self, external_id: str) -> RemoteIssue | None:
        response = await self._call("GET", f"/issues/{external_id}")
        if response.status_code in (404, 410):
            return None  # deleted or transferred
        check_common(response, NAME)
        return self._issue(response.json())

    async def set_state(self, external_id: str, draft: Draft) -> RemoteIssue:
        payload: dict[str, Any] = {"state": "closed" if draft.closed else "open"}
        if draft.closed:
            payload["state_reason"] = "completed" if draft.status == "completed" else "not_planned"
        response = await self._call("PATCH", f"/issues/{external_id}", json=payload)
        check_common(response, NAME)
        return self._issue(response.json())
