"""A generic JSON webhook: each export and each status change is a signed POST.

Headers: `X-TaskTracker-Event`, `Idempotency-Key` (the same for every attempt of one event, so the
receiver can drop repeats after a lost response), `X-TaskTracker-Timestamp` (Unix seconds) and
`X-TaskTracker-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`. A 2xx answer is
success; it may carry `{"id": ..., "url": ...}`, kept as the export's external id and link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from tasktracker.exports.clients.base import BadCredentials, Draft, RemoteIssue, check_common, send

NAME = "Webhook"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookClient:
    can_read = False

    def __init__(self, http: httpx.AsyncClient, *, url: str, secret: str) -> None:
        self.http = http
        self.url = url
        self.secret = secret

    def payload(self, event: str, draft: Draft) -> dict[str, Any]:
        return {
            "event": event,
            "export_id": draft.export_id,
            "task": {
                "id": draft.task_id,
                "title": draft.title,
                "description": draft.description,
                "category": draft.category,
                "priority": draft.priority,
                "status": draft.status,
                "labels": draft.labels,
                "assignee": draft.assignee,
                "url": draft.task_url,
            },
        }

    async def _post(self, event: str, key: str, draft: Draft) -> httpx.Response:
        body = json.dumps(self.payload(event, draft), separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "tasktracker-exports",
            "X-TaskTracker-Event": event,
            "Idempotency-Key": key,
            "X-TaskTracker-Timestamp": timestamp,
            "X-TaskTracker-Signature": signature(self.secret, timestamp, body),
        }
        response = await send(
            self.http, NAME, self.http.build_request("POST", self.url, content=body, headers=headers)
        )
        if response.status_code == 403:
            raise BadCredentials(f"{NAME} receiver refused the signature (403)")
        check_common(response, NAME)
        return response

    async def find(self, draft: Draft) -> RemoteIssue | None:
        return None  # the receiver deduplicates on Idempotency-Key instead

    async def create(self, draft: Draft) -> RemoteIssue:
        response = await self._post("task.exported", f"tasktracker-export-{draft.export_id}", draft)
        external_id, url = f"export-{draft.export_id}", None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            external_id = str(answer.get("id") or external_id)[:200]
            url = str(answer["url"])[:1000] if isinstance(answer.get("url"), str) else None
        return RemoteIssue(external_id, url, "closed" if draft.closed else "open")

    async def get(self, external_id: str) -> RemoteIssue | None:
        raise NotImplementedError("a webhook has no state to read")

    async def set_state(self, external_id: str, draft: Draft) -> RemoteIssue:
        state = "closed" if draft.closed else "open"
        await self._post(
            "task.status_changed",
            f"tasktracker-export-{draft.export_id}-{draft.status}-{draft.version}",
            draft,
        )
        return RemoteIssue(external_id, None, state)  # type: ignore[arg-type]
