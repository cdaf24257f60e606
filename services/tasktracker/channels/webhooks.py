"""Inbound webhooks: Slack's Events API and signed JSON from anything else.

Each answers once the message is committed. The order of checks is the same everywhere: unknown
channel 404, bad signature 401, body not JSON 400, body of the wrong shape 422; a disabled channel
answers 202 with `status: ignored` and stores nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from tasktracker.api.access import public
from tasktracker.api.deps import SettingsDep, UnitOfWorkDep
from tasktracker.api.rate_limit import RateLimitsDep
from tasktracker.channels import deliveries, service, signing, slack
from tasktracker.channels.schemas import (
    SlackChallenge,
    WebhookResult,
    WebhookStatus,
    json_object,
)
from tasktracker.crypto import SecretBox
from tasktracker.errors import NotFound

router = APIRouter(prefix="/webhook", tags=["webhooks"], dependencies=[public])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not a JSON object (`code`: `malformed_json`)."},
    401: {"description": "Signature missing, wrong or stale (`code` says which)."},
    404: {"description": "No such channel, or the integration is not configured."},
    409: {
        "description": "The channel this delivery needs clashes with an existing one (`channel_name_taken`)."
    },
    413: {"description": "The body is over `TASKTRACKER_MAX_BODY_BYTES` (10 MiB), like any request's."},
    422: {"description": "JSON of the wrong shape (`code`: `validation_error`) or content too long."},
    429: {
        "description": "Over the channel's delivery rate (`rate_limited`, TASKTRACKER_RATE_LIMIT_WEBHOOK_*): "
        "nothing stored; the sender should retry after `Retry-After` seconds."
    },
}


def _status_for(result: WebhookResult) -> int:
    if result.status is WebhookStatus.duplicate:
        return status.HTTP_200_OK
    if result.status is WebhookStatus.ignored and result.reason != "channel_disabled":
        return status.HTTP_200_OK  # noise we acknowledge so the sender stops retrying
    return status.HTTP_202_ACCEPTED


@router.post(
    "/slack",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookResult | SlackChallenge,
    responses={200: {"description": "A duplicate, ignored noise, or the URL check's challenge."}, **ERRORS},
)
async def slack_events(
    request: Request, response: Response, uow: UnitOfWorkDep, settings: SettingsDep, limits: RateLimitsDep
) -> Any:
    """Slack Events API: signed with the app's signing secret (`SLACK_SIGNING_SECRET`), deduplicated on `event_id`."""
    if settings.slack_signing_secret is None:
        raise NotFound("Slack is not configured here: set SLACK_SIGNING_SECRET", code="slack_not_configured")
    body = await request.body()  # bounded by TASKTRACKER_MAX_BODY_BYTES before the app sees it
    signing.verify_slack(
        settings.slack_signing_secret.get_secret_value(),
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
        body,
        tolerance_s=settings.webhook_tolerance_s,
    )
    envelope = slack.parse_envelope(json_object(body))
    if envelope.type == "url_verification":
        response.status_code = status.HTTP_200_OK
        return SlackChallenge(challenge=envelope.challenge or "")
    if envelope.type != "event_callback":
        response.status_code = status.HTTP_200_OK
        return WebhookResult(
            status=WebhookStatus.ignored, reason="not_an_event", detail=f"type {envelope.type!r}"
        )
    limits.check_webhook(_slack_channel_key(envelope))
    result = await deliveries.receive_slack(uow, settings, envelope)
    response.status_code = _status_for(result)
    return result


@router.post(
    "/generic/{channel}",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": WebhookResult, "description": "Already known: nothing new stored."}, **ERRORS},
)
async def generic_message(
    channel: str,
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
) -> WebhookResult:
    """A message signed with the channel's secret: `X-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.

    Body: `{"content" (or "text"/"body"), "subject", "author", "external_id" (or "id"), "sent_at",
    "thread_external_id", "meta"}`. Without an id, the SHA-256 of the body is the id, so a resent body
    is recognised as a duplicate.
    """
    row = await service.generic_channel(uow.session, channel)
    body = await request.body()  # bounded by TASKTRACKER_MAX_BODY_BYTES before the app sees it
    signature = next(
        (request.headers[h] for h in signing.GENERIC_SIGNATURE_HEADERS if h in request.headers), None
    )
    signing.verify_generic(service.signing_secret(row, SecretBox.from_settings(settings)), signature, body)
    limits.check_webhook(f"generic:{row.id}")
    result = await deliveries.receive_generic(uow, settings, row, body)
    response.status_code = _status_for(result)
    return result


def _slack_channel_key(envelope: slack.Envelope) -> str:
    """The Slack channel a signed event is about (the workspace's, as its channel row is keyed)."""
    event = envelope.event or {}
    return f"slack:{envelope.team_id}:{str(event.get('channel'))[: slack.ID_MAX]}"
