"""One source of object shapes: the operator's builders and charts/tasktracker make the same containers.

For equivalent settings (a TaskTracker spec and the chart values that say the same), the containers of
every workload both make — api, worker, dashboard, bot, the migration, PostgreSQL, NATS and Ollama — must agree on
image, pull policy, args, environment variable names (ConfigMap keys included, and the ConfigMap's
values), ports, probes, security contexts (container and pod) and mount paths; the KEDA ScaledObject
must say the same. Known, deliberate differences are listed in `KNOWN_DIFFERENCES` with the reason.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from tasktracker_operator import builders
from tasktracker_operator.spec import Spec, with_defaults
from tests.operator.conftest import ROOT
from tests.operator.test_manifests import helm

NAME = "tasktracker"  # release name == TaskTracker name, so both name the children alike
NAMESPACE = "tasks"

# Chart values saying what the minimal sample says (the chart's own defaults differ: no Ollama, auto).
EQUIVALENT_VALUES: dict[str, Any] = {
    "image": {"registry": "ghcr.io/tasktracker", "tag": "0.1.0"},
    "dashboardImage": {"registry": "ghcr.io/tasktracker", "tag": "0.1.0"},
    "config": {"classifier": "ollama"},
    "ollama": {"enabled": True, "models": ["qwen2.5:3b-instruct"]},
    "api": {"replicas": 2},
    "dashboard": {"replicas": 1},
    "worker": {
        "concurrency": 64,
        "keda": {
            "enabled": True,
            "minReplicas": 1,
            "maxReplicas": 5,
            "lagThreshold": 10,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
        },
    },
}
POLLING_BOT_VALUES: dict[str, Any] = {
    "bot": {"enabled": True, "mode": "polling", "replicas": 1},
    "secrets": {"telegramBotToken": "123:abc"},
}

# Differences on purpose -> why.
TOKEN_MOUNT = "/var/run/secrets/tasktracker/telegram"
KNOWN_DIFFERENCES = {
    TOKEN_MOUNT: "the chart keeps the bot token in its own Secret (mounted at .../app); a TaskTracker "
    "names the user's Secret (bot.tokenSecretRef), mounted on its own: the same variable, "
    "TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE, another path",
}


def _render(values: dict[str, Any], tmp_path: Any) -> list[dict[str, Any]]:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    text = helm(
        "template",
        NAME,
        str(ROOT / "charts" / "tasktracker"),
        "--namespace",
        NAMESPACE,
        "--api-versions",
        "keda.sh/v1alpha1",
        "--values",
        str(path),
    )
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _operator_objects(spec: Spec) -> list[dict[str, Any]]:
    objs = [
        builders.build_app_configmap(spec, NAME, NAMESPACE),
        builders.build_api_deployment(spec, NAME, NAMESPACE),
        builders.build_worker_deployment(spec, NAME, NAMESPACE),
        builders.build_dashboard_deployment(spec, NAME, NAMESPACE),
        builders.build_migrate_job(spec, NAME, NAMESPACE),
        builders.build_postgres_statefulset(spec, NAME, NAMESPACE),
        builders.build_ollama_deployment(spec, NAME, NAMESPACE),
        builders.build_nats_statefulset(spec, NAME, NAMESPACE),
        builders.build_worker_scaledobject(spec, NAME, NAMESPACE),
    ]
    if spec["bot"]["enabled"] and spec["bot"]["mode"] == "polling":
        objs.append(builders.build_bot_deployment(spec, NAME, NAMESPACE))
    return objs


def _component(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["labels"]["app.kubernetes.io/component"])


def _workloads(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        _component(obj): obj
        for obj in objs
        if obj["kind"] in ("Deployment", "StatefulSet", "Job")
        # The chart's hook Jobs (model pull, external-database migration) are not the operator's.
        and "helm.sh/hook" not in (obj["metadata"].get("annotations") or {})
    }


def _config(objs: list[dict[str, Any]]) -> dict[str, str]:
    return next(
        dict(obj["data"])
        for obj in objs
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == f"{NAME}-config"
    )


def _shape(container: dict[str, Any], config: dict[str, str]) -> dict[str, Any]:
    env_names = {env["name"] for env in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == f"{NAME}-config"
        env_names |= set(config)
    return {
        "image": container["image"],
        "imagePullPolicy": container.get("imagePullPolicy"),
        "args": container.get("args"),
        "command": container.get("command"),
        "env": sorted(env_names),
        "ports": container.get("ports"),
        "livenessProbe": container.get("livenessProbe"),
        "readinessProbe": container.get("readinessProbe"),
        "startupProbe": container.get("startupProbe"),
        "securityContext": container.get("securityContext"),
        "mounts": sorted(mount["mountPath"] for mount in container.get("volumeMounts", [])),
    }


def _pod_shape(workload: dict[str, Any], config: dict[str, str]) -> dict[str, Any]:
    pod = workload["spec"]["template"]["spec"]
    return {
        "securityContext": pod.get("securityContext"),
        "automountServiceAccountToken": pod.get("automountServiceAccountToken"),
        "containers": {c["name"]: _shape(c, config) for c in pod["containers"]},
        "initContainers": {c["name"]: _shape(c, config) for c in pod.get("initContainers", [])},
    }


def _compare(spec: Spec, values: dict[str, Any], tmp_path: Any, expected_components: set[str]) -> None:
    chart_objs = _render(values, tmp_path)
    ours = _operator_objects(spec)
    chart_config, our_config = _config(chart_objs), _config(ours)
    assert our_config == chart_config

    chart_workloads, our_workloads = _workloads(chart_objs), _workloads(ours)
    assert expected_components <= set(chart_workloads), sorted(chart_workloads)
    assert expected_components <= set(our_workloads), sorted(our_workloads)
    for component in sorted(expected_components):
        chart_pod = _pod_shape(chart_workloads[component], chart_config)
        our_pod = _pod_shape(our_workloads[component], our_config)
        if spec["bot"]["enabled"]:
            # KNOWN_DIFFERENCES: the token's own mount (the variable naming it is the same).
            for shape in [*our_pod["containers"].values(), *our_pod["initContainers"].values()]:
                assert TOKEN_MOUNT in shape["mounts"], component
                shape["mounts"].remove(TOKEN_MOUNT)
        assert our_pod == chart_pod, component

    chart_scaled = next(obj for obj in chart_objs if obj["kind"] == "ScaledObject")
    our_scaled = next(obj for obj in ours if obj["kind"] == "ScaledObject")
    assert our_scaled["spec"] == chart_scaled["spec"]


def test_minimal_sample_and_equivalent_chart_values_make_the_same_containers(
    minimal_sample: dict[str, Any], tmp_path: Any
) -> None:
    spec = with_defaults(minimal_sample["spec"])
    _compare(
        spec,
        EQUIVALENT_VALUES,
        tmp_path,
        {"api", "worker", "dashboard", "migrate", "postgres", "ollama", "nats"},
    )


def test_polling_bot_makes_the_same_bot_container(minimal_sample: dict[str, Any], tmp_path: Any) -> None:
    raw = copy.deepcopy(minimal_sample["spec"])
    raw["bot"] = {"enabled": True, "mode": "polling", "tokenSecretRef": {"name": "telegram", "key": "token"}}
    spec = with_defaults(raw)
    _compare(spec, _merge(EQUIVALENT_VALUES, POLLING_BOT_VALUES), tmp_path, {"api", "worker", "bot"})


def test_a_drifted_builder_is_caught(
    minimal_sample: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison is not vacuous: a probe changed in the builders alone fails it."""
    from tasktracker_operator.builders import app

    drifted = dict(app.PROBES)
    drifted["api"] = dict(drifted["api"], readinessProbe=("/api/health", "http", 5, 4, 3))
    monkeypatch.setattr(app, "PROBES", drifted)
    spec = with_defaults(minimal_sample["spec"])
    with pytest.raises(AssertionError, match="api"):
        _compare(spec, EQUIVALENT_VALUES, tmp_path, {"api"})


def test_a_secret_key_rotation_reaches_the_same_containers(
    minimal_sample: dict[str, Any], tmp_path: Any
) -> None:
    """Mid-rotation every app process reads the earlier keys: the chart's `secrets.previousSecretKeys`
    and a TaskTracker's `secretKeyRotation` give the same containers the same file."""
    raw = copy.deepcopy(minimal_sample["spec"])
    raw["secretKeyRotation"] = True
    spec = with_defaults(raw)
    values = _merge(EQUIVALENT_VALUES, {"secrets": {"previousSecretKeys": "old-key"}})
    _compare(spec, values, tmp_path, {"api", "worker", "migrate"})
    api = builders.build_api_deployment(spec, NAME, NAMESPACE)
    env = {e["name"] for c in api["spec"]["template"]["spec"]["initContainers"] for e in c["env"]}
    assert "TASKTRACKER_PREVIOUS_SECRET_KEYS_FILE" in env  # the schema wait decrypts nothing, but gets it too
