"""The CRD's schema: it admits both samples and refuses bad specs, CEL rules included.

What is checked, precisely: the `openAPIV3Schema` as JSON Schema (draft 7: types, enums, patterns,
minimums, required) with jsonschema, after the schema's defaults are applied as the API server
applies them; every `x-kubernetes-validations` rule evaluated with cel-python (a CEL implementation,
not the API server's) against the node it is attached to. Not checked: the API server's own
structural-schema rules beyond what `kubernetes-validate` checks of the CRD object itself.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import celpy
import jsonschema
import kubernetes_validate
import pytest

from tasktracker_operator import crd
from tasktracker_operator.spec import validate, with_defaults


def _schema() -> dict[str, Any]:
    return crd.build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def _rules(schema: dict[str, Any], value: Any, path: str) -> Iterator[tuple[str, str, str, Any]]:
    """(path, rule, message, self) for every CEL rule whose node is present in `value`."""
    for rule in schema.get("x-kubernetes-validations", []):
        yield path, rule["rule"], rule["message"], value
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                yield from _rules(sub, value[key], f"{path}.{key}")


def cel_errors(obj: dict[str, Any]) -> list[str]:
    env = celpy.Environment()
    errors = []
    for path, rule, message, node in _rules(_schema(), obj, "self"):
        result = env.program(env.compile(rule)).evaluate({"self": celpy.json_to_cel(node)})
        if isinstance(result, Exception):
            raise AssertionError(f"{path}: rule {rule!r} did not evaluate: {result}")
        if not result:
            errors.append(message)
    return errors


def admit(obj: dict[str, Any]) -> list[str]:
    """What the API server would say: schema errors, then CEL rule messages; empty means admitted."""
    obj = copy.deepcopy(obj)
    obj["spec"] = with_defaults(obj.get("spec"))
    validator = jsonschema.Draft7Validator(_schema())
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    return errors or cel_errors(obj)


def test_the_crd_is_a_valid_custom_resource_definition() -> None:
    definition = crd.build_crd()
    kubernetes_validate.validate(definition, "1.30.0", strict=True)
    version = definition["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert definition["spec"]["names"]["shortNames"] == ["tt"]
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert {"Ready", "Version", "Workers", "Models", "Age"} <= set(columns)


def test_both_samples_are_admitted(minimal_sample: dict[str, Any], full_sample: dict[str, Any]) -> None:
    assert admit(minimal_sample) == []
    assert admit(full_sample) == []


def _with(sample: dict[str, Any], **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(sample)
    obj["spec"].update(spec)
    return obj


BAD_SPECS = {
    "version missing": ({"version": None}, "'version' is a required property"),
    "version not a string": ({"version": 1}, "1 is not of type 'string'"),
    "replicas not a number": ({"api": {"replicas": "two"}}, "'two' is not of type 'integer'"),
    "replicas below minimum": ({"api": {"replicas": 0}}, "0 is less than the minimum of 1"),
    "unknown bot mode": ({"bot": {"mode": "sms"}}, "'sms' is not one of ['webhook', 'polling']"),
    "bad storage size": ({"postgres": {"storage": {"size": "lots"}}}, "'lots' does not match"),
    "bad model name": ({"ollama": {"models": ["Not A Model!"]}}, "does not match"),
    "min above max replicas": (
        {"workers": {"minReplicas": 6, "maxReplicas": 3}},
        "workers.minReplicas must not be greater than workers.maxReplicas",
    ),
    "external database without secret": (
        {"postgres": {"managed": False}},
        "postgres.external.secretRef is required when postgres.managed is false",
    ),
    "external nats without url": (
        {"nats": {"managed": False}},
        "nats.managed false needs nats.monitoringEndpoint and one of nats.url or nats.urlSecretRef",
    ),
    "external nats with url and secret": (
        {
            "nats": {
                "managed": False,
                "url": "nats://n:4222",
                "urlSecretRef": {"name": "n"},
                "monitoringEndpoint": "n:8222",
            }
        },
        "nats.managed false needs nats.monitoringEndpoint and one of nats.url or nats.urlSecretRef",
    ),
    "bot without token": ({"bot": {"enabled": True}}, "bot.tokenSecretRef is required"),
    "webhook bot without ingress": (
        {"bot": {"enabled": True, "mode": "webhook", "tokenSecretRef": {"name": "t"}}},
        "bot.mode webhook needs ingress.enabled and ingress.host",
    ),
    "ingress without host": ({"ingress": {"enabled": True}}, "ingress.host is required"),
}


@pytest.mark.parametrize("case", BAD_SPECS, ids=list(BAD_SPECS))
def test_bad_specs_are_refused_with_a_clear_message(minimal_sample: dict[str, Any], case: str) -> None:
    change, expected = BAD_SPECS[case]
    obj = _with(minimal_sample, **change)
    obj["spec"] = {k: v for k, v in obj["spec"].items() if v is not None}
    errors = admit(obj)
    assert any(expected in error for error in errors), errors


@pytest.mark.parametrize("case", BAD_SPECS, ids=list(BAD_SPECS))
def test_the_operator_refuses_the_same_specs(minimal_sample: dict[str, Any], case: str) -> None:
    """The operator's own check (for specs that reached it without the API server's) agrees."""
    change, expected = BAD_SPECS[case]
    spec = {k: v for k, v in {**minimal_sample["spec"], **change}.items() if v is not None}
    errors = validate(with_defaults(spec), "tasktracker")
    assert any(expected in error for error in errors), errors


def test_long_names_are_refused_by_both(minimal_sample: dict[str, Any]) -> None:
    obj = copy.deepcopy(minimal_sample)
    obj["metadata"]["name"] = "t" * 41
    assert any("at most 40 characters" in e for e in admit(obj))
    assert any(
        "at most 40 characters" in e for e in validate(with_defaults(obj["spec"]), obj["metadata"]["name"])
    )


def test_defaults_are_those_of_the_schema(minimal_sample: dict[str, Any]) -> None:
    spec = with_defaults(minimal_sample["spec"])
    assert spec["postgres"] == {
        "managed": True,
        "image": "docker.io/postgres:16.4-alpine",
        "storage": {"size": "8Gi"},
        "deleteDataOnRemove": False,
    }
    assert spec["workers"]["minReplicas"] == 1 and spec["workers"]["maxReplicas"] == 5
    assert spec["nats"]["consumer"] == "tasktracker_workers" and spec["nats"]["stream"] == "tasktracker_jobs"
    assert spec["ollama"]["models"] == ["qwen2.5:3b-instruct"]
    assert validate(spec, "tasktracker") == []


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path or "<root>", schema
    for key, sub in schema.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{key}")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}{{}}")


def test_the_schema_is_structural_and_its_defaults_are_valid() -> None:
    """What the API server demands of a CRD schema beyond its shape (kubernetes-validate does not)."""
    for path, node in _nodes(_schema()):
        assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), f"{path}: no type"
        assert not ("properties" in node and "additionalProperties" in node), f"{path}: both properties kinds"
        if "default" in node:
            jsonschema.Draft7Validator(node).validate(node["default"])
        if node.get("x-kubernetes-list-type") == "set":
            assert node["items"]["type"] in ("string", "integer", "number", "boolean"), path
        if node.get("x-kubernetes-list-type") == "map":
            assert set(node["x-kubernetes-list-map-keys"]) <= set(node["items"].get("required", [])), path
        for rule in node.get("x-kubernetes-validations", []):
            celpy.Environment().compile(rule["rule"])  # parses as CEL
            assert rule["message"], f"{path}: a rule without a message"
