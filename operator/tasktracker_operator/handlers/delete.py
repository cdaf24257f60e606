"""Deletion: what owner references cannot clean up. Everything else is garbage-collected."""

from __future__ import annotations

from typing import Any

from tasktracker_operator import spec as spec_module
from tasktracker_operator.builders.common import postgres_pvc_name
from tasktracker_operator.kube import Kube


async def on_delete(kube: Kube, spec: Any, name: str, namespace: str, logger: Any) -> None:
    """The database's claim has no owner; it goes only with postgres.deleteDataOnRemove."""
    defaulted = spec_module.with_defaults(spec)
    postgres = defaulted.get("postgres") or {}
    if not postgres.get("managed", True):
        return
    claim = postgres_pvc_name(name)
    if postgres.get("deleteDataOnRemove") is True:
        if await kube.delete("v1", "PersistentVolumeClaim", namespace, claim):
            logger.info(f"Deleted the database claim {claim} (deleteDataOnRemove).")
    else:
        logger.info(
            f"Kept the database claim {claim}: set postgres.deleteDataOnRemove to delete it with the TaskTracker."
        )
