"""The Helm chart, checked offline by real tools: helm lint and template, kubernetes-validate for the
built-in kinds, our own JSON schemas for KEDA's ScaledObject and the ServiceMonitor, and assertions
on the rendered objects (ports, paths, selectors, references, names the app knows)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tasktracker.api.system import router as system_router
from tasktracker.config_docs import known_env_names, reference
from tasktracker.probes import LIVENESS_PATH, READINESS_PATH
from tests.deploy.render import (
    BAD_VALUES_DIR,
    CHART,
    CHARTS,
    EXTERNAL_SECRETS,
    MATRIX,
    NAMESPACE,
    RELEASE,
    ROOT,
    VALUES_DIR,
    Rendered,
    helm,
    render,
    template_args,
)

SCHEMAS = Path(__file__).parent / "schemas"
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): SCHEMAS / "keda-scaledobject.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SCHEMAS / "servicemonitor.json",
}
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.25", kubernetes_validate.latest_version())
APP_IMAGE = "ghcr.io/tasktracker/tasktracker:"
DASHBOARD_IMAGE = "ghcr.io/tasktracker/tasktracker-dashboard:"
NGINX_TEMPLATE = ROOT / "services" / "nginx" / "nginx.conf"
COMPONENTS = {"api", "worker", "bot", "dashboard", "postgres", "nats", "ollama", "migrate"}
FULLNAME = f"{RELEASE}-tasktracker"

matrix = pytest.mark.parametrize("name", list(MATRIX))


# Helpers ---------------------------------------------------------------------------------------------


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "Pod":
        return obj["spec"]
    return None


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def workloads(rendered: Rendered) -> list[dict[str, Any]]:
    return [obj for obj in rendered.objects if obj["kind"] in ("Deployment", "StatefulSet")]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def app_containers(rendered: Rendered) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found = []
    for obj in rendered.objects:
        spec = pod_spec(obj)
        if spec is not None:
            found += [(obj, c) for c in containers(spec) if c["image"].startswith(APP_IMAGE)]
    return found


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def config_data(rendered: Rendered) -> dict[str, str]:
    return rendered.get("ConfigMap", f"{FULLNAME}-config")["data"]


def container_env(rendered: Rendered, container: dict[str, Any]) -> dict[str, str]:
    """The environment a container gets: its ConfigMaps (envFrom) and its own `env` values."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(rendered.get("ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "")
    return env


def resolve_port(container: dict[str, Any], port: int | str) -> int | None:
    for declared in container.get("ports", []):
        if port in (declared.get("name"), declared["containerPort"]):
            return int(declared["containerPort"])
    return None


def nginx_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", NGINX_TEMPLATE.read_text()))


# Lint and schema ---------------------------------------------------------------------------------------


def charts() -> list[Path]:
    return sorted(path.parent for path in CHARTS.glob("*/Chart.yaml"))


@pytest.mark.parametrize("chart", charts(), ids=lambda path: path.name)
def test_helm_lint_strict(helm_path, chart: Path) -> None:
    helm("lint", "--strict", str(chart))
    for values in sorted((chart / "ci").glob("*-values.yaml")):
        helm("lint", "--strict", str(chart), "-f", str(values))


def test_every_values_file_in_the_chart_is_in_the_matrix() -> None:
    on_disk = {path.name.removesuffix("-values.yaml") for path in VALUES_DIR.glob("*-values.yaml")}
    assert on_disk == set(MATRIX)


@matrix
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_kinds_are_valid_kubernetes(renders, name: str, version: str) -> None:
    checked = 0
    for obj in renders[name].objects:
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_SCHEMAS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{name}: {obj['kind']} {obj['metadata']['name']} (Kubernetes {version}): {exc.message}"
            )
        checked += 1
    assert checked >= 15


@matrix
def test_custom_kinds_match_their_schemas(renders, name: str) -> None:
    for obj in renders[name].objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in CUSTOM_SCHEMAS:
            schema = json.loads(CUSTOM_SCHEMAS[key].read_text())
            jsonschema.validate(obj, schema)


def test_our_custom_schemas_refuse_what_the_operators_would() -> None:
    scaled = json.loads(CUSTOM_SCHEMAS[("keda.sh/v1alpha1", "ScaledObject")].read_text())
    good = render("keda").of_kind("ScaledObject")[0]
    jsonschema.validate(good, scaled)
    missing_consumer = json.loads(json.dumps(good))
    del missing_consumer["spec"]["triggers"][0]["metadata"]["consumer"]
    with pytest.raises(jsonschema.ValidationError, match="'consumer' is a required property"):
        jsonschema.validate(missing_consumer, scaled)
    numeric = json.loads(json.dumps(good))
    numeric["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 10  # metadata values are strings
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(numeric, scaled)


# What the matrix renders -------------------------------------------------------------------------------


def test_the_api_servicemonitor_scrapes_metrics_with_the_token_every_app_pod_reads(renders) -> None:
    rendered = renders["keda"]
    monitor = rendered.get("ServiceMonitor", f"{FULLNAME}-api")
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics" and endpoint["port"] == "http"
    token = endpoint["bearerTokenSecret"]
    secret = rendered.get("Secret", token["name"])
    assert token["key"] in secret["data"]
    api_service = rendered.get("Service", f"{FULLNAME}-api")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= api_service["metadata"]["labels"].items()
    assert "http" in {port["name"] for port in api_service["spec"]["ports"]}
    for role in ("api", "worker"):
        env = {
            e["name"]: e.get("value")
            for e in rendered.get("Deployment", f"{FULLNAME}-{role}")["spec"]["template"]["spec"][
                "containers"
            ][0]["env"]
        }
        assert env["TASKTRACKER_METRICS_TOKEN_FILE"].endswith(f"/app/{token['key']}")


def test_capabilities_decide_keda_and_servicemonitor(renders) -> None:
    assert renders["keda"].kinds()["ScaledObject"] == 1
    assert renders["keda"].kinds()["ServiceMonitor"] == 2  # the chart's NATS, and the app's API
    for name in ("default", "ingress-tls"):
        assert "ScaledObject" not in renders[name].kinds()  # the cluster serves no keda.sh/v1alpha1
        assert "ServiceMonitor" not in renders[name].kinds()
    assert renders["ollama"].kinds()["HorizontalPodAutoscaler"] == 1  # no KEDA: HPA on CPU when asked


@matrix
def test_worker_replicas_are_omitted_only_when_something_scales_it(renders, name: str) -> None:
    rendered = renders[name]
    worker = rendered.get("Deployment", f"{FULLNAME}-worker")
    scaled = any(
        obj["spec"]["scaleTargetRef"]["name"] == f"{FULLNAME}-worker"
        for obj in rendered.objects
        if obj["kind"] in ("ScaledObject", "HorizontalPodAutoscaler")
    )
    assert ("replicas" not in worker["spec"]) == scaled


def test_scaledobject_names_the_stream_and_consumer_the_worker_uses(renders) -> None:
    rendered = renders["keda"]
    (scaled,) = rendered.of_kind("ScaledObject")
    worker = rendered.get("Deployment", f"{FULLNAME}-worker")
    env = container_env(rendered, worker["spec"]["template"]["spec"]["containers"][0])
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "nats-jetstream"
    assert trigger["metadata"]["stream"] == env["TASKTRACKER_NATS_STREAM"] == "tt_jobs_custom"
    assert trigger["metadata"]["consumer"] == env["TASKTRACKER_NATS_DURABLE"] == "tt_workers_custom"
    assert scaled["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    # the monitoring endpoint is the chart's NATS Service, on the port its monitoring listens on
    host, port = trigger["metadata"]["natsServerMonitoringEndpoint"].split(":")
    assert host == f"{FULLNAME}-nats.{NAMESPACE}.svc"
    service = rendered.get("Service", f"{FULLNAME}-nats")
    assert any(p["port"] == int(port) and p["name"] == "monitor" for p in service["spec"]["ports"])
    # ... and the worker reads the same JetStream names the chart's values give (one source)
    assert env["TASKTRACKER_NATS_URL"] == f"nats://{FULLNAME}-nats:4222"


# Probes, ports, selectors ------------------------------------------------------------------------------


API_PATHS = {route.path for route in system_router.routes if hasattr(route, "path")}


@matrix
def test_probes_hit_real_paths_and_ports_of_their_role(renders, name: str) -> None:
    rendered = renders[name]
    nginx_conf = NGINX_TEMPLATE.read_text()
    for obj in workloads(rendered):
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        for container in obj["spec"]["template"]["spec"]["containers"]:
            env = container_env(rendered, container)
            for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(probe_name)
                if probe is None or "httpGet" not in probe:
                    continue
                path, port = probe["httpGet"]["path"], probe["httpGet"]["port"]
                number = resolve_port(container, port)
                where = f"{name}: {obj['metadata']['name']}/{container['name']} {probe_name}"
                assert number is not None, f"{where}: port {port} is not a port of the container"
                if component == "api":
                    assert path in API_PATHS, f"{where}: the API serves no {path}"
                    assert number == int(env["TASKTRACKER_PORT"]), f"{where}: not the port the API listens on"
                elif component in ("worker", "bot"):
                    assert path in (LIVENESS_PATH, READINESS_PATH), where
                    assert number == int(env["TASKTRACKER_HEALTH_PORT"]), (
                        f"{where}: not the probe server's port"
                    )
                elif component == "dashboard":
                    assert f"location = {path} " in nginx_conf, f"{where}: nginx.conf has no {path}"
                    assert re.search(rf"listen {number};", nginx_conf), where
            if component in ("api", "worker", "bot"):
                assert {"livenessProbe", "readinessProbe"} <= container.keys(), obj["metadata"]["name"]
                ready = container["readinessProbe"]["httpGet"]["path"]
                assert ready in ("/api/health/ready", READINESS_PATH), "readiness must check dependencies"


@matrix
def test_selectors_match_the_pods_they_mean(renders, name: str) -> None:
    rendered = renders[name]
    pods = {obj["metadata"]["name"]: pod_labels(obj) for obj in workloads(rendered)}
    for obj in workloads(rendered):
        assert matches(obj["spec"]["selector"]["matchLabels"], pod_labels(obj)), obj["metadata"]["name"]
    selecting = [
        *(("Service", obj, obj["spec"]["selector"]) for obj in rendered.of_kind("Service")),
        *(
            ("PDB", obj, obj["spec"]["selector"]["matchLabels"])
            for obj in rendered.of_kind("PodDisruptionBudget")
        ),
        *(
            ("NetworkPolicy", obj, obj["spec"]["podSelector"]["matchLabels"])
            for obj in rendered.of_kind("NetworkPolicy")
        ),
    ]
    # Pods of Jobs and `helm test` must stay out of Services and PDBs (a Service would send traffic to them)
    one_off = {
        obj["metadata"]["name"]: pod_labels(obj) for obj in rendered.objects if obj["kind"] in ("Job", "Pod")
    }
    for kind, obj, selector in selecting:
        chosen = [pod for pod, labels in pods.items() if matches(selector, labels)]
        assert len(chosen) == 1, f"{name}: {kind} {obj['metadata']['name']} selects {chosen}"
        if kind != "NetworkPolicy":
            strays = [pod for pod, labels in one_off.items() if matches(selector, labels)]
            assert not strays, f"{name}: {kind} {obj['metadata']['name']} also selects the pods of {strays}"
    for obj in rendered.objects:
        if obj["kind"] in ("ScaledObject", "HorizontalPodAutoscaler"):
            assert rendered.find("Deployment", obj["spec"]["scaleTargetRef"]["name"]) is not None


@matrix
def test_service_target_ports_are_container_ports(renders, name: str) -> None:
    rendered = renders[name]
    for service in rendered.of_kind("Service"):
        (workload,) = [w for w in workloads(rendered) if matches(service["spec"]["selector"], pod_labels(w))]
        pod_containers = workload["spec"]["template"]["spec"]["containers"]
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert any(resolve_port(c, target) for c in pod_containers), (
                f"{name}: Service {service['metadata']['name']} targets {target}, which no container declares"
            )


def test_ingress_routes_ui_api_websocket_and_webhooks(renders) -> None:
    rendered = renders["ingress-tls"]
    (ingress,) = rendered.of_kind("Ingress")
    assert ingress["spec"]["tls"] == [{"hosts": ["tasks.example.com"], "secretName": f"{FULLNAME}-tls"}]
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"] for p in rule["http"]["paths"]}
    assert {"/", "/api", "/ws", "/webhook"} <= routes.keys()
    assert routes["/"]["name"] == f"{FULLNAME}-dashboard"
    for path in ("/api", "/ws", "/webhook"):
        assert routes[path]["name"] == f"{FULLNAME}-api"
    for backend in routes.values():
        service = rendered.get("Service", backend["name"])
        assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600  # WebSockets stay open
    assert (
        annotations["nginx.ingress.kubernetes.io/proxy-body-size"]
        == config_data(rendered)["TASKTRACKER_MAX_BODY_BYTES"]
    )


# References and names ----------------------------------------------------------------------------------


def _referenced_secrets(spec: dict[str, Any]) -> list[tuple[str, str | None]]:
    refs: list[tuple[str, str | None]] = []
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            items = volume["secret"].get("items") or [{"key": None}]
            refs += [(volume["secret"]["secretName"], item["key"]) for item in items]
    for container in containers(spec):
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                refs.append((ref["name"], ref["key"]))
        refs += [(s["secretRef"]["name"], None) for s in container.get("envFrom", []) if "secretRef" in s]
    return refs


def _secret_keys(secret: dict[str, Any]) -> set[str]:
    return {*secret.get("data", {}), *secret.get("stringData", {})}


@matrix
def test_every_referenced_secret_and_configmap_exists_or_is_external(renders, name: str) -> None:
    rendered = renders[name]
    external = EXTERNAL_SECRETS.get(name, set())
    for obj in rendered.objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for secret_name, key in _referenced_secrets(spec):
            secret = rendered.find("Secret", secret_name)
            if secret is None:
                assert secret_name in external, (
                    f"{name}: {obj['metadata']['name']} needs Secret {secret_name}"
                )
            elif key is not None:
                assert key in _secret_keys(secret), f"{name}: Secret {secret_name} has no key {key}"
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert rendered.find("ConfigMap", volume["configMap"]["name"]) is not None
            if "persistentVolumeClaim" in volume:
                assert rendered.find("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
        for container in containers(spec):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert rendered.find("ConfigMap", source["configMapRef"]["name"]) is not None
            _check_file_env(rendered, spec, container, external)
    for ingress in rendered.of_kind("Ingress"):
        for tls in ingress["spec"].get("tls", []):
            assert rendered.find("Secret", tls["secretName"]) or tls["secretName"] in external


def _check_file_env(
    rendered: Rendered, spec: dict[str, Any], container: dict[str, Any], external: set[str]
) -> None:
    """Each `<NAME>_FILE` points into a mounted Secret volume, at a key that Secret holds."""
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for item in container.get("env", []):
        if not item["name"].endswith("_FILE"):
            continue
        directory, _, key = item["value"].rpartition("/")
        where = f"{rendered.name}: {container['name']} {item['name']}={item['value']}"
        assert directory in mounts, f"{where}: nothing is mounted at {directory}"
        volume = volumes[mounts[directory]]
        assert "secret" in volume, f"{where}: {directory} is not a Secret volume"
        items = volume["secret"].get("items")
        if items:
            assert key in {i["path"] for i in items}, where
        secret = rendered.find("Secret", volume["secret"]["secretName"])
        if secret is None:
            assert volume["secret"]["secretName"] in external, where
        else:
            source_key = next((i["key"] for i in items if i["path"] == key), key) if items else key
            assert source_key in _secret_keys(secret), f"{where}: Secret has no key {source_key}"


@matrix
def test_every_env_name_is_known_to_settings(renders, name: str) -> None:
    known = known_env_names()
    nginx = nginx_variables()
    for obj, container in app_containers(renders[name]):
        unknown = set(container_env(renders[name], container)) - known
        assert not unknown, (
            f"{name}: {obj['metadata']['name']}/{container['name']} sets unknown {sorted(unknown)}"
        )
    assert not set(config_data(renders[name])) - known
    for obj in renders[name].objects:
        spec = pod_spec(obj)
        for container in containers(spec) if spec else []:
            if container["image"].startswith(DASHBOARD_IMAGE):
                names = {item["name"] for item in container.get("env", [])}
                assert names <= nginx, (
                    f"{name}: the dashboard sets {names - nginx}, which nginx.conf never reads"
                )
                assert "TASKTRACKER_MAX_BODY_BYTES" in names  # the API's limit, not a copy


def test_extra_env_with_a_name_settings_does_not_know_is_caught(helm_path) -> None:
    rendered = render("default", sets=("config.extraEnv.TASKTRACKER_WORKER_CONCURENCY=16",))  # typo
    unknown = set(config_data(rendered)) - known_env_names()
    assert unknown == {"TASKTRACKER_WORKER_CONCURENCY"}


# Security, labels, lifecycle ---------------------------------------------------------------------------


@matrix
def test_pods_run_with_secure_defaults(renders, name: str) -> None:
    for obj in renders[name].objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        pod_ctx = spec["securityContext"]
        where = f"{name}: {obj['kind']} {obj['metadata']['name']}"
        assert pod_ctx["runAsNonRoot"] is True and pod_ctx["seccompProfile"]["type"] == "RuntimeDefault", (
            where
        )
        assert spec.get("automountServiceAccountToken") is False, where
        for container in containers(spec):
            ctx = container["securityContext"]
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            assert ctx["allowPrivilegeEscalation"] is False and ctx["readOnlyRootFilesystem"] is True, where
            assert "resources" in container, where
            if container["image"].startswith(APP_IMAGE):
                assert pod_ctx["runAsUser"] == 10001, where
                assert "/tmp" in {m["mountPath"] for m in container.get("volumeMounts", [])}, where
            if container["image"].startswith(DASHBOARD_IMAGE):
                assert pod_ctx["runAsUser"] == 101, where


@matrix
def test_standard_labels_everywhere(renders, name: str) -> None:
    for obj in renders[name].objects:
        labels = obj["metadata"].get("labels", {})
        for key in ("name", "instance", "part-of", "managed-by", "version"):
            assert f"app.kubernetes.io/{key}" in labels, f"{name}: {obj['kind']} {obj['metadata']['name']}"
        component = labels.get("app.kubernetes.io/component")
        assert component is None or component in COMPONENTS, component


@matrix
def test_app_pods_roll_when_config_changes(renders, name: str) -> None:
    for workload_name in ("api", "worker"):
        annotations = renders[name].get("Deployment", f"{FULLNAME}-{workload_name}")["spec"]["template"][
            "metadata"
        ]["annotations"]
        assert {"checksum/config", "checksum/secret"} <= annotations.keys()


def test_checksum_follows_the_config(helm_path) -> None:
    def checksum(*sets: str) -> str:
        rendered = render("default", sets=sets)
        return rendered.get("Deployment", f"{FULLNAME}-api")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"
        ]

    assert checksum() == checksum()
    assert checksum() != checksum("config.logLevel=debug")


def test_migration_is_a_hook_with_external_postgres_and_a_revision_job_with_our_own(renders) -> None:
    (hook,) = renders["external"].of_kind("Job")
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert hook["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    hook_env = {e["name"]: e.get("value") for e in hook["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (
        hook_env["TASKTRACKER_DATABASE_URL"]
        == "postgresql://tasks_app@db.example.internal:5433/tasks?ssl=require"
    )
    # it runs before the release's own ConfigMap exists: its settings are inline, not from the ConfigMap
    assert "envFrom" not in hook["spec"]["template"]["spec"]["containers"][0]
    (job,) = renders["default"].of_kind("Job")
    assert "annotations" not in job["metadata"] and job["metadata"]["name"] == f"{FULLNAME}-migrate-r1"
    for name in MATRIX:
        for obj in workloads(renders[name]):
            if obj["metadata"]["labels"]["app.kubernetes.io/component"] in ("api", "worker", "bot"):
                (init,) = obj["spec"]["template"]["spec"]["initContainers"]
                assert init["args"][:2] == ["migrate", "--wait"], obj["metadata"]["name"]


def test_bot_polling_is_one_pod_recreated_and_webhook_registers_by_hook(renders) -> None:
    bot = renders["bot-polling"].get("Deployment", f"{FULLNAME}-bot")
    assert bot["spec"]["replicas"] == 1 and bot["spec"]["strategy"] == {"type": "Recreate"}
    assert bot["spec"]["template"]["spec"]["containers"][0]["args"] == ["bot"]
    assert config_data(renders["bot-polling"])["TASKTRACKER_TELEGRAM_MODE"] == "polling"
    webhook = renders["ingress-tls"]
    assert webhook.find("Deployment", f"{FULLNAME}-bot") is None  # the API serves /webhook/telegram
    job = webhook.get("Job", f"{FULLNAME}-bot-set-webhook")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["bot", "set-webhook"]
    assert config_data(webhook)["TASKTRACKER_PUBLIC_URL"] == "https://tasks.example.com"
    api_env = {
        e["name"]
        for e in webhook.get("Deployment", f"{FULLNAME}-api")["spec"]["template"]["spec"]["containers"][0][
            "env"
        ]
    }
    assert {"TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE", "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET_FILE"} <= api_env


def test_ollama_pulls_every_model_and_the_worker_uses_the_first(renders) -> None:
    rendered = renders["ollama"]
    pull = rendered.get("Job", f"{FULLNAME}-ollama-pull")
    args = pull["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "/api/pull" in args[0] and "/api/tags" in args[0]
    assert args[1:] == [f"http://{FULLNAME}-ollama:11434", "qwen2.5:3b-instruct", "llama3.2:1b"]
    data = config_data(rendered)
    assert data["TASKTRACKER_OLLAMA_MODEL"] == "qwen2.5:3b-instruct"
    assert data["TASKTRACKER_OLLAMA_BASE_URL"] == f"http://{FULLNAME}-ollama:11434"
    assert (
        rendered.get("PersistentVolumeClaim", f"{FULLNAME}-ollama")["spec"]["resources"]["requests"][
            "storage"
        ]
        == "30Gi"
    )


def test_only_the_processes_that_use_them_reach_postgres_and_nats(renders) -> None:
    rendered = renders["default"]

    def allowed(policy: str, port: str) -> set[str]:
        spec = rendered.get("NetworkPolicy", f"{FULLNAME}-{policy}")["spec"]
        found: set[str] = set()
        for rule in spec["ingress"]:
            if port in {p["port"] for p in rule.get("ports", [])}:
                assert rule.get("from"), f"{policy}: port {port} is open to everyone"
                for peer in rule["from"]:
                    (expression,) = peer["podSelector"]["matchExpressions"]
                    found |= set(expression["values"])
        return found

    assert allowed("postgres", "postgres") == {"api", "worker", "bot", "migrate"}
    assert allowed("nats", "client") == {"api", "worker", "bot"}


def test_external_services_are_used_with_their_secrets(renders) -> None:
    rendered = renders["external"]
    assert not rendered.of_kind("StatefulSet")  # no PostgreSQL or NATS of our own
    data = config_data(rendered)
    assert "TASKTRACKER_NATS_URL" not in data  # it comes from the Secret file
    worker = rendered.get("Deployment", f"{FULLNAME}-worker")["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in worker["containers"][0]["env"]}
    assert env["TASKTRACKER_NATS_URL_FILE"].endswith("/nats-url")
    assert env["TASKTRACKER_DATABASE_PASSWORD_FILE"].endswith("/db-password")
    secrets = {v["secret"]["secretName"] for v in worker["volumes"] if "secret" in v}
    assert secrets == {"tasks-app", "tasks-db", "tasks-nats"}


# Bad values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(BAD_VALUES_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_values_are_refused_with_a_clear_message(helm_path, path: Path) -> None:
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
    result = helm(*template_args([path]), check=False)
    assert result.returncode != 0, f"{path.name} was accepted"
    assert expected in result.stderr, result.stderr


def test_chart_lists_no_remote_dependencies() -> None:
    chart = (CHART / "Chart.yaml").read_text()
    assert "dependencies:" not in chart  # helm template must work offline


# NOTES.txt ---------------------------------------------------------------------------------------------


def render_notes(tmp_path: Path, name: str) -> str:
    """NOTES.txt as `helm install` prints it: `helm template` skips NOTES, so a copy of the chart has it
    as a named template, rendered by real helm into a ConfigMap."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    (chart / "templates" / "_notes.tpl").write_text(
        '{{- define "test.notes" -}}\n' + notes + "\n{{- end -}}\n"
    )
    (chart / "templates" / "notes.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include "test.notes" . | quote }}\n'
    )
    args = [
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        NAMESPACE,
        "-f",
        str(VALUES_DIR / f"{name}-values.yaml"),
    ]
    for version in MATRIX[name]:
        args += ["--api-versions", version]
    args += ["--show-only", "templates/notes.yaml"]
    return yaml.safe_load(helm(*args).stdout)["data"]["notes"]


def test_notes_tell_how_to_open_the_dashboard(tmp_path, renders, helm_path) -> None:
    notes = render_notes(tmp_path, "default")
    forward = re.search(r"port-forward svc/(\S+) 8080:(\d+)", notes)
    assert forward is not None, notes
    service = renders["default"].get("Service", forward.group(1))
    assert int(forward.group(2)) in {p["port"] for p in service["spec"]["ports"]}
    assert f"rollout status deploy/{FULLNAME}-api" in notes
    # The first admin: its name, and the command that reads the generated password from the real Secret.
    assert 'Sign in as "admin"' in notes
    secret = re.search(r"get secret (\S+) -o jsonpath='\{\.data\.(\S+)\}'", notes)
    assert secret is not None, notes
    assert secret.group(2) in renders["default"].get("Secret", secret.group(1))["data"]
    assert "tasktracker user link admin" in notes
    assert "keda.sh/v1alpha1" in notes  # KEDA asked for, not served: the notes say so


def test_notes_for_a_public_install_with_the_bot(tmp_path, renders, helm_path) -> None:
    notes = render_notes(tmp_path, "ingress-tls")
    assert "https://tasks.example.com/" in notes
    job = re.search(r'hook Job "(\S+)"', notes)
    assert job is not None and renders["ingress-tls"].find("Job", job.group(1)) is not None
    assert "https://tasks.example.com/webhook/telegram" in notes
    assert "keda.sh/v1alpha1" not in render_notes(tmp_path / "k", "keda")
    external = render_notes(tmp_path / "e", "external")
    assert 'Sign in as "ops-admin"' in external and 'your Secret "tasks-admin"' in external


def test_keda_with_an_external_nats_scales_on_its_monitoring_endpoint(helm_path) -> None:
    rendered = render("external", api_versions=("keda.sh/v1alpha1",))
    (scaled,) = rendered.of_kind("ScaledObject")
    assert (
        scaled["spec"]["triggers"][0]["metadata"]["natsServerMonitoringEndpoint"] == "nats.messaging.svc:8222"
    )
    missing = helm(
        *template_args(
            [VALUES_DIR / "external-values.yaml"],
            ("keda.sh/v1alpha1",),
            ("nats.external.monitoringEndpoint=",),
        ),
        check=False,
    )
    assert (
        missing.returncode != 0
        and "nats.external.monitoringEndpoint (host:8222) is required" in missing.stderr
    )


def test_extra_env_refuses_secrets_and_other_names_of_what_the_chart_sets(renders) -> None:
    by_name = {name: doc for doc in reference() for name in doc.names}
    chart_set = {by_name[key].field for key in config_data(renders["default"]) if key in by_name}
    expected = {
        name
        for doc in reference()
        for name in (*doc.names, *doc.file_names)
        if doc.file_names or (doc.field in chart_set and name not in config_data(renders["default"]))
    }
    refused = set()
    for name in sorted(expected | {"TASKTRACKER_BOT_REPLY"}):
        result = helm(*template_args([], sets=(f"config.extraEnv.{name}=x",)), check=False)
        if result.returncode != 0:
            assert f"config.extraEnv.{name}:" in result.stderr, result.stderr
            refused.add(name)
    assert refused == expected  # and an ordinary setting (TASKTRACKER_BOT_REPLY) passes


def test_the_api_serves_the_hosts_it_is_reached_by(renders) -> None:
    """Production refuses to serve HTTP without TASKTRACKER_TRUSTED_HOSTS: the chart names the ingress
    host and the API service's in-cluster names (the helm test pod calls it by its service name)."""
    data = config_data(renders["ingress-tls"])
    hosts = data["TASKTRACKER_TRUSTED_HOSTS"].split(",")
    assert "tasks.example.com" in hosts and f"{FULLNAME}-api" in hosts
    assert any(host.endswith(".svc.cluster.local") for host in hosts)
    from tasktracker.config import load_settings

    settings = load_settings(
        environment="production",
        database_url="postgresql://x@y/z",
        secret_key="s" * 32,
        trusted_hosts=data["TASKTRACKER_TRUSTED_HOSTS"],
        forwarded_allow_ips=data["TASKTRACKER_FORWARDED_ALLOW_IPS"],
    )
    settings.check_serving()


# Accounts --------------------------------------------------------------------------------------------

ADMIN_ENV = {"TASKTRACKER_ADMIN_USERNAME", "TASKTRACKER_ADMIN_EMAIL", "TASKTRACKER_ADMIN_PASSWORD_FILE"}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value", "") for item in container.get("env", [])}


@matrix
def test_only_the_api_container_bootstraps_the_admin_and_auth_is_on_everywhere(renders, name: str) -> None:
    rendered = renders[name]
    assert config_data(rendered)["TASKTRACKER_AUTH"] == "on"
    seen = []
    for obj in rendered.objects:
        spec = pod_spec(obj)
        for container in containers(spec) if spec else []:
            admin = set(_env(container)) & ADMIN_ENV
            if obj["kind"] == "Deployment" and _component_of(obj) == "api" and container["name"] == "api":
                seen.append(container)
                assert {"TASKTRACKER_ADMIN_USERNAME", "TASKTRACKER_ADMIN_PASSWORD_FILE"} <= admin
            else:
                # Settings refuses a username without a password: no other process may get half of it.
                assert not admin, f"{name}: {obj['metadata']['name']}/{container['name']} gets {admin}"
    assert len(seen) == 1


def _component_of(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["labels"].get("app.kubernetes.io/component", ""))


def _api_container(rendered: Rendered) -> dict[str, Any]:
    api = rendered.get("Deployment", f"{FULLNAME}-api")
    return next(c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "api")


def test_the_chart_generates_the_admin_password_into_its_own_secret(renders) -> None:
    rendered = renders["default"]
    env = _env(_api_container(rendered))
    assert env["TASKTRACKER_ADMIN_USERNAME"] == "admin"
    assert env["TASKTRACKER_ADMIN_PASSWORD_FILE"] == "/var/run/secrets/tasktracker/admin/password"
    assert "TASKTRACKER_ADMIN_EMAIL" not in env
    secret = rendered.get("Secret", f"{FULLNAME}-admin")
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) >= 12 and password.isalnum()  # Settings wants 12 characters or more
    # Not in the app Secret, which the worker and bot mount too.
    assert "password" not in rendered.get("Secret", FULLNAME)["data"]


def test_an_existing_admin_secret_is_used_with_its_key(renders) -> None:
    rendered = renders["external"]
    env = _env(_api_container(rendered))
    assert env["TASKTRACKER_ADMIN_USERNAME"] == "ops-admin"
    assert env["TASKTRACKER_ADMIN_EMAIL"] == "ops@example.com"
    assert env["TASKTRACKER_ADMIN_PASSWORD_FILE"] == "/var/run/secrets/tasktracker/admin/admin-password"
    assert rendered.find("Secret", f"{FULLNAME}-admin") is None  # the chart makes none
    volumes = rendered.get("Deployment", f"{FULLNAME}-api")["spec"]["template"]["spec"]["volumes"]
    admin = next(v for v in volumes if v["name"] == "admin-secret")
    assert admin["secret"]["secretName"] == "tasks-admin"


def test_api_docs_value_reaches_the_config(renders) -> None:
    assert config_data(renders["ingress-tls"])["TASKTRACKER_API_DOCS"] == "off"
    assert "TASKTRACKER_API_DOCS" not in config_data(renders["default"])  # the app's default: viewer


def test_without_an_admin_username_nothing_is_bootstrapped(helm_path) -> None:
    rendered = render("default", sets=("auth.admin.username=",))
    assert not set(_env(_api_container(rendered))) & ADMIN_ENV
    assert rendered.find("Secret", f"{FULLNAME}-admin") is None
    mounts = {m["name"] for m in _api_container(rendered)["volumeMounts"]}
    assert "admin-secret" not in mounts


def test_extra_env_cannot_smuggle_the_admin_in(helm_path) -> None:
    for variable in ("TASKTRACKER_ADMIN_PASSWORD", "TASKTRACKER_ADMIN_USERNAME", "TASKTRACKER_AUTH"):
        result = helm(
            *template_args([VALUES_DIR / "default-values.yaml"], sets=(f"config.extraEnv.{variable}=x",)),
            check=False,
        )
        assert result.returncode != 0 and f"config.extraEnv.{variable}" in result.stderr, variable


def test_a_key_rotation_gives_every_app_process_the_earlier_keys(helm_path) -> None:
    """Between deploying a new secret key and `tasktracker secrets rotate`, every process must still read
    what the old key sealed: the earlier keys reach all of them as a file from the app Secret."""
    rendered = render(
        "default", sets=("secrets.secretKey=new-key-0123456789", "secrets.previousSecretKeys=old-key-1")
    )
    secret = rendered.get("Secret", FULLNAME)
    assert base64.b64decode(secret["data"]["previous-secret-keys"]).decode() == "old-key-1"
    checked = 0
    for obj, container in app_containers(rendered):
        env = _env(container)
        if "TASKTRACKER_SECRET_KEY_FILE" not in env:
            continue  # the `helm test` pod: no secrets at all
        assert env.get("TASKTRACKER_PREVIOUS_SECRET_KEYS_FILE") == (
            "/var/run/secrets/tasktracker/app/previous-secret-keys"
        ), f"{obj['metadata']['name']}/{container['name']}"
        _check_file_env(rendered, pod_spec(obj) or {}, container, set())
        checked += 1
    assert checked >= 4  # api, worker, migration, and their schema waits
    for _, container in app_containers(render("default")):
        assert "TASKTRACKER_PREVIOUS_SECRET_KEYS_FILE" not in _env(container)
    external = render("external", sets=("secrets.withPreviousSecretKeys=true",))
    for obj, container in app_containers(external):
        env = _env(container)
        if "TASKTRACKER_SECRET_KEY_FILE" in env and "helm.sh/hook" not in obj["metadata"].get(
            "annotations", {}
        ):
            # (the pre-upgrade migration hook of an external database has its own copy of the key only)
            assert "TASKTRACKER_PREVIOUS_SECRET_KEYS_FILE" in env, obj["metadata"]["name"]
