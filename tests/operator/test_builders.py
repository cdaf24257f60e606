"""The pure builders, without a cluster: shapes, conventions, and offline validation of every child."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tasktracker.config_docs import known_env_names
from tasktracker_operator import builders
from tasktracker_operator.builders.common import pull_job_name
from tasktracker_operator.spec import Spec, validate, with_defaults

NAME = "tt"
NS = "team"
K8S_VERSION = "1.30.0"
SCALEDOBJECT_SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "keda-scaledobject.schema.json").read_text()
)
REQUIRED_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
}


def all_children(spec: Spec) -> list[dict[str, Any]]:
    """Every object the operator can make for `spec` (both scalers, paused and not)."""
    objs = [
        builders.build_app_configmap(spec, NAME, NS),
        builders.build_app_secret(spec, NAME, NS, secret_key="k" * 40, webhook_secret="w" * 40),
        builders.build_admin_secret(spec, NAME, NS, password="a" * 32),
        builders.build_api_service(spec, NAME, NS),
        builders.build_api_deployment(spec, NAME, NS),
        builders.build_worker_deployment(spec, NAME, NS),
        builders.build_worker_deployment(spec, NAME, NS, replicas=0),
        builders.build_dashboard_service(spec, NAME, NS),
        builders.build_dashboard_deployment(spec, NAME, NS),
        builders.build_migrate_job(spec, NAME, NS),
        builders.build_worker_scaledobject(spec, NAME, NS),
        builders.build_worker_scaledobject(spec, NAME, NS, paused=True),
        builders.build_worker_hpa(spec, NAME, NS),
        builders.build_nats_service(spec, NAME, NS),
    ]
    if spec["postgres"]["managed"]:
        objs += [
            builders.build_postgres_secret(spec, NAME, NS, password="p" * 32),
            builders.build_postgres_pvc(spec, NAME, NS),
            builders.build_postgres_service(spec, NAME, NS),
            builders.build_postgres_statefulset(spec, NAME, NS),
        ]
    if spec["nats"]["managed"]:
        objs += [
            builders.build_nats_pvc(spec, NAME, NS),
            builders.build_nats_configmap(spec, NAME, NS),
            builders.build_nats_statefulset(spec, NAME, NS),
        ]
    if spec["ollama"]["enabled"]:
        objs += [
            builders.build_ollama_pvc(spec, NAME, NS),
            builders.build_ollama_service(spec, NAME, NS),
            builders.build_ollama_deployment(spec, NAME, NS),
        ]
        objs += [builders.build_model_pull_job(spec, NAME, NS, model=m) for m in spec["ollama"]["models"]]
    if spec["bot"]["enabled"] and spec["bot"]["mode"] == "polling":
        objs.append(builders.build_bot_deployment(spec, NAME, NS))
    if spec["ingress"]["enabled"]:
        objs.append(builders.build_ingress(spec, NAME, NS))
    if spec["bot"]["enabled"] and spec["bot"]["mode"] == "webhook":
        objs.append(builders.build_set_webhook_job(spec, NAME, NS))
    return objs


@pytest.fixture(params=["minimal", "full", "polling-bot"])
def spec(request: pytest.FixtureRequest, minimal_sample: dict[str, Any], full_sample: dict[str, Any]) -> Spec:
    if request.param == "minimal":
        return with_defaults(minimal_sample["spec"])
    if request.param == "full":
        return with_defaults(full_sample["spec"])
    polling = copy.deepcopy(minimal_sample["spec"])
    polling["bot"] = {"enabled": True, "mode": "polling", "tokenSecretRef": {"name": "telegram"}}
    polling["ollama"] = {"enabled": False}
    return with_defaults(polling)


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    template = (obj.get("spec") or {}).get("template")
    return template["spec"] if template else None


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod_spec(obj)
    return list(pod["containers"]) if pod else []


def test_builtin_kinds_pass_kubernetes_validate_strict(spec: Spec) -> None:
    checked = 0
    for obj in all_children(spec):
        if obj["kind"] == "ScaledObject":
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 12


def test_scaledobjects_pass_the_keda_schema(spec: Spec) -> None:
    scaled = [obj for obj in all_children(spec) if obj["kind"] == "ScaledObject"]
    assert len(scaled) == 2
    for obj in scaled:
        jsonschema.validate(obj, SCALEDOBJECT_SCHEMA)


def test_the_keda_schema_refuses_a_trigger_without_its_consumer(spec: Spec) -> None:
    broken = builders.build_worker_scaledobject(spec, NAME, NS)
    del broken["spec"]["triggers"][0]["metadata"]["consumer"]
    with pytest.raises(jsonschema.ValidationError, match="consumer"):
        jsonschema.validate(broken, SCALEDOBJECT_SCHEMA)


def test_kubernetes_validate_refuses_a_broken_deployment(spec: Spec) -> None:
    broken = builders.build_api_deployment(spec, NAME, NS)
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_every_child_is_labelled_and_selectors_match_their_pods(spec: Spec) -> None:
    for obj in all_children(spec):
        labels = obj["metadata"]["labels"]
        assert set(labels) >= REQUIRED_LABELS, obj["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == NAME
        assert labels["app.kubernetes.io/version"] == spec["version"]
        assert obj["metadata"]["namespace"] == NS
        selector = (obj.get("spec") or {}).get("selector")
        if obj["kind"] in ("Deployment", "StatefulSet"):
            pod_labels = obj["spec"]["template"]["metadata"]["labels"]
            assert selector["matchLabels"].items() <= pod_labels.items()
            assert "app.kubernetes.io/version" not in selector["matchLabels"], "selectors are immutable"


def test_every_container_runs_locked_down(spec: Spec) -> None:
    for obj in all_children(spec):
        pod = _pod_spec(obj)
        if pod is None:
            continue
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["runAsNonRoot"] is True
            mounted = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            if container["image"].split("/")[-1].startswith(("tasktracker:", "tasktracker-dashboard:")):
                assert "/tmp" in mounted, f"{container['name']} writes to /tmp on a read-only root"


def test_app_and_dashboard_images_and_users(spec: Spec) -> None:
    registry, version = spec["imageRegistry"], spec["version"]
    app_pods = 0
    for obj in all_children(spec):
        pod = _pod_spec(obj)
        if pod is None:
            continue
        for container in pod["containers"] + pod.get("initContainers", []):
            if container["name"] in ("api", "worker", "bot", "migrate", "wait-for-schema"):
                assert container["image"] == f"{registry}/tasktracker:{version}"
                assert pod["securityContext"]["runAsUser"] == 10001
                app_pods += 1
            if container["name"] == "dashboard":
                assert container["image"] == f"{registry}/tasktracker-dashboard:{version}"
                assert pod["securityContext"]["runAsUser"] == 101
    assert app_pods >= 4


def _configmap_data(spec: Spec) -> dict[str, str]:
    return dict(builders.build_app_configmap(spec, NAME, NS)["data"])


def _env_names(spec: Spec, container: dict[str, Any]) -> set[str]:
    """The variables a container gets: its env, plus the keys of the ConfigMap it reads."""
    names = {env["name"] for env in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == f"{NAME}-config"
        names |= set(_configmap_data(spec))
    return names


def test_app_containers_only_set_variables_the_app_knows(spec: Spec) -> None:
    known = known_env_names()
    seen: set[str] = set()
    for obj in all_children(spec):
        pod = _pod_spec(obj)
        for container in (pod["containers"] + pod.get("initContainers", [])) if pod else []:
            if container["name"] in ("api", "worker", "bot", "migrate", "wait-for-schema", "set-webhook"):
                names = _env_names(spec, container)
                assert names <= known, f"{container['name']}: unknown to Settings: {sorted(names - known)}"
                seen |= names
    assert {"TASKTRACKER_NATS_URL", "TASKTRACKER_SECRET_KEY_FILE", "TASKTRACKER_NATS_DURABLE"} <= seen
    # Secrets travel as files, never as values in the environment or the ConfigMap.
    for obj in all_children(spec):
        for container in _containers(obj):
            sources = [env.get("valueFrom", {}) for env in container.get("env", [])]
            assert all("secretKeyRef" not in source for source in sources), container["name"]


def test_app_pods_wait_for_the_schema_and_read_secrets_from_files(spec: Spec) -> None:
    api = builders.build_api_deployment(spec, NAME, NS)
    pod = api["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert init["args"] == ["migrate", "--wait", "--timeout", "600"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["app-secrets"]["secret"]["secretName"] == f"{NAME}-app"
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    # Besides files, only the admin's name and email, which are no secrets (the password is a file).
    assert env.pop("TASKTRACKER_ADMIN_USERNAME") == spec["auth"]["admin"]["username"]
    env.pop("TASKTRACKER_ADMIN_EMAIL", None)
    assert "TASKTRACKER_ADMIN_PASSWORD_FILE" in env
    for variable, path in env.items():
        assert variable.endswith("_FILE")
        assert path.rsplit("/", 1)[0] in mounts, f"{variable} points outside the mounted secrets"
    checksum = api["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    changed = builders.build_api_deployment(
        dict(spec, workers=dict(spec["workers"], concurrency=99)), NAME, NS
    )
    assert changed["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != checksum


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {env["name"]: env.get("value", env.get("valueFrom")) for env in container["env"]}


def test_probes_and_ports_follow_the_conventions(spec: Spec) -> None:
    api = _containers(builders.build_api_deployment(spec, NAME, NS))[0]
    assert api["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert api["livenessProbe"]["httpGet"] == {"path": "/api/health", "port": "http"}
    assert api["readinessProbe"]["httpGet"] == {"path": "/api/health/ready", "port": "http"}
    worker = _containers(builders.build_worker_deployment(spec, NAME, NS))[0]
    assert worker["ports"][0] == {"name": "health", "containerPort": 8081, "protocol": "TCP"}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert worker["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    dashboard = _containers(builders.build_dashboard_deployment(spec, NAME, NS))[0]
    assert dashboard["ports"][0]["containerPort"] == 8080
    nats = builders.build_nats_service(spec, NAME, NS)
    assert {p["name"]: p["port"] for p in nats["spec"]["ports"]} == {"client": 4222, "monitor": 8222}


def test_worker_replicas_are_left_to_the_autoscaler(spec: Spec) -> None:
    assert "replicas" not in builders.build_worker_deployment(spec, NAME, NS)["spec"]
    assert builders.build_worker_deployment(spec, NAME, NS, replicas=0)["spec"]["replicas"] == 0


def test_scaledobject_measures_the_consumer_the_workers_use(spec: Spec) -> None:
    scaled = builders.build_worker_scaledobject(spec, NAME, NS)
    trigger = scaled["spec"]["triggers"][0]["metadata"]
    worker_env = _configmap_data(spec)
    assert trigger["consumer"] == worker_env["TASKTRACKER_NATS_DURABLE"] == spec["nats"]["consumer"]
    assert trigger["stream"] == worker_env["TASKTRACKER_NATS_STREAM"] == spec["nats"]["stream"]
    assert trigger["lagThreshold"] == str(spec["workers"]["lagThreshold"])
    assert scaled["spec"]["maxReplicaCount"] == spec["workers"]["maxReplicas"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == f"{NAME}-worker"
    if spec["nats"]["managed"]:
        assert trigger["natsServerMonitoringEndpoint"] == f"{NAME}-nats.{NS}.svc:8222"
    assert "annotations" not in scaled["metadata"]
    paused = builders.build_worker_scaledobject(spec, NAME, NS, paused=True)
    assert paused["metadata"]["annotations"] == {"autoscaling.keda.sh/paused-replicas": "0"}


def test_full_sample_wiring(full_sample: dict[str, Any]) -> None:
    spec = with_defaults(full_sample["spec"])
    api_pod = builders.build_api_deployment(spec, NAME, NS)["spec"]["template"]["spec"]
    env = _env(api_pod["containers"][0])
    volumes = {v["name"]: v["secret"] for v in api_pod["volumes"] if "secret" in v}
    # External database: the whole URL is a file from the user's Secret; no PostgreSQL is built.
    assert env["TASKTRACKER_DATABASE_URL_FILE"] == "/var/run/secrets/tasktracker/database/url"
    assert volumes["database-secret"]["secretName"] == "tasktracker-db"
    assert "TASKTRACKER_DATABASE_URL" not in _configmap_data(spec)
    # Webhook bot: the token and the webhook secret as files; no bot Deployment.
    assert env["TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE"] == "/var/run/secrets/tasktracker/telegram/token"
    assert volumes["telegram-secret"]["secretName"] == "telegram-bot"
    assert "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET_FILE" in env
    config = _configmap_data(spec)
    assert config["TASKTRACKER_PUBLIC_URL"] == "https://tasks.example.com"
    assert config["TASKTRACKER_TELEGRAM_MODE"] == "webhook"
    assert config["TASKTRACKER_OLLAMA_MODEL"] == "qwen2.5:3b-instruct"
    assert not any(
        obj["kind"] == "Deployment" and obj["metadata"]["name"] == f"{NAME}-bot" for obj in all_children(spec)
    )
    ollama = builders.build_ollama_deployment(spec, NAME, NS)
    pod = ollama["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    ingress = builders.build_ingress(spec, NAME, NS)
    assert ingress["spec"]["tls"] == [{"hosts": ["tasks.example.com"], "secretName": "tasks-example-com-tls"}]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert pod["imagePullSecrets"] == [{"name": "ghcr-pull"}]


def test_pull_jobs_are_named_per_model_and_stay_out_of_the_ollama_service(
    full_sample: dict[str, Any],
) -> None:
    spec = with_defaults(full_sample["spec"])
    jobs = [builders.build_model_pull_job(spec, NAME, NS, model=m) for m in spec["ollama"]["models"]]
    names = [job["metadata"]["name"] for job in jobs]
    assert len(set(names)) == 2 and all(len(n) <= 63 for n in names)
    assert names[0] == pull_job_name(NAME, "qwen2.5:3b-instruct")
    selector = builders.build_ollama_service(spec, NAME, NS)["spec"]["selector"]
    for job in jobs:
        pod_labels = job["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= pod_labels.items()


def test_migration_job_is_per_version(minimal_sample: dict[str, Any]) -> None:
    spec = with_defaults(minimal_sample["spec"])
    first = builders.build_migrate_job(spec, NAME, NS)
    second = builders.build_migrate_job(dict(spec, version="0.2.0"), NAME, NS)
    assert first["metadata"]["name"] != second["metadata"]["name"]
    assert _containers(second)[0]["image"].endswith(":0.2.0")
    assert first["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_builders_are_pure(minimal_sample: dict[str, Any]) -> None:
    spec = with_defaults(minimal_sample["spec"])
    before = copy.deepcopy(spec)
    assert all_children(spec) == all_children(spec)
    assert spec == before


def test_database_claim_has_no_owner_and_keeps_its_name(minimal_sample: dict[str, Any]) -> None:
    spec = with_defaults(minimal_sample["spec"])
    claim = builders.build_postgres_pvc(spec, NAME, NS)
    assert claim["metadata"]["name"] == f"{NAME}-postgres-data"
    assert "ownerReferences" not in claim["metadata"]
    sts = builders.build_postgres_statefulset(spec, NAME, NS)
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_webhook_mode_registers_the_public_url_once_per_url_and_version(full_sample: dict[str, Any]) -> None:
    spec = with_defaults(full_sample["spec"])
    job = builders.build_set_webhook_job(spec, NAME, NS)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["bot", "set-webhook"]
    assert {e["name"] for e in container["env"]} >= {
        "TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE",
        "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET_FILE",
    }
    assert _configmap_data(spec)["TASKTRACKER_PUBLIC_URL"] == "https://tasks.example.com"
    same = builders.build_set_webhook_job(copy.deepcopy(spec), NAME, NS)
    other_version = builders.build_set_webhook_job(dict(spec, version="0.2.0"), NAME, NS)
    other_host = builders.build_set_webhook_job(
        dict(spec, ingress=dict(spec["ingress"], host="other.example.com")), NAME, NS
    )
    names = {j["metadata"]["name"] for j in (job, same, other_version, other_host)}
    assert len(names) == 3


def test_external_nats_url_from_a_secret_stays_out_of_the_configmap(minimal_sample: dict[str, Any]) -> None:
    raw = copy.deepcopy(minimal_sample["spec"])
    raw["nats"] = {
        "managed": False,
        "urlSecretRef": {"name": "nats-creds"},
        "monitoringEndpoint": "nats.ops:8222",
    }
    spec = with_defaults(raw)
    assert validate(spec, NAME) == []
    assert "TASKTRACKER_NATS_URL" not in _configmap_data(spec)
    pod = builders.build_worker_deployment(spec, NAME, NS)["spec"]["template"]["spec"]
    env = _env(pod["containers"][0])
    assert env["TASKTRACKER_NATS_URL_FILE"] == "/var/run/secrets/tasktracker/nats/url"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["nats-secret"]["secret"]["secretName"] == "nats-creds"
    scaled = builders.build_worker_scaledobject(spec, NAME, NS)
    assert scaled["spec"]["triggers"][0]["metadata"]["natsServerMonitoringEndpoint"] == "nats.ops:8222"
    for obj in all_children(spec):
        if obj["kind"] != "ScaledObject":
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_api_trusts_its_service_names_and_the_public_host(full_sample: dict[str, Any]) -> None:
    spec = with_defaults(full_sample["spec"])
    hosts = _configmap_data(spec)["TASKTRACKER_TRUSTED_HOSTS"].split(",")
    assert hosts == [
        f"{NAME}-api",
        f"{NAME}-api.{NS}",
        f"{NAME}-api.{NS}.svc",
        f"{NAME}-api.{NS}.svc.cluster.local",
        "tasks.example.com",
    ]


# Accounts ------------------------------------------------------------------------------------------------


def _api_pod(spec: Spec) -> dict[str, Any]:
    pod: dict[str, Any] = builders.build_api_deployment(spec, NAME, NS)["spec"]["template"]["spec"]
    return pod


def test_only_the_api_container_gets_the_admin_bootstrap(spec: Spec) -> None:
    """Settings refuses an admin username without its password: no other process may get half of it."""
    assert builders.build_app_configmap(spec, NAME, NS)["data"]["TASKTRACKER_AUTH"] == "on"
    for obj in all_children(spec):
        pod = _pod_spec(obj)
        for container in (pod["containers"] + pod.get("initContainers", [])) if pod else []:
            names = {env["name"] for env in container.get("env", [])}
            admin = {n for n in names if n.startswith("TASKTRACKER_ADMIN_")}
            is_api = obj["kind"] == "Deployment" and obj["metadata"]["name"] == f"{NAME}-api"
            if is_api and container["name"] == "api":
                assert {"TASKTRACKER_ADMIN_USERNAME", "TASKTRACKER_ADMIN_PASSWORD_FILE"} <= admin
            else:
                assert not admin, f"{obj['metadata']['name']}/{container['name']}: {admin}"


def test_the_admin_password_comes_from_the_generated_secret_by_default(
    minimal_sample: dict[str, Any],
) -> None:
    spec = with_defaults(minimal_sample["spec"])
    assert spec["auth"]["admin"]["username"] == "admin"
    pod = _api_pod(spec)
    env = _env(pod["containers"][0])
    assert env["TASKTRACKER_ADMIN_PASSWORD_FILE"] == "/var/run/secrets/tasktracker/admin/password"
    volume = next(v for v in pod["volumes"] if v["name"] == "admin-secret")
    assert volume["secret"]["secretName"] == f"{NAME}-admin"
    secret = builders.build_admin_secret(spec, NAME, NS, password="x" * 32)
    assert secret["metadata"]["name"] == f"{NAME}-admin" and secret["stringData"] == {"password": "x" * 32}
    assert "TASKTRACKER_API_DOCS" not in builders.build_app_configmap(spec, NAME, NS)["data"]


def test_a_named_admin_secret_and_api_docs_are_passed_on(full_sample: dict[str, Any]) -> None:
    spec = with_defaults(full_sample["spec"])
    pod = _api_pod(spec)
    env = _env(pod["containers"][0])
    assert env["TASKTRACKER_ADMIN_USERNAME"] == "ops-admin"
    assert env["TASKTRACKER_ADMIN_EMAIL"] == "ops@example.com"
    volume = next(v for v in pod["volumes"] if v["name"] == "admin-secret")
    assert volume["secret"]["secretName"] == "tasktracker-admin"
    assert volume["secret"]["items"] == [{"key": "password", "path": "password"}]
    assert builders.build_app_configmap(spec, NAME, NS)["data"]["TASKTRACKER_API_DOCS"] == "viewer"


def test_an_empty_admin_username_bootstraps_nobody(minimal_sample: dict[str, Any]) -> None:
    raw = copy.deepcopy(minimal_sample["spec"])
    raw["auth"] = {"admin": {"username": ""}}
    pod = _api_pod(with_defaults(raw))
    assert not [e for e in pod["containers"][0]["env"] if e["name"].startswith("TASKTRACKER_ADMIN_")]
    assert "admin-secret" not in {v["name"] for v in pod["volumes"]}


def test_a_bad_admin_username_is_refused(minimal_sample: dict[str, Any]) -> None:
    raw = copy.deepcopy(minimal_sample["spec"])
    raw["auth"] = {"admin": {"username": "admin; drop table users"}, "apiDocs": "everyone"}
    errors = validate(with_defaults(raw), NAME)
    assert any(e.startswith("spec.auth.admin.username") for e in errors), errors
    assert any(e.startswith("spec.auth.apiDocs") for e in errors), errors
