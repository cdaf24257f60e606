"""Standard conditions and the summary fields of `status`, computed from what the operator observed."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONDITION_TYPES = ("Ready", "DatabaseReady", "BrokerReady", "ModelsReady", "WorkersScaling", "Degraded")


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None  # None: Unknown
    reason: str
    message: str

    @property
    def status_text(self) -> str:
        return "Unknown" if self.status is None else ("True" if self.status else "False")


def merge_conditions(
    previous: Iterable[Mapping[str, Any]] | None, current: Iterable[Condition], generation: int | None
) -> list[dict[str, Any]]:
    """The conditions list to write: lastTransitionTime moves only when a condition's status changes."""
    before = {c.get("type"): c for c in previous or ()}
    result = []
    for condition in current:
        old = before.get(condition.type)
        changed = old is None or old.get("status") != condition.status_text
        item: dict[str, Any] = {
            "type": condition.type,
            "status": condition.status_text,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": now() if changed or old is None else old.get("lastTransitionTime", now()),
        }
        if generation is not None:
            item["observedGeneration"] = generation
        result.append(item)
    return result


@dataclass
class Observation:
    """What one reconciliation found; `conditions()` and `phase()` turn it into status."""

    invalid: list[str] = field(default_factory=list)
    database: Condition | None = None
    broker: Condition | None = None
    models: Condition | None = None
    scaling: Condition | None = None
    migration_failed: str = ""
    migrating: bool = False
    model_failures: list[str] = field(default_factory=list)
    webhook_failure: str = ""
    app_ready: bool = False
    app_message: str = ""

    def conditions(self) -> list[Condition]:
        if self.invalid:
            message = "; ".join(self.invalid)
            unknown = "the spec is invalid: nothing was changed"
            return [
                Condition("Ready", False, "InvalidSpec", message),
                Condition("DatabaseReady", None, "InvalidSpec", unknown),
                Condition("BrokerReady", None, "InvalidSpec", unknown),
                Condition("ModelsReady", None, "InvalidSpec", unknown),
                Condition("WorkersScaling", None, "InvalidSpec", unknown),
                Condition("Degraded", True, "InvalidSpec", message),
            ]
        parts = [c for c in (self.database, self.broker, self.models, self.scaling) if c is not None]
        waiting = [c for c in parts[:3] if not c.status]
        if self.migration_failed:
            degraded = Condition("Degraded", True, "MigrationFailed", self.migration_failed)
        elif self.model_failures:
            degraded = Condition("Degraded", True, "ModelPullFailed", "; ".join(self.model_failures))
        elif self.webhook_failure:
            degraded = Condition("Degraded", True, "WebhookRegistrationFailed", self.webhook_failure)
        else:
            degraded = Condition("Degraded", False, "AsExpected", "nothing is failing")
        if waiting:
            ready = Condition("Ready", False, waiting[0].reason, waiting[0].message)
        elif self.migrating:
            ready = Condition("Ready", False, "Migrating", self.app_message)
        elif not self.app_ready:
            ready = Condition("Ready", False, "AppNotReady", self.app_message)
        else:
            ready = Condition("Ready", True, "AllReady", self.app_message)
        return [ready, *parts, degraded]

    def phase(self) -> str:
        if self.invalid:
            return "Invalid"
        conditions = {c.type: c for c in self.conditions()}
        if conditions["Degraded"].status:
            return "Degraded"
        if conditions["Ready"].status:
            return "Ready"
        if self.migrating:
            return "Migrating"
        return "Provisioning"
