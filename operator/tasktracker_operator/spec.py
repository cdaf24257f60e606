"""The spec as the operator reads it: the CRD's defaults applied, then checked.

The API server applies the CRD's defaults and refuses what its schema refuses; the operator does both
again itself, from the same schema (`crd.spec_schema()`), so it never builds anything from a spec the
API server would not have admitted (an old API server without CEL, an object written around the
schema) and so that builders can rely on every defaulted field being present.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonschema

from tasktracker_operator import crd

Spec = dict[str, Any]


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return crd.spec_schema()


def _apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    if schema.get("type") == "object" and isinstance(value, dict):
        for key, prop in schema.get("properties", {}).items():
            if key not in value and "default" in prop:
                value[key] = copy.deepcopy(prop["default"])
            if key in value:
                value[key] = _apply_defaults(prop, value[key])
    elif schema.get("type") == "array" and isinstance(value, list) and "items" in schema:
        return [_apply_defaults(schema["items"], item) for item in value]
    return value


def with_defaults(spec: Mapping[str, Any] | None) -> Spec:
    """A deep copy of `spec` with the CRD's defaults filled in, as the API server would."""
    result = copy.deepcopy(dict(spec or {}))
    defaulted: Spec = _apply_defaults(_schema(), result)
    return defaulted


def _path(error: jsonschema.ValidationError) -> str:
    parts = ["spec"]
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).replace(".[", "[")


def _cross_field_errors(spec: Spec) -> list[str]:
    """The CRD's `x-kubernetes-validations` rules, in Python (same messages)."""
    errors: list[str] = []
    postgres, nats, ollama = spec["postgres"], spec["nats"], spec["ollama"]
    bot, workers, ingress = spec["bot"], spec["workers"], spec["ingress"]
    if postgres["managed"] == ("external" in postgres):
        errors.append(
            "postgres.external.secretRef is required when postgres.managed is false, "
            "and not allowed when it is true"
        )
    has_url, has_ref = "url" in nats, "urlSecretRef" in nats
    if nats["managed"]:
        nats_ok = not has_url and not has_ref
    else:
        nats_ok = has_url != has_ref and "monitoringEndpoint" in nats
    if not nats_ok:
        errors.append(
            "nats.managed false needs nats.monitoringEndpoint and one of nats.url or nats.urlSecretRef; "
            "nats.managed true allows neither"
        )
    if ollama["enabled"] and not ollama["models"]:
        errors.append("ollama.models needs at least one model when ollama.enabled is true")
    if bot["enabled"] and "tokenSecretRef" not in bot:
        errors.append("bot.tokenSecretRef is required when bot.enabled is true")
    if workers["minReplicas"] > workers["maxReplicas"]:
        errors.append("workers.minReplicas must not be greater than workers.maxReplicas")
    if ingress["enabled"] and "host" not in ingress:
        errors.append("ingress.host is required when ingress.enabled is true")
    if bot["enabled"] and bot["mode"] == "webhook" and not (ingress["enabled"] and "host" in ingress):
        errors.append("bot.mode webhook needs ingress.enabled and ingress.host: Telegram must reach the API")
    return errors


def validate(spec: Spec, name: str) -> list[str]:
    """Every reason the (defaulted) spec cannot be reconciled; empty when it can."""
    errors: list[str] = []
    if len(name) > crd.MAX_NAME_LENGTH:
        errors.append(
            f"the TaskTracker name must be at most {crd.MAX_NAME_LENGTH} characters (children are named after it)"
        )
    validator = jsonschema.Draft7Validator(_schema())
    schema_errors = sorted(validator.iter_errors(spec), key=lambda e: list(e.absolute_path))
    errors.extend(f"{_path(error)}: {error.message}" for error in schema_errors)
    if not schema_errors:  # the cross-field rules assume the types are right
        errors.extend(_cross_field_errors(spec))
    return errors
