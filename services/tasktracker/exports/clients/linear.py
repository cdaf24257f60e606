"""Linear over its GraphQL API: `issueCreate`, `issueUpdate`, and reads of issues and workflow states.

A personal API key goes in `Authorization` as is (an OAuth token would be `Bearer ...`). The marker is
a line at the end of the description, found with an `issues` filter (`description: {contains: ...}`)
before creating. Errors come as GraphQL `errors` (often with HTTP 400): `RATELIMITED` waits until
`X-RateLimit-Requests-Reset` (a Unix time in milliseconds), `AUTHENTICATION_ERROR` / `FORBIDDEN` are
bad credentials, anything else is refused for good unless HTTP said 5xx.
"""

from __future__ import annotations

from typing import Any

import httpx

from tasktracker.exports.clients.base import (
    BadCredentials,
    Draft,
    Permanent,
    RateLimited,
    RemoteIssue,
    Retryable,
    reset_in_s,
    retry_after_s,
    send,
    short,
)

NAME = "Linear"
CLOSED_TYPES = {"completed", "canceled"}
# Linear's priority: 0 none, 1 urgent, 2 high, 3 medium (normal), 4 low
PRIORITY = {"urgent": 1, "high": 2, "medium": 3, "low": 4}

ISSUE_FIELDS = "id identifier url state { type }"
FIND = (
    "query Find($team: ID!, $marker: String!) { issues(filter: {team: {id: {eq: $team}}, "
    "description: {contains: $marker}}, first: 5, includeArchived: true) { nodes { " + ISSUE_FIELDS + " } } }"
)
CREATE = (
    "mutation Create($input: IssueCreateInput!) { issueCreate(input: $input) { success issue { "
    + ISSUE_FIELDS
    + " } } }"
)
UPDATE = (
    "mutation Update($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, input: $input) { "
    "success issue { " + ISSUE_FIELDS + " } } }"
)
GET = "query Get($id: String!) { issue(id: $id) { " + ISSUE_FIELDS + " } }"
STATES = "query States($team: String!) { team(id: $team) { states { nodes { id name type position } } } }"


def _error_code(error: dict[str, Any]) -> str:
    extensions = error.get("extensions") or {}
    return str(extensions.get("code") or extensions.get("type") or "").upper().replace(" ", "_")


class LinearClient:
    can_read = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        team_id: str,
        api_url: str = "https://api.linear.app/graphql",
        label_ids: list[str] | None = None,
        closed_state_id: str | None = None,
        open_state_id: str | None = None,
    ) -> None:
        self.http = http
        self.url = api_url
        self.team_id = team_id
        self.label_ids = label_ids or []
        self.closed_state_id = closed_state_id
        self.open_state_id = open_state_id
        self.headers = {"Authorization": token, "Content-Type": "application/json"}

    async def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        request = self.http.build_request(
            "POST", self.url, headers=self.headers, json={"query": query, "variables": variables}
        )
        response = await send(self.http, NAME, request)
        try:
            body = response.json()
        except ValueError:
            body = None
        errors = (body or {}).get("errors") if isinstance(body, dict) else None
        if errors:
            codes = {_error_code(e) for e in errors}
            message = "; ".join(str(e.get("message", "")) for e in errors)[:300]
            if "RATELIMITED" in codes or response.status_code == 429:
                wait = reset_in_s(response.headers.get("x-ratelimit-requests-reset"), milliseconds=True)
                raise RateLimited(f"{NAME} rate limit: {message}", wait or retry_after_s(response.headers))
            if codes & {"AUTHENTICATION_ERROR", "FORBIDDEN"} or response.status_code in (401, 403):
                raise BadCredentials(f"{NAME} refused the API key: {message}")
            if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in codes:
                raise Retryable(f"{NAME} failed: {message}")
            if any("not found" in str(e.get("message", "")).lower() for e in errors):
                raise LookupError(message)
            raise Permanent(f"{NAME} refused the request: {message}")
        if response.status_code in (401, 403):
            raise BadCredentials(f"{NAME} refused the API key ({response.status_code})")
        if response.status_code >= 500:
            raise Retryable(f"{NAME} answered {response.status_code}", retry_after_s(response.headers))
        if response.status_code >= 400 or not isinstance(body, dict) or "data" not in body:
            raise Permanent(f"{NAME} answered {response.status_code}: {short(response)}")
        return body["data"] or {}

    @staticmethod
    def _issue(node: dict[str, Any]) -> RemoteIssue:
        state = (node.get("state") or {}).get("type")
        return RemoteIssue(node["id"], node.get("url"), "closed" if state in CLOSED_TYPES else "open", state)

    def description(self, draft: Draft) -> str:
        text = (draft.description or draft.title).strip()
        facts = f"Category: {draft.category} · Priority: {draft.priority}"
        if draft.task_url:
            facts += f" · [Task #{draft.task_id} in Task Tracker]({draft.task_url})"
        return f"{text}\n\n---\n{facts}\n\n`{draft.marker}`"

    async def find(self, draft: Draft) -> RemoteIssue | None:
        data = await self._query(FIND, {"team": self.team_id, "marker": draft.marker})
        nodes = ((data.get("issues") or {}).get("nodes")) or []
        return self._issue(nodes[0]) if nodes else None

    async def create(self, draft: Draft) -> RemoteIssue:
        payload: dict[str, Any] = {
            "teamId": self.team_id,
            "title": draft.title,
            "description": self.description(draft),
            "priority": PRIORITY.get(draft.priority, 0),
        }
        if self.label_ids:
            payload["labelIds"] = self.label_ids
        data = await self._query(CREATE, {"input": payload})
        result = data.get("issueCreate") or {}
        if not result.get("success") or not result.get("issue"):
            raise Permanent(f"{NAME} did not create the issue")
        return self._issue(result["issue"])

    async def get(self, external_id: str) -> RemoteIssue | None:
        try:
            data = await self._query(GET, {"id": external_id})
        except LookupError:
            return None
        node = data.get("issue")
        return self._issue(node) if node else None

    async def _state_id(self, closed: bool) -> str:
        configured = self.closed_state_id if closed else self.open_state_id
        if configured:
            return configured
        data = await self._query(STATES, {"team": self.team_id})
        states = sorted(
            ((data.get("team") or {}).get("states") or {}).get("nodes") or [],
            key=lambda s: s.get("position", 0),
        )
        order = ["completed"] if closed else ["unstarted", "backlog", "started"]
        for kind in order:
            for state in states:
                if state.get("type") == kind:
                    return str(state["id"])
        raise Permanent(f"{NAME} team has no workflow state of type {' or '.join(order)}")

    async def set_state(self, external_id: str, draft: Draft) -> RemoteIssue:
        state_id = await self._state_id(draft.closed)
        data = await self._query(UPDATE, {"id": external_id, "input": {"stateId": state_id}})
        result = data.get("issueUpdate") or {}
        if not result.get("success") or not result.get("issue"):
            raise Permanent(f"{NAME} did not update the issue")
        return self._issue(result["issue"])
