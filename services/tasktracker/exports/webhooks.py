"""Sync back: GitHub, Jira and Linear tell us an exported issue changed.

Each delivery is checked against the webhook secrets of the enabled targets of its kind (401 when
none matches), then charged to the target's delivery rate (429 over `TASKTRACKER_RATE_LIMIT_WEBHOOK_*`,
counted after the signature so that nobody else can spend it), then only names the issue: the export job re-reads it from the tracker and brings the
task in step, so a forged or replayed body can at most cause one extra read. Answers: 202 `queued`,
200 `ignored` (an issue we did not export, another event, a ping), 401 bad signature, 404 no target of
that kind has a webhook secret, 400 not JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response, status

from tasktracker.api.access import public
from tasktracker.api.deps import SettingsDep, UnitOfWorkDep
from tasktracker.api.rate_limit import RateLimits, RateLimitsDep
from tasktracker.channels.schemas import json_object
from tasktracker.crypto import SecretBox
from tasktracker.errors import NotFound, Unauthorized
from tasktracker.exports import service, signatures
from tasktracker.exports.schemas import SyncResult
from tasktracker.models import TargetKind

router = APIRouter(prefix="/webhook", tags=["webhooks"], dependencies=[public])  # signed by the trackers

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": SyncResult, "description": "Nothing to do (`status: ignored`, `reason` says why)."},
    400: {"description": "The body is not a JSON object (`malformed_json`)."},
    401: {"description": "Signature missing or wrong (`bad_signature`), or stale (`stale_timestamp`)."},
    404: {"description": "No target of this kind has a webhook secret (`sync_not_configured`)."},
    429: {
        "description": "Over the target's delivery rate (`rate_limited`, TASKTRACKER_RATE_LIMIT_WEBHOOK_*): "
        "nothing done; the tracker should retry after `Retry-After` seconds."
    },
}


async def _verified(
    request: Request,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimits,
    kind: TargetKind,
    ok: Callable[[str, bytes], bool],
) -> tuple[list[service.SyncSecret], dict[str, Any]]:
    candidates = await service.sync_secrets(uow.session, kind, SecretBox.from_settings(settings))
    if not candidates:
        raise NotFound(f"no {kind.value} export target has a webhook secret", code="sync_not_configured")
    body = await request.body()  # bounded by TASKTRACKER_MAX_BODY_BYTES before the app sees it
    matched = [c for c in candidates if ok(c.secret, body)]
    if not matched:
        raise Unauthorized("the signature does not match any target's webhook secret", code="bad_signature")
    # One bucket per secret's target: the first of those signed with it (targets may share a secret).
    limits.check_webhook(f"export:{matched[0].target_id}")
    return matched, json_object(body)


def _obj(value: object) -> dict[str, Any]:
    """A JSON object of the payload, or an empty one for anything else (a signed body may still be odd)."""
    return value if isinstance(value, dict) else {}


def _pick(matched: list[service.SyncSecret], key: str, value: object) -> service.SyncSecret | None:
    """The target the delivery is about (several may share a secret)."""
    for candidate in matched:
        if str(candidate.config.get(key, "")).lower() == str(value or "").lower():
            return candidate
    return None


def _answer(response: Response, result: SyncResult) -> SyncResult:
    response.status_code = status.HTTP_202_ACCEPTED if result.status == "queued" else status.HTTP_200_OK
    return result


def _ignored(reason: str) -> SyncResult:
    return SyncResult(status="ignored", reason=reason)


@router.post("/github", status_code=status.HTTP_202_ACCEPTED, responses=RESPONSES)
async def github_events(
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
) -> SyncResult:
    """GitHub `issues` events (closed, reopened, deleted ...) of exported issues, signed with
    `X-Hub-Signature-256`. Set the repository webhook's secret to the target's `webhook_secret`."""
    header = request.headers.get("x-hub-signature-256")
    matched, payload = await _verified(
        request,
        uow,
        settings,
        limits,
        TargetKind.github,
        lambda s, b: signatures.hub_signature_ok(s, header, b),
    )
    event = request.headers.get("x-github-event", "")
    if event != "issues":
        return _answer(response, _ignored(f"event {event[:100] or 'unnamed'}"))
    repository = _obj(payload.get("repository")).get("full_name")
    target = _pick(matched, "repository", repository)
    number = _obj(payload.get("issue")).get("number")
    if target is None or not isinstance(number, int):
        return _answer(response, _ignored("not_a_target_repository"))
    return _answer(response, await service.remote_changed(uow, target.target_id, str(number)))


@router.post("/jira", status_code=status.HTTP_202_ACCEPTED, responses=RESPONSES)
async def jira_events(
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
) -> SyncResult:
    """Jira Cloud issue events (`jira:issue_updated`, `jira:issue_deleted`) of exported issues, from an
    admin webhook whose secret is the target's `webhook_secret` (`X-Hub-Signature: sha256=...`)."""
    header = request.headers.get("x-hub-signature")
    matched, payload = await _verified(
        request,
        uow,
        settings,
        limits,
        TargetKind.jira,
        lambda s, b: signatures.hub_signature_ok(s, header, b),
    )
    issue = _obj(payload.get("issue"))
    issue_id = issue.get("id")
    if not str(payload.get("webhookEvent", "")).startswith("jira:issue") or not isinstance(
        issue_id, (str, int)
    ):
        return _answer(response, _ignored(f"event {str(payload.get('webhookEvent') or 'unnamed')[:100]}"))
    project = _obj(_obj(issue.get("fields")).get("project")).get("key")
    target = _pick(matched, "project_key", project) if project else matched[0]
    if target is None:
        return _answer(response, _ignored("not_a_target_project"))
    return _answer(response, await service.remote_changed(uow, target.target_id, str(issue_id)[:200]))


@router.post("/linear", status_code=status.HTTP_202_ACCEPTED, responses=RESPONSES)
async def linear_events(
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
) -> SyncResult:
    """Linear `Issue` webhooks of exported issues, signed with `Linear-Signature` (the webhook's
    signing secret is the target's `webhook_secret`); `webhookTimestamp` must be recent."""
    header = request.headers.get("linear-signature")
    matched, payload = await _verified(
        request,
        uow,
        settings,
        limits,
        TargetKind.linear,
        lambda s, b: signatures.linear_signature_ok(s, header, b),
    )
    sent_ms = payload.get("webhookTimestamp")
    if (
        not isinstance(sent_ms, int)
        or abs(time.time() * 1000 - sent_ms) > settings.webhook_tolerance_s * 1000
    ):
        raise Unauthorized(
            f"webhookTimestamp is missing or more than {settings.webhook_tolerance_s} s from now",
            code="stale_timestamp",
        )
    data = _obj(payload.get("data"))
    if payload.get("type") != "Issue" or not isinstance(data.get("id"), str):
        return _answer(response, _ignored(f"type {str(payload.get('type') or 'unnamed')[:100]}"))
    team = data.get("teamId") or _obj(data.get("team")).get("id")
    target = _pick(matched, "team_id", team) if team else matched[0]
    if target is None:
        return _answer(response, _ignored("not_a_target_team"))
    return _answer(response, await service.remote_changed(uow, target.target_id, data["id"][:200]))
