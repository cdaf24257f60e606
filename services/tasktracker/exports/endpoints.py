"""REST adapters for export targets, routing rules and a task's exports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from tasktracker.api.access import EditorDep, requires
from tasktracker.api.deps import SessionDep, SettingsDep, UnitOfWorkDep
from tasktracker.api.params import IdPath
from tasktracker.crypto import SecretBox
from tasktracker.exports import service
from tasktracker.exports.egress import EgressPolicy
from tasktracker.exports.schemas import (
    ExportCreate,
    ExportPublic,
    RuleCreate,
    RulePublic,
    RuleUpdate,
    TargetChoice,
    TargetCreate,
    TargetPublic,
    TargetUpdate,
)
from tasktracker.models import Role

# Targets hold credentials and rules decide where every task goes: admins only; an editor exports a
# task (picking from `/choices`) and retries its exports; a viewer reads them.
ADMIN = [requires(Role.admin)]
targets = APIRouter(prefix="/api/export-targets", tags=["exports"])
rules = APIRouter(prefix="/api/export-rules", tags=["exports"], dependencies=ADMIN)
task_exports = APIRouter(prefix="/api/tasks", tags=["exports"])


@targets.get("", dependencies=ADMIN)
async def list_targets(session: SessionDep) -> list[TargetPublic]:
    """Export targets with their settings; secrets are never returned (`has_token`, `has_webhook_secret`)."""
    return await service.list_targets(session)


@targets.get("/choices", dependencies=[requires(Role.viewer)])
async def target_choices(session: SessionDep) -> list[TargetChoice]:
    """The enabled targets a task can be exported to (names only)."""
    return await service.target_choices(session)


REFUSED: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid settings, or a URL whose host is (or resolves to) a loopback, private, "
        "link-local or unspecified address not in `TASKTRACKER_EXPORT_ALLOWED_HOSTS` "
        "(`export_target_refused`)."
    }
}


@targets.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "Name taken."}, **REFUSED},
    dependencies=ADMIN,
)
async def create_target(data: TargetCreate, session: SessionDep, settings: SettingsDep) -> TargetPublic:
    """Add a GitHub repository, Jira project, Linear team or JSON webhook; its token is stored encrypted."""
    return await service.create_target(
        session, data, SecretBox.from_settings(settings), EgressPolicy.from_settings(settings)
    )


@targets.patch(
    "/{target_id}",
    dependencies=ADMIN,
    responses={409: {"description": "Name taken (`export_target_name_taken`)."}, **REFUSED},
)
async def update_target(
    target_id: IdPath, data: TargetUpdate, session: SessionDep, settings: SettingsDep
) -> TargetPublic:
    return await service.update_target(
        session, target_id, data, SecretBox.from_settings(settings), EgressPolicy.from_settings(settings)
    )


@targets.delete(
    "/{target_id}",
    dependencies=ADMIN,
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "It has exports (`export_target_has_exports`): disable it instead."}},
)
async def delete_target(target_id: IdPath, session: SessionDep) -> None:
    await service.delete_target(session, target_id)


@rules.get("")
async def list_rules(session: SessionDep) -> list[RulePublic]:
    """Routing rules: a new task goes to every enabled target with a rule whose set conditions all hold."""
    return await service.list_rules(session)


@rules.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "No such target (`unknown_export_target`) or channel (`unknown_channel`)."}
    },
)
async def create_rule(data: RuleCreate, session: SessionDep) -> RulePublic:
    return await service.create_rule(session, data)


@rules.patch("/{rule_id}")
async def update_rule(rule_id: IdPath, data: RuleUpdate, session: SessionDep) -> RulePublic:
    return await service.update_rule(session, rule_id, data)


@rules.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: IdPath, session: SessionDep) -> None:
    await service.delete_rule(session, rule_id)


@task_exports.get("/{task_id}/exports", dependencies=[requires(Role.viewer)])
async def list_exports(task_id: IdPath, session: SessionDep) -> list[ExportPublic]:
    return await service.exports_of(session, task_id)


@task_exports.post(
    "/{task_id}/exports",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": ExportPublic, "description": "The task has an export to this target already."},
        409: {"description": "The target is disabled (`export_target_disabled`)."},
    },
)
async def export_task(
    _: EditorDep,
    task_id: IdPath,
    data: ExportCreate,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    response: Response,
) -> ExportPublic:
    """Export the task to a target; the worker creates the issue (202). One export per task and target."""
    export, created = await service.request_export(uow, settings, task_id, data.target_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return export


@task_exports.post(
    "/{task_id}/exports/{export_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"description": "The target is disabled or gone (`export_target_disabled`)."}},
)
async def retry_export(
    _: EditorDep, task_id: IdPath, export_id: IdPath, uow: UnitOfWorkDep, settings: SettingsDep
) -> ExportPublic:
    """Try an export again now (after fixing the target's token, say), its attempts counted from zero."""
    return await service.retry(uow, settings, task_id, export_id)
