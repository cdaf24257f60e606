"""Export logic: targets and rules, which tasks go where, and the export job's three steps.

An export is a `task_exports` row. The job that serves it (`exports.push`, by row id) runs in three
steps: `claim` the row (a short unit: lock it, read the task and the target), `talk` to the tracker
outside any transaction, `record` the outcome (a short unit). The job is idempotent and convergent:

- Not yet in the tracker: look the issue up by the export's marker, create it only when not found
  (a lost response is found on the next attempt, never created twice).
- In the tracker: read its state and compare with `remote_state`, the state both sides last agreed
  on. Changed there: the task follows (actor: the tracker). Changed here: the tracker follows. With
  two states there is no third case.

Failures that may pass are retried with exponential backoff (or after the delay the tracker asked for)
up to `export_max_attempts`; bad credentials and refused requests fail the row at once with the reason.
Rows are found again by `due` (the worker polls it), so a job lost anywhere is sent again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.broker import PUSH_EXPORT
from tasktracker.config import Settings
from tasktracker.crypto import SecretBox, SecretUnreadable
from tasktracker.db import utcnow
from tasktracker.errors import Conflict, Invalid, NotFound, Unavailable
from tasktracker.events import schemas as events
from tasktracker.exports import repository
from tasktracker.exports.clients.base import (
    BadCredentials,
    Draft,
    ExportError,
    Permanent,
    RemoteIssue,
    Retryable,
    TrackerClient,
)
from tasktracker.exports.clients.github import GitHubClient
from tasktracker.exports.clients.jira import JiraClient
from tasktracker.exports.clients.linear import LinearClient
from tasktracker.exports.clients.webhook import WebhookClient
from tasktracker.exports.egress import EgressPolicy, TargetRefused
from tasktracker.exports.schemas import (
    URL_FIELDS,
    ExportPublic,
    RuleCreate,
    RulePublic,
    RuleUpdate,
    SyncResult,
    TargetChoice,
    TargetCreate,
    TargetPublic,
    TargetUpdate,
    parse_config,
)
from tasktracker.models import (
    CLOSED_STATUSES,
    ExportRule,
    ExportState,
    ExportTarget,
    TargetKind,
    Task,
    TaskExport,
    TaskStatus,
)
from tasktracker.tasks import service as tasks_service
from tasktracker.tasks.schemas import TaskUpdate
from tasktracker.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

SYNC_BACK_PATHS = {
    TargetKind.github: "/webhook/github",
    TargetKind.jira: "/webhook/jira",
    TargetKind.linear: "/webhook/linear",
}


def lease_s(settings: Settings) -> float:
    """How long one job run may hold a row: a dozen slow requests."""
    return max(60.0, settings.export_http_timeout_s * 12)


# Targets -----------------------------------------------------------------------------------------------


def target_public(target: ExportTarget, exports: int = 0) -> TargetPublic:
    assert target.id is not None
    return TargetPublic(
        id=target.id,
        name=target.name,
        kind=TargetKind(target.kind),
        enabled=target.enabled,
        config=target.config,
        has_token=bool(target.secret),
        has_webhook_secret=bool(target.webhook_secret),
        webhook_path=SYNC_BACK_PATHS.get(TargetKind(target.kind)),
        exports=exports,
        created_at=target.created_at,
        updated_at=target.updated_at,
    )


async def list_targets(session: AsyncSession) -> list[TargetPublic]:
    counts = await repository.export_counts(session)
    return [target_public(t, counts.get(t.id or 0, 0)) for t in await repository.targets(session)]


async def target_choices(session: AsyncSession) -> list[TargetChoice]:
    return [
        TargetChoice(id=t.id, name=t.name, kind=TargetKind(t.kind))
        for t in await repository.targets(session)
        if t.enabled and t.id is not None
    ]


async def target_or_404(session: AsyncSession, target_id: int) -> ExportTarget:
    target = await repository.target(session, target_id)
    if target is None:
        raise NotFound(f"export target {target_id} not found", code="unknown_export_target")
    return target


async def _name_free(session: AsyncSession, name: str, own_id: int | None) -> None:
    taken = await repository.target_by_name(session, name)
    if taken is not None and taken.id != own_id:
        raise Conflict(f"an export target named {name!r} exists already", code="export_target_name_taken")


def _seal(box: SecretBox, value: SecretStr | None) -> str | None:
    return box.seal(value.get_secret_value()) if value is not None else None


async def _reachable(config: dict[str, Any], policy: EgressPolicy) -> dict[str, Any]:
    """The settings, once every URL in them leads somewhere exports may go (422 otherwise)."""
    for name in URL_FIELDS:
        url = config.get(name)
        if isinstance(url, str):
            try:
                await policy.check_url(url)
            except TargetRefused as exc:
                raise Invalid(f"{name}: {exc}", code="export_target_refused") from None
    return config


async def create_target(
    session: AsyncSession, data: TargetCreate, box: SecretBox, policy: EgressPolicy
) -> TargetPublic:
    await _name_free(session, data.name, None)
    config = await _reachable(parse_config(data.kind, data.config), policy)
    target = ExportTarget(
        name=data.name,
        kind=data.kind,
        enabled=data.enabled,
        config=config,
        secret=_seal(box, data.token),
        webhook_secret=_seal(box, data.webhook_secret),
    )
    await _flush(session, target)
    return target_public(target)


async def update_target(
    session: AsyncSession, target_id: int, data: TargetUpdate, box: SecretBox, policy: EgressPolicy
) -> TargetPublic:
    target = await target_or_404(session, target_id)
    given = data.model_fields_set
    if data.name is not None:
        await _name_free(session, data.name, target.id)
        target.name = data.name
    if data.enabled is not None:
        target.enabled = data.enabled
    if data.config is not None:
        target.config = await _reachable(parse_config(TargetKind(target.kind), data.config), policy)
    if data.token is not None:
        target.secret = _seal(box, data.token)
    if "webhook_secret" in given:
        target.webhook_secret = _seal(box, data.webhook_secret)
    target.updated_at = utcnow()
    await _flush(session, target)
    counts = await repository.export_counts(session)
    return target_public(target, counts.get(target_id, 0))


async def _flush(session: AsyncSession, row: ExportTarget | ExportRule) -> None:
    try:
        await repository.add(session, row)
    except IntegrityError:  # lost a race with a concurrent create
        raise Conflict(
            "an export target of this name exists already", code="export_target_name_taken"
        ) from None


async def delete_target(session: AsyncSession, target_id: int) -> None:
    target = await target_or_404(session, target_id)
    count = (await repository.export_counts(session)).get(target_id, 0)
    if count:
        raise Conflict(
            f"export target {target.name!r} has {count} export(s); disable it instead",
            code="export_target_has_exports",
        )
    await repository.delete(session, target)


async def reseal_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Encrypt every stored target secret with the current key (after a key rotation); how many values
    were rewritten. Raises SecretUnreadable, changing nothing, if one cannot be decrypted."""
    count = 0
    for target in await repository.with_secrets(session):
        if target.secret:
            target.secret = box.reseal(target.secret)
            count += 1
        if target.webhook_secret:
            target.webhook_secret = box.reseal(target.webhook_secret)
            count += 1
    await session.flush()
    return count


def _open_secret(target: ExportTarget, stored: str | None, box: SecretBox) -> str | None:
    if not stored:
        return None
    try:
        return box.open(stored)
    except SecretUnreadable as exc:
        log.error("export target %s: %s", target.name, exc)
        raise Unavailable(
            "this export target's secret cannot be read with the configured keys", code="secret_unreadable"
        ) from None


# Rules -------------------------------------------------------------------------------------------------


async def list_rules(session: AsyncSession) -> list[RulePublic]:
    return [RulePublic.model_validate(r) for r in await repository.rules(session)]


async def _check_rule_refs(session: AsyncSession, target_id: int | None, channel_id: int | None) -> None:
    from tasktracker.channels import service as channels_service

    if target_id is not None:
        await target_or_404(session, target_id)
    if channel_id is not None:
        await channels_service.get_or_404(session, channel_id)


async def create_rule(session: AsyncSession, data: RuleCreate) -> RulePublic:
    await _check_rule_refs(session, data.target_id, data.channel_id)
    rule = ExportRule(
        target_id=data.target_id,
        channel_id=data.channel_id,
        category=data.category.value if data.category else None,
        priority=data.priority.value if data.priority else None,
        enabled=data.enabled,
    )
    await repository.add(session, rule)
    return RulePublic.model_validate(rule)


async def rule_or_404(session: AsyncSession, rule_id: int) -> ExportRule:
    rule = await repository.rule(session, rule_id)
    if rule is None:
        raise NotFound(f"export rule {rule_id} not found", code="unknown_export_rule")
    return rule


async def update_rule(session: AsyncSession, rule_id: int, data: RuleUpdate) -> RulePublic:
    rule = await rule_or_404(session, rule_id)
    given = data.model_fields_set
    await _check_rule_refs(session, data.target_id, data.channel_id)
    if data.target_id is not None:
        rule.target_id = data.target_id
    for name in ("channel_id", "category", "priority"):
        if name in given:
            value = getattr(data, name)
            setattr(rule, name, getattr(value, "value", value))
    if data.enabled is not None:
        rule.enabled = data.enabled
    await repository.add(session, rule)
    return RulePublic.model_validate(rule)


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    await repository.delete(session, await rule_or_404(session, rule_id))


# Exports -----------------------------------------------------------------------------------------------


def export_public(row: TaskExport, target_name: str | None = None) -> ExportPublic:
    public = ExportPublic.model_validate(row)
    public.target_name = target_name
    return public


async def exports_of(session: AsyncSession, task_id: int) -> list[ExportPublic]:
    await tasks_service.get_or_404(session, task_id)
    names = {t.id: t.name for t in await repository.targets(session)}
    return [export_public(r, names.get(r.target_id)) for r in await repository.of_task(session, task_id)]


async def request_export(
    uow: UnitOfWork, settings: Settings, task_id: int, target_id: int
) -> tuple[ExportPublic, bool]:
    """Export a task to a target; returns the export and whether it is new (one per task and target)."""
    session = uow.session
    await tasks_service.get_or_404(session, task_id)
    target = await target_or_404(session, target_id)
    if not target.enabled:
        raise Conflict(f"export target {target.name!r} is disabled", code="export_target_disabled")
    row = await _export(uow, settings, task_id, target)
    if row is None:
        existing = await repository.by_task_and_target(session, task_id, target_id)
        assert existing is not None
        return export_public(existing, target.name), False
    await tasks_service.record_activity(session, task_id, "export_requested", {"target": target.name})
    return export_public(row, target.name), True


async def _export(
    uow: UnitOfWork, settings: Settings, task_id: int, target: ExportTarget
) -> TaskExport | None:
    """A new export row and its job; the poll sends the job again only if it is lost (after the lease)."""
    assert target.id is not None
    now = utcnow()
    row = await repository.insert(
        uow.session, task_id, target.id, target.kind, now, now + timedelta(seconds=lease_s(settings))
    )
    if row is not None:
        uow.queue_job(PUSH_EXPORT, row.id)
    return row


async def route_new_task(uow: UnitOfWork, settings: Settings, task: Task) -> list[int]:
    """Export a new task wherever the routing rules send it; the new exports' ids."""
    assert task.id is not None
    ids = []
    for target_id in await repository.matching_targets(
        uow.session, task.channel_id, task.category, task.priority
    ):
        target = await repository.target(uow.session, target_id)
        if target is not None:
            row = await _export(uow, settings, task.id, target)
            if row is not None and row.id is not None:
                ids.append(row.id)
    return ids


async def route_new_tasks(uow: UnitOfWork, settings: Settings, tasks: Sequence[Task]) -> list[int]:
    """`route_new_task` for many tasks, with the routing rules read once."""
    if not tasks:
        return []
    rules = await repository.enabled_rules(uow.session)
    ids = []
    for task in tasks:
        assert task.id is not None
        matching = {
            target_id
            for target_id, channel_id, category, priority in rules
            if (channel_id is None or channel_id == task.channel_id)
            and (category is None or category == task.category)
            and (priority is None or priority == task.priority)
        }
        for target_id in sorted(matching):
            target = await repository.target(uow.session, target_id)
            if target is not None:
                row = await _export(uow, settings, task.id, target)
                if row is not None and row.id is not None:
                    ids.append(row.id)
    return ids


async def retry(uow: UnitOfWork, settings: Settings, task_id: int, export_id: int) -> ExportPublic:
    """Try a failed (or waiting) export again now, with its attempts counted from zero."""
    session = uow.session
    row = await repository.export(session, export_id)
    if row is None or row.task_id != task_id:
        raise NotFound(f"export {export_id} of task {task_id} not found", code="unknown_export")
    target = await repository.target(session, row.target_id) if row.target_id is not None else None
    if target is None or not target.enabled:
        raise Conflict("this export's target is disabled or gone", code="export_target_disabled")
    now = utcnow()
    row.status = ExportState.exported if row.external_id else ExportState.pending
    row.attempts = 0
    row.error = None
    row.next_attempt_at = now + timedelta(
        seconds=lease_s(settings)
    )  # the poll's fallback, if the job is lost
    row.locked_until = None
    row.updated_at = now
    await session.flush()
    uow.queue_job(PUSH_EXPORT, export_id)
    return export_public(row, target.name)


async def task_changed(uow: UnitOfWork, task_id: int) -> None:
    """Push a task's change to its exported issues now rather than at the next poll."""
    for row in await repository.exported_of_task(uow.session, task_id):
        uow.queue_job(PUSH_EXPORT, row.id)


async def schedule_due(uow: UnitOfWork, settings: Settings) -> int:
    """Send a job for every due export (the worker calls this every `export_poll_interval_s`)."""
    now = utcnow()
    check_before = now - timedelta(seconds=settings.export_reconcile_interval_s)
    ids = await repository.due(uow.session, now, check_before, settings.export_reconcile_batch)
    await repository.postpone(uow.session, ids, now + timedelta(seconds=lease_s(settings)))
    for export_id in ids:
        uow.queue_job(PUSH_EXPORT, export_id)
    return len(ids)


# Sync back: a tracker's webhook says an issue changed -----------------------------------------------------


@dataclass(frozen=True)
class SyncSecret:
    target_id: int
    name: str
    config: dict[str, Any]
    secret: str


async def sync_secrets(session: AsyncSession, kind: TargetKind, box: SecretBox) -> list[SyncSecret]:
    """The webhook secrets of the enabled targets of a kind, to check a delivery's signature against."""
    found = []
    for target in await repository.targets_of_kind(session, kind):
        secret = _open_secret(target, target.webhook_secret, box)
        if target.enabled and secret and target.id is not None:
            found.append(SyncSecret(target.id, target.name, target.config, secret))
    return found


async def remote_changed(uow: UnitOfWork, target_id: int, external_id: str) -> SyncResult:
    """An issue changed in a tracker: re-read it and bring the task in step (by the export job)."""
    row = await repository.by_external(uow.session, target_id, external_id)
    if row is None:
        return SyncResult(status="ignored", reason="not_exported")
    if row.status == ExportState.failed:
        return SyncResult(status="ignored", reason="export_failed", export_id=row.id)
    row.checked_at = None  # read it again, now (and once more if a run is under way)
    await uow.session.flush()
    uow.queue_job(PUSH_EXPORT, row.id)
    return SyncResult(status="queued", export_id=row.id)


# The export job ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one run of the job needs, read in the claim step."""

    export_id: int
    task_id: int
    target_id: int
    target_name: str
    kind: TargetKind
    config: dict[str, Any]
    token: str
    external_id: str | None
    remote_state: str | None
    created_at: datetime
    attempts: int
    draft: Draft
    checked_at: datetime | None

    @property
    def actor(self) -> str:
        return f"{self.kind.value}:{self.target_name}"


@dataclass
class Outcome:
    issue: RemoteIssue | None = None
    created: bool = False
    found: bool = False  # the issue existed already (a lost response of an earlier attempt)
    pushed: bool = False
    task_status: TaskStatus | None = None  # the tracker changed the issue: the task follows
    gone: bool = False  # the issue was deleted in the tracker
    error: ExportError | None = None
    notes: list[str] = field(default_factory=list)


def _draft(task: Task, export_id: int, settings: Settings) -> Draft:
    assert task.id is not None
    base = settings.public_url.rstrip("/")
    return Draft(
        task_id=task.id,
        export_id=export_id,
        title=task.title,
        description=task.description,
        category=task.category,
        priority=task.priority,
        labels=list(task.labels),
        assignee=task.assignee,
        task_url=f"{base}/tasks/{task.id}" if base else None,
        closed=task.status in CLOSED_STATUSES,
        status=task.status,
        version=task.updated_at.isoformat(),
    )


async def claim(session: AsyncSession, settings: Settings, export_id: int) -> Plan | None:
    """Lock the row for this run and read what it needs; None when there is nothing to do (failed,
    another run holds it, the target is disabled or gone)."""
    now = utcnow()
    if not await repository.lock(session, export_id, now, now + timedelta(seconds=lease_s(settings))):
        return None
    row = await repository.export(session, export_id)
    if row is None or row.target_id is None:
        return None
    await session.refresh(row)
    target = await repository.target(session, row.target_id)
    task = await tasks_service.get(session, row.task_id)
    if target is None or task is None or not target.enabled:
        row.locked_until = None
        return None
    try:
        token = _open_secret(target, target.secret, SecretBox.from_settings(settings)) or ""
    except Unavailable as exc:
        _fail(row, str(exc.detail), now)
        return None
    assert row.id is not None and target.id is not None
    return Plan(
        export_id=row.id,
        task_id=row.task_id,
        target_id=target.id,
        target_name=target.name,
        kind=TargetKind(target.kind),
        config=dict(target.config),
        token=token,
        external_id=row.external_id,
        remote_state=row.remote_state,
        created_at=row.created_at,
        attempts=row.attempts,
        draft=_draft(task, row.id, settings),
        checked_at=row.checked_at,
    )


def client_for(plan: Plan, http: httpx.AsyncClient) -> TrackerClient:
    c = plan.config
    if plan.kind is TargetKind.github:
        return GitHubClient(
            http,
            token=plan.token,
            repository=c["repository"],
            api_url=c["api_url"],
            labels=c.get("labels"),
            since=plan.created_at,
        )
    if plan.kind is TargetKind.jira:
        return JiraClient(
            http,
            base_url=c["base_url"],
            email=c["email"],
            token=plan.token,
            project_key=c["project_key"],
            issue_type=c.get("issue_type") or "Task",
            labels=c.get("labels"),
            close_transition=c.get("close_transition"),
            reopen_transition=c.get("reopen_transition"),
        )
    if plan.kind is TargetKind.linear:
        return LinearClient(
            http,
            token=plan.token,
            team_id=c["team_id"],
            api_url=c["api_url"],
            label_ids=c.get("label_ids"),
            closed_state_id=c.get("closed_state_id"),
            open_state_id=c.get("open_state_id"),
        )
    return WebhookClient(http, url=c["url"], secret=plan.token)


def _follow(issue: RemoteIssue) -> TaskStatus:
    """The task status for an issue's state: reopened is open; closed as not planned is closed."""
    if issue.state == "open":
        return TaskStatus.open
    return TaskStatus.closed if issue.closed_as in ("not_planned", "canceled") else TaskStatus.completed


async def talk(plan: Plan, client: TrackerClient) -> Outcome:
    """Bring the tracker and the task in step; never raises for the tracker's failures."""
    outcome = Outcome()
    want = "closed" if plan.draft.closed else "open"
    try:
        if plan.external_id is None:
            issue = await client.find(plan.draft)
            outcome.found = issue is not None
            if issue is None:
                issue = await client.create(plan.draft)
                outcome.created = True
            if issue.state is not None and issue.state != want:
                issue = await client.set_state(issue.external_id, plan.draft)
                outcome.pushed = True
            outcome.issue = issue
            return outcome
        current: RemoteIssue | None = None
        if client.can_read:
            current = await client.get(plan.external_id)
            if current is None:
                outcome.gone = True
                return outcome
        remote = current.state if current is not None else plan.remote_state
        if current is not None and remote != plan.remote_state:
            outcome.task_status = _follow(current)  # changed in the tracker: the task follows
            outcome.issue = current
        elif want != plan.remote_state:
            outcome.issue = await client.set_state(plan.external_id, plan.draft)
            outcome.pushed = True
        else:
            outcome.issue = current or RemoteIssue(plan.external_id, None, want)  # type: ignore[arg-type]
    except ExportError as exc:
        outcome.error = exc
    return outcome


def _fail(row: TaskExport, reason: str, now: datetime) -> None:
    row.status = ExportState.failed
    row.error = reason[:2000]
    row.next_attempt_at = None
    row.locked_until = None
    row.updated_at = now


def backoff_s(settings: Settings, attempts: int, retry_after: float | None) -> float:
    """Seconds before attempt `attempts + 1`: what the tracker asked for, else exponential from
    `export_backoff_s` with up to 10% jitter."""
    if retry_after is not None:
        return retry_after
    delay = min(settings.export_backoff_s * 2 ** max(0, attempts - 1), settings.export_backoff_max_s)
    return delay * (1 + random.random() / 10)


async def record(uow: UnitOfWork, settings: Settings, plan: Plan, outcome: Outcome) -> None:
    """Store what the run found and did; the task follows a change made in the tracker."""
    session = uow.session
    row = await repository.export(session, plan.export_id)
    if row is None:  # the task was deleted meanwhile
        return
    now = utcnow()
    row.locked_until = None
    row.updated_at = now
    if outcome.error is not None:
        _record_failure(row, settings, outcome.error, now)
        if row.status == ExportState.failed:
            await _announce(uow, plan.task_id)
        return
    if outcome.gone:
        _fail(
            row, f"the issue was deleted in {plan.kind.value} (or moved where the token cannot see it)", now
        )
        await _announce(uow, plan.task_id)
        return
    issue = outcome.issue
    assert issue is not None
    first = row.external_id is None
    row.status = ExportState.exported
    row.external_id = issue.external_id
    row.url = issue.url or row.url
    row.remote_state = issue.state or ("closed" if plan.draft.closed else "open")
    row.error = None
    row.attempts = 0
    # A webhook that came during this run cleared `checked_at`: then the issue is read once more.
    reread = plan.checked_at is not None and row.checked_at is None
    row.next_attempt_at = now if reread else None
    row.checked_at = now
    if first:
        data: dict[str, Any] = {
            "target": plan.target_name,
            "external_id": issue.external_id,
            "url": issue.url,
        }
        if outcome.found:
            data["found_existing"] = True
        await tasks_service.record_activity(session, plan.task_id, "exported", data, plan.actor)
    if outcome.task_status is not None:
        await _follow_tracker(uow, plan, outcome.task_status)
    elif first:
        await _announce(uow, plan.task_id)  # the dashboard re-reads the task, exports included


async def _announce(uow: UnitOfWork, task_id: int) -> None:
    task = await tasks_service.get(uow.session, task_id)
    if task is not None:
        uow.queue_event(events.task_updated(await tasks_service.public(uow.session, task)))


async def _follow_tracker(uow: UnitOfWork, plan: Plan, status: TaskStatus) -> None:
    task = await tasks_service.get(uow.session, plan.task_id)
    if task is None:
        return
    was_closed = task.status in CLOSED_STATUSES
    if was_closed == (status in CLOSED_STATUSES):
        return  # already on that side (e.g. in progress and reopened)
    task = await tasks_service.update(uow.session, plan.task_id, TaskUpdate(status=status), actor=plan.actor)
    uow.queue_event(events.task_updated(await tasks_service.public(uow.session, task)))


def _record_failure(row: TaskExport, settings: Settings, error: ExportError, now: datetime) -> None:
    row.attempts += 1
    if isinstance(error, BadCredentials):
        _fail(row, f"bad credentials: {error}", now)
    elif isinstance(error, Permanent) or not isinstance(error, Retryable):
        _fail(row, str(error), now)
    elif row.attempts >= settings.export_max_attempts:
        _fail(row, f"gave up after {row.attempts} attempts: {error}", now)
    else:
        if row.status != ExportState.exported:
            row.status = ExportState.retrying
        row.error = str(error)[:2000]
        row.next_attempt_at = now + timedelta(seconds=backoff_s(settings, row.attempts, error.retry_after))
