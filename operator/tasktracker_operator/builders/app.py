"""The Task Tracker processes: api, worker, bot, the migration Job, the dashboard and the Ingress.

Every app container runs the one `tasktracker` image with its role as the argument and gets only
environment variables that the app's `Settings` knows (a test checks the names against it).
"""

from __future__ import annotations

from tasktracker_operator.builders.common import (
    API_PORT,
    APP_UID,
    DASHBOARD_PORT,
    HEALTH_PORT,
    NATS_CLIENT_PORT,
    NGINX_UID,
    OLLAMA_PORT,
    Obj,
    app_image,
    app_secret_name,
    child_name,
    container_security,
    dashboard_image,
    empty_dir,
    http_probe,
    labels,
    metadata,
    migrate_job_name,
    pod_spec_common,
    postgres_secret_name,
    resources,
    selector_labels,
    service,
)
from tasktracker_operator.spec import Spec

DATA_DIR = "/var/lib/tasktracker"


def _secret_env(env_name: str, secret: str, key: str) -> Obj:
    return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def nats_url(spec: Spec, name: str) -> str:
    nats = spec["nats"]
    return nats["url"] if not nats["managed"] else f"nats://{child_name(name, 'nats')}:{NATS_CLIENT_PORT}"


def app_env(spec: Spec, name: str, role: str) -> list[Obj]:
    """The environment of an app container of `role` (api, worker, bot, migrate)."""
    postgres, ollama, bot = spec["postgres"], spec["ollama"], spec["bot"]
    if postgres["managed"]:
        database = _secret_env("DATABASE_URL", postgres_secret_name(name), "url")
    else:
        ref = postgres["external"]["secretRef"]
        database = _secret_env("DATABASE_URL", ref["name"], ref["key"])
    env: list[Obj] = [
        {"name": "TASKTRACKER_ENVIRONMENT", "value": "production"},
        {"name": "TASKTRACKER_DATA_DIR", "value": DATA_DIR},
        database,
        _secret_env("TASKTRACKER_SECRET_KEY", app_secret_name(name), "secret-key"),
    ]
    if role == "migrate":
        return env
    env += [
        {"name": "NATS_URL", "value": nats_url(spec, name)},
        {"name": "TASKTRACKER_NATS_STREAM", "value": spec["nats"]["stream"]},
        {"name": "TASKTRACKER_NATS_DURABLE", "value": spec["nats"]["consumer"]},
    ]
    if ollama["enabled"]:
        env += [
            {"name": "TASKTRACKER_CLASSIFIER", "value": "ollama"},
            {"name": "OLLAMA_BASE_URL", "value": f"http://{child_name(name, 'ollama')}:{OLLAMA_PORT}"},
            {"name": "TASKTRACKER_OLLAMA_MODEL", "value": ollama["models"][0]},
        ]
    else:
        env.append({"name": "TASKTRACKER_CLASSIFIER", "value": "builtin"})
    if role == "api":
        env.append({"name": "TASKTRACKER_HOST", "value": "0.0.0.0"})
        if spec["ingress"]["enabled"]:
            env.append({"name": "TASKTRACKER_PUBLIC_URL", "value": dashboard_url(spec, name, "")})
    if role == "worker":
        env.append({"name": "TASKTRACKER_WORKER_CONCURRENCY", "value": str(spec["workers"]["concurrency"])})
    telegram_here = bot["enabled"] and (
        (role == "bot" and bot["mode"] == "polling") or (role == "api" and bot["mode"] == "webhook")
    )
    if telegram_here:
        ref = bot["tokenSecretRef"]
        env.append(_secret_env("TELEGRAM_BOT_TOKEN", ref["name"], ref["key"]))
        if role == "api":
            env.append(
                _secret_env(
                    "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET", app_secret_name(name), "telegram-webhook-secret"
                )
            )
    return env


def _app_volumes() -> tuple[list[Obj], list[Obj]]:
    volumes = [empty_dir("tmp"), empty_dir("data")]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": DATA_DIR}]
    return volumes, mounts


def app_container(spec: Spec, name: str, role: str) -> Obj:
    section = {"api": spec["api"], "worker": spec["workers"], "bot": spec["bot"]}.get(role, {})
    _, mounts = _app_volumes()
    container: Obj = {
        "name": role,
        "image": app_image(spec),
        "imagePullPolicy": spec["imagePullPolicy"],
        "args": [role],
        "env": app_env(spec, name, role),
        "securityContext": container_security(APP_UID),
        "resources": resources(section),
        "volumeMounts": mounts,
    }
    if role == "api":
        container["ports"] = [{"name": "http", "containerPort": API_PORT, "protocol": "TCP"}]
        container["livenessProbe"] = http_probe("/api/health", "http", period=10, failures=3)
        container["readinessProbe"] = http_probe("/api/health/ready", "http", period=5, failures=3)
        container["startupProbe"] = http_probe("/api/health", "http", period=2, failures=30)
    elif role in ("worker", "bot"):
        container["ports"] = [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}]
        container["livenessProbe"] = http_probe("/healthz", "health", period=10, failures=3)
        container["readinessProbe"] = http_probe("/readyz", "health", period=5, failures=3)
        container["startupProbe"] = http_probe("/healthz", "health", period=2, failures=30)
    return container


def _app_pod(spec: Spec, name: str, role: str, component: str) -> Obj:
    volumes, _ = _app_volumes()
    return {
        "metadata": {"labels": labels(spec, name, component)},
        "spec": {
            **pod_spec_common(spec, APP_UID),
            "terminationGracePeriodSeconds": 40,
            "containers": [app_container(spec, name, role)],
            "volumes": volumes,
        },
    }


def _deployment(spec: Spec, name: str, namespace: str, component: str, pod: Obj) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(spec, name, namespace, component, child_name(name, component)),
        "spec": {
            "selector": {"matchLabels": selector_labels(name, component)},
            "template": pod,
        },
    }


def build_api_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    deployment = _deployment(spec, name, namespace, "api", _app_pod(spec, name, "api", "api"))
    deployment["spec"]["replicas"] = spec["api"]["replicas"]
    deployment["spec"]["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    return deployment


def build_api_service(spec: Spec, name: str, namespace: str) -> Obj:
    return service(spec, name, namespace, "api", [("http", API_PORT)])


def build_worker_deployment(spec: Spec, name: str, namespace: str, *, replicas: int | None = None) -> Obj:
    """The worker Deployment. `replicas` is set only while nothing scales it (KEDA or the HPA own it)."""
    deployment = _deployment(spec, name, namespace, "worker", _app_pod(spec, name, "worker", "worker"))
    if replicas is not None:
        deployment["spec"]["replicas"] = replicas
    return deployment


def build_bot_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    deployment = _deployment(spec, name, namespace, "bot", _app_pod(spec, name, "bot", "bot"))
    deployment["spec"]["replicas"] = spec["bot"]["replicas"]
    # Never two pollers at once: Telegram answers the second one with 409 Conflict.
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    return deployment


def build_migrate_job(spec: Spec, name: str, namespace: str) -> Obj:
    """`tasktracker migrate` for spec.version: one Job per version, run before the API and workers roll."""
    pod = _app_pod(spec, name, "migrate", "migrate")
    pod["spec"]["restartPolicy"] = "Never"
    del pod["spec"]["terminationGracePeriodSeconds"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(spec, name, namespace, "migrate", migrate_job_name(name, spec["version"])),
        "spec": {"backoffLimit": 3, "activeDeadlineSeconds": 600, "template": pod},
    }


def build_dashboard_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    nginx_dirs = {"tmp": "/tmp", "cache": "/var/cache/nginx", "run": "/var/run", "conf": "/etc/nginx/conf.d"}
    container: Obj = {
        "name": "dashboard",
        "image": dashboard_image(spec),
        "imagePullPolicy": spec["imagePullPolicy"],
        "env": [{"name": "API_UPSTREAM", "value": f"{child_name(name, 'api')}:{API_PORT}"}],
        "ports": [{"name": "http", "containerPort": DASHBOARD_PORT, "protocol": "TCP"}],
        "livenessProbe": http_probe("/", "http", period=10, failures=3),
        "readinessProbe": http_probe("/", "http", period=5, failures=3),
        "securityContext": container_security(NGINX_UID),
        "resources": resources(spec["dashboard"]),
        "volumeMounts": [{"name": volume, "mountPath": path} for volume, path in nginx_dirs.items()],
    }
    pod = {
        "metadata": {"labels": labels(spec, name, "dashboard")},
        "spec": {
            **pod_spec_common(spec, NGINX_UID),
            "containers": [container],
            "volumes": [empty_dir(volume) for volume in nginx_dirs],
        },
    }
    deployment = _deployment(spec, name, namespace, "dashboard", pod)
    deployment["spec"]["replicas"] = spec["dashboard"]["replicas"]
    return deployment


def build_dashboard_service(spec: Spec, name: str, namespace: str) -> Obj:
    return service(spec, name, namespace, "dashboard", [("http", DASHBOARD_PORT)])


def build_ingress(spec: Spec, name: str, namespace: str) -> Obj:
    ingress = spec["ingress"]
    body: Obj = {
        "rules": [
            {
                "host": ingress["host"],
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {
                                "service": {"name": child_name(name, "dashboard"), "port": {"name": "http"}}
                            },
                        }
                    ]
                },
            }
        ]
    }
    if ingress.get("className"):
        body["ingressClassName"] = ingress["className"]
    if ingress.get("tlsSecretName"):
        body["tls"] = [{"hosts": [ingress["host"]], "secretName": ingress["tlsSecretName"]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(spec, name, namespace, "dashboard", name),
        "spec": body,
    }


def dashboard_url(spec: Spec, name: str, namespace: str) -> str:
    ingress = spec["ingress"]
    if ingress["enabled"]:
        scheme = "https" if ingress.get("tlsSecretName") else "http"
        return f"{scheme}://{ingress['host']}"
    return f"http://{child_name(name, 'dashboard')}.{namespace}.svc:{DASHBOARD_PORT}"
