"""Jira Cloud over REST API v3: create an issue with an ADF description, move it with transitions.

Authentication is an Atlassian account's email and API token (HTTP Basic). The export's marker is a
label (`tasktracker-export-<id>`), looked up with JQL through `POST /rest/api/3/search/jql` (paged by
`nextPageToken`) before creating. Closing and reopening take the issue's available transitions: the
one named in the target's settings, else the first whose target status is in the `done` category
(closing) or in `new`, then `indeterminate` (reopening). Rate limits answer 429 with `Retry-After`.
"""

from __future__ import annotations

from typing import Any

import httpx

from tasktracker.exports.clients.base import (
    BadCredentials,
    Draft,
    Permanent,
    RemoteIssue,
    check_common,
    send,
    short,
)

NAME = "Jira"
MAX_PAGES = 5


def label_for(export_id: int) -> str:
    return f"tasktracker-export-{export_id}"


def adf(draft: Draft) -> dict[str, Any]:
    """The description as an Atlassian Document Format document: one paragraph per paragraph of text."""

    def paragraph(*parts: dict[str, Any]) -> dict[str, Any]:
        return {"type": "paragraph", "content": list(parts)}

    def text(value: str, **marks: str) -> dict[str, Any]:
        node: dict[str, Any] = {"type": "text", "text": value}
        if "href" in marks:
            node["marks"] = [{"type": "link", "attrs": {"href": marks["href"]}}]
        return node

    blocks = [b.strip() for b in (draft.description or draft.title).split("\n\n") if b.strip()]
    content = [paragraph(text(block)) for block in blocks]
    facts = [text(f"Category: {draft.category} · Priority: {draft.priority}")]
    if draft.task_url:
        facts += [text(" · "), text(f"Task #{draft.task_id} in Task Tracker", href=draft.task_url)]
    content += [{"type": "rule"}, paragraph(*facts)]
    return {"type": "doc", "version": 1, "content": content}


def _state(fields: dict[str, Any]) -> str:
    category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    return "closed" if category == "done" else "open"


class JiraClient:
    can_read = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        email: str,
        token: str,
        project_key: str,
        issue_type: str = "Task",
        labels: list[str] | None = None,
        close_transition: str | None = None,
        reopen_transition: str | None = None,
    ) -> None:
        self.http = http
        self.base = base_url.rstrip("/")
        self.auth = httpx.BasicAuth(email, token)
        self.project_key = project_key
        self.issue_type = issue_type
        self.labels = labels or []
        self.close_transition = close_transition
        self.reopen_transition = reopen_transition

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = self.http.build_request(
            method, f"{self.base}{path}", headers={"Accept": "application/json"}, **kwargs
        )
        request = next(self.auth.auth_flow(request))
        response = await send(self.http, NAME, request)
        if response.status_code == 403:
            raise BadCredentials(f"{NAME} account lacks permission (403): {short(response)}")
        return response

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        key = data.get("key")
        url = f"{self.base}/browse/{key}" if key else None
        return RemoteIssue(str(data["id"]), url, _state(data.get("fields") or {}))  # type: ignore[arg-type]

    async def find(self, draft: Draft) -> RemoteIssue | None:
        jql = f'project = "{self.project_key}" AND labels = "{label_for(draft.export_id)}"'
        body: dict[str, Any] = {"jql": jql, "fields": ["status"], "maxResults": 50}
        for _ in range(MAX_PAGES):
            response = await self._call("POST", "/rest/api/3/search/jql", json=body)
            check_common(response, NAME)
            data = response.json()
            issues = data.get("issues") or []
            if issues:
                full = await self.get(str(issues[0]["id"]))  # the search answers ids; read key and status
                return full
            token = data.get("nextPageToken")
            if not token or data.get("isLast", True):
                return None
            body["nextPageToken"] = token
        return None

    async def create(self, draft: Draft) -> RemoteIssue:
        labels = sorted(
            {*self.labels, *(label.replace(" ", "-") for label in draft.labels), label_for(draft.export_id)}
        )
        fields: dict[str, Any] = {
            "project": {"key": self.project_key},
            "summary": draft.title[:255],
            "issuetype": {"name": self.issue_type},
            "description": adf(draft),
            "labels": labels,
        }
        response = await self._call("POST", "/rest/api/3/issue", json={"fields": fields})
        check_common(response, NAME)
        created = response.json()
        return RemoteIssue(str(created["id"]), f"{self.base}/browse/{created['key']}", "open")

    async def get(self, external_id: str) -> RemoteIssue | None:
        response = await self._call("GET", f"/rest/api/3/issue/{external_id}", params={"fields": "status"})
        if response.status_code == 404:
            return None
        check_common(response, NAME)
        return self._issue(response.json())

    async def set_state(self, external_id: str, draft: Draft) -> RemoteIssue:
        response = await self._call("GET", f"/rest/api/3/issue/{external_id}/transitions")
        check_common(response, NAME)
        transitions = response.json().get("transitions") or []
        chosen = self._pick(transitions, draft.closed)
        if chosen is None:
            wanted = "a done status" if draft.closed else "an open status"
            names = ", ".join(repr(t.get("name")) for t in transitions) or "none"
            raise Permanent(f"{NAME} offers no transition to {wanted} for this issue (available: {names})")
        response = await self._call(
            "POST", f"/rest/api/3/issue/{external_id}/transitions", json={"transition": {"id": chosen["id"]}}
        )
        check_common(response, NAME)
        # What was asked for, not a re-read: a change made in Jira meanwhile is then seen as one.
        return RemoteIssue(external_id, None, "closed" if draft.closed else "open")

    def _pick(self, transitions: list[dict[str, Any]], closed: bool) -> dict[str, Any] | None:
        named = self.close_transition if closed else self.reopen_transition
        if named:
            return next((t for t in transitions if str(t.get("name", "")).lower() == named.lower()), None)
        order = ["done"] if closed else ["new", "indeterminate"]
        for category in order:
            for transition in transitions:
                to = ((transition.get("to") or {}).get("statusCategory") or {}).get("key")
                if to == category:
                    return transition
        return None
