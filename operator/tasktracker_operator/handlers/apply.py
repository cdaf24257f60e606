"""Idempotent apply of one built child: create it, or patch only what differs from the built object."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import kopf

from tasktracker_operator.kube import ApiError, Kube, Obj


def covers(actual: Any, desired: Any) -> bool:
    """Whether `actual` already has everything `desired` says (the server may have added more)."""
    if isinstance(desired, Mapping):
        return isinstance(actual, Mapping) and all(covers(actual.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(covers(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return bool(actual == desired)


def merge_patch_for(actual: Mapping[str, Any], desired: Mapping[str, Any]) -> Obj:
    """The JSON merge patch that brings `actual` to `desired` for the fields `desired` sets."""
    patch: Obj = {}
    for key, value in desired.items():
        current = actual.get(key)
        if covers(current, value):
            continue
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            patch[key] = merge_patch_for(current, value)
        else:
            patch[key] = copy.deepcopy(value)
    return patch


def _deep_merge(base: Obj, extra: Mapping[str, Any]) -> Obj:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


async def apply(
    kube: Kube,
    desired: Obj,
    *,
    owner: kopf.Body | None,
    on_create: Mapping[str, Any] | None = None,
    create_only: bool = False,
    drop_annotations: Iterable[str] = (),
) -> Obj:
    """Create `desired` or patch the live object towards it; return the live object.

    `owner`: set as controller owner reference, so deleting the TaskTracker deletes the child.
    `on_create`: fields set only when creating (e.g. initial replicas an autoscaler takes over).
    `create_only`: never patch (generated Secrets, Jobs, claims).
    `drop_annotations`: annotations removed from the live object when `desired` lacks them.
    """
    desired = copy.deepcopy(desired)
    if owner is not None:
        kopf.append_owner_reference(desired, owner=owner)
    meta = desired["metadata"]
    actual = await kube.get(desired["apiVersion"], desired["kind"], meta["namespace"], meta["name"])
    if actual is None:
        try:
            return await kube.create(_deep_merge(copy.deepcopy(desired), on_create or {}))
        except ApiError as exc:
            if exc.status != 409:
                raise
            # Created meanwhile (another pass, or a person): continue as with an existing object.
            actual = await kube.get(desired["apiVersion"], desired["kind"], meta["namespace"], meta["name"])
            if actual is None:
                raise
    if create_only:
        return actual
    patch = merge_patch_for(actual, desired)
    live_annotations = (actual.get("metadata") or {}).get("annotations") or {}
    wanted_annotations = meta.get("annotations") or {}
    for key in drop_annotations:
        if key in live_annotations and key not in wanted_annotations:
            patch.setdefault("metadata", {}).setdefault("annotations", {})[key] = None
    if not patch:
        return actual
    return await kube.merge_patch(
        desired["apiVersion"], desired["kind"], meta["namespace"], meta["name"], patch
    )
