"""The Task Tracker processes: api, worker, bot, the migration Job, the dashboard and the Ingress.

Every app container runs the one `tasktracker` image with its role as the argument and gets only
environment variables that the app's `Settings` knows (a test checks the names against it).
"""

from __future__ import annotations

import copy
import hashlib
import json

from tasktracker_operator.builders.common import (
    API_PORT,
    APP_UID,
    DASHBOARD_PORT,
    HEALTH_PORT,
    NATS_CLIENT_PORT,
    NGINX_UID,
    OLLAMA_PORT,
    POSTGRES_DB,
    POSTGRES_PORT,
    POSTGRES_USER,
    Obj,
    admin_secret_name,
    app_image,
    app_secret_name,
    child_name,
    container_security,
    dashboard_image,
    empty_dir,
    labels,
    metadata,
    migrate_job_name,
    pod_spec_common,
    postgres_secret_name,
    resources,
    selector_labels,
    service,
    slug,
)
from tasktracker_operator.spec import Spec

DATA_DIR = "/var/lib/tasktracker"
SECRETS_DIR = "/var/run/secrets/tasktracker"
MAX_BODY_BYTES = 10 * 1024 * 1024  # the app's default; the dashboard's Nginx gets the same limit
MIGRATION_WAIT_S = 600

# Probes as the chart has them: (path, port, period, timeout, failures).
PROBES: dict[str, dict[str, tuple[str, str, int, int | None, int]]] = {
    "api": {
        "livenessProbe": ("/api/health", "http", 10, 3, 6),
        "readinessProbe": ("/api/health/ready", "http", 5, 4, 3),
        "startupProbe": ("/api/health", "http", 2, None, 60),
    },
    "worker": {
        "livenessProbe": ("/healthz", "health", 10, 3, 6),
        "readinessProbe": ("/readyz", "health", 10, 4, 3),
        "startupProbe": ("/healthz", "health", 2, None, 60),
    },
    "bot": {
        "livenessProbe": ("/healthz", "health", 10, 3, 6),
        "readinessProbe": ("/readyz", "health", 10, 4, 3),
    },
}
MIGRATE_RESOURCES = {"requests": {"cpu": "50m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}}


def config_name(name: str) -> str:
    return child_name(name, "config")


def nats_url(spec: Spec, name: str) -> str:
    nats = spec["nats"]
    return (
        str(nats["url"]) if not nats["managed"] else f"nats://{child_name(name, 'nats')}:{NATS_CLIENT_PORT}"
    )


def build_app_configmap(spec: Spec, name: str, namespace: str) -> Obj:
    """The settings every app container reads (envFrom), as the chart's ConfigMap has them."""
    ollama, bot = spec["ollama"], spec["bot"]
    data = {
        "TASKTRACKER_ENVIRONMENT": "production",
        "TASKTRACKER_LOG_LEVEL": "info",
        "TASKTRACKER_HOST": "0.0.0.0",
        "TASKTRACKER_PORT": str(API_PORT),
        "TASKTRACKER_HEALTH_PORT": str(HEALTH_PORT),
        "TASKTRACKER_DATA_DIR": DATA_DIR,
    }
    if spec["postgres"]["managed"]:
        # Without the password: it comes from a file (TASKTRACKER_DATABASE_PASSWORD_FILE).
        host = child_name(name, "postgres")
        data["TASKTRACKER_DATABASE_URL"] = (
            f"postgresql://{POSTGRES_USER}@{host}:{POSTGRES_PORT}/{POSTGRES_DB}"
        )
    if "urlSecretRef" not in spec["nats"]:  # else a file (TASKTRACKER_NATS_URL_FILE)
        data["TASKTRACKER_NATS_URL"] = nats_url(spec, name)
    data |= {
        "TASKTRACKER_NATS_STREAM": spec["nats"]["stream"],
        "TASKTRACKER_NATS_DURABLE": spec["nats"]["consumer"],
        "TASKTRACKER_WORKER_CONCURRENCY": str(spec["workers"]["concurrency"]),
        "TASKTRACKER_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "TASKTRACKER_CLASSIFIER": "ollama" if ollama["enabled"] else "builtin",
        "TASKTRACKER_AUTH": "on",  # the app refuses off anywhere but on loopback
    }
    if "apiDocs" in spec["auth"]:
        data["TASKTRACKER_API_DOCS"] = spec["auth"]["apiDocs"]
    # The API answers only to these Host names (its DNS-rebinding guard, required in production): its
    # in-cluster names and the public host. Proxies (the ingress controller, the dashboard's Nginx)
    # reach it from pod addresses, so their X-Forwarded-* headers are believed from anywhere.
    api = child_name(name, "api")
    hosts = [api, f"{api}.{namespace}", f"{api}.{namespace}.svc", f"{api}.{namespace}.svc.cluster.local"]
    if spec["ingress"]["enabled"]:
        hosts.append(spec["ingress"]["host"])
    data["TASKTRACKER_TRUSTED_HOSTS"] = ",".join(dict.fromkeys(hosts))
    data["TASKTRACKER_FORWARDED_ALLOW_IPS"] = "*"
    if ollama["enabled"]:
        data["TASKTRACKER_OLLAMA_BASE_URL"] = f"http://{child_name(name, 'ollama')}:{OLLAMA_PORT}"
        data["TASKTRACKER_OLLAMA_MODEL"] = ollama["models"][0]
    if spec["ingress"]["enabled"]:
        data["TASKTRACKER_PUBLIC_URL"] = dashboard_url(spec, name, namespace)
    if bot["enabled"]:
        data["TASKTRACKER_TELEGRAM_MODE"] = bot["mode"]
        data["TASKTRACKER_TELEGRAM_CHATS"] = bot["chats"]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(spec, name, namespace, "config", config_name(name)),
        "data": data,
    }


def config_checksum(configmap: Obj) -> str:
    """Pods carry the ConfigMap's checksum, so a settings change rolls them (as the chart does)."""
    canonical = json.dumps(configmap["data"], sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()


def _secret_files(spec: Spec, name: str) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """Secrets as files: (env naming the files, volume mounts, volumes). Never in the environment."""
    postgres, bot = spec["postgres"], spec["bot"]
    env = [{"name": "TASKTRACKER_SECRET_KEY_FILE", "value": f"{SECRETS_DIR}/app/secret-key"}]
    mounts = [{"name": "app-secrets", "mountPath": f"{SECRETS_DIR}/app", "readOnly": True}]
    volumes = [{"name": "app-secrets", "secret": {"secretName": app_secret_name(name), "defaultMode": 0o440}}]

    def secret_volume(volume: str, secret: str, key: str) -> None:
        mounts.append(
            {"name": volume, "mountPath": f"{SECRETS_DIR}/{volume.removesuffix('-secret')}", "readOnly": True}
        )
        volumes.append(
            {
                "name": volume,
                "secret": {"secretName": secret, "defaultMode": 0o440, "items": [{"key": key, "path": key}]},
            }
        )

    if postgres["managed"]:
        env.append(
            {"name": "TASKTRACKER_DATABASE_PASSWORD_FILE", "value": f"{SECRETS_DIR}/database/password"}
        )
        secret_volume("database-secret", postgres_secret_name(name), "password")
    else:
        ref = postgres["external"]["secretRef"]
        env.append({"name": "TASKTRACKER_DATABASE_URL_FILE", "value": f"{SECRETS_DIR}/database/{ref['key']}"})
        secret_volume("database-secret", ref["name"], ref["key"])
    if "urlSecretRef" in spec["nats"]:
        ref = spec["nats"]["urlSecretRef"]
        env.append({"name": "TASKTRACKER_NATS_URL_FILE", "value": f"{SECRETS_DIR}/nats/{ref['key']}"})
        secret_volume("nats-secret", ref["name"], ref["key"])
    if bot["enabled"]:
        ref = bot["tokenSecretRef"]
        env.append(
            {"name": "TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE", "value": f"{SECRETS_DIR}/telegram/{ref['key']}"}
        )
        secret_volume("telegram-secret", ref["name"], ref["key"])
        if bot["mode"] == "webhook":
            env.append(
                {
                    "name": "TASKTRACKER_TELEGRAM_WEBHOOK_SECRET_FILE",
                    "value": f"{SECRETS_DIR}/app/telegram-webhook-secret",
                }
            )
    return env, mounts, volumes


def _admin_secret_ref(spec: Spec, name: str) -> tuple[str, str] | None:
    """(Secret, key) of the first admin's password; None when no admin is bootstrapped."""
    admin = spec["auth"]["admin"]
    if not admin["username"]:
        return None
    ref = admin.get("passwordSecretRef")
    return (ref["name"], ref["key"]) if ref else (admin_secret_name(name), "password")


def _admin_bootstrap(spec: Spec, name: str) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """The API container's admin bootstrap: (env, volume mounts, volumes). Only the API creates users at
    start, and Settings refuses a username without its password, so no other container gets any of it."""
    secret_ref = _admin_secret_ref(spec, name)
    if secret_ref is None:
        return [], [], []
    admin = spec["auth"]["admin"]
    secret, key = secret_ref
    env = [{"name": "TASKTRACKER_ADMIN_USERNAME", "value": admin["username"]}]
    if admin.get("email"):
        env.append({"name": "TASKTRACKER_ADMIN_EMAIL", "value": admin["email"]})
    env.append({"name": "TASKTRACKER_ADMIN_PASSWORD_FILE", "value": f"{SECRETS_DIR}/admin/{key}"})
    mounts = [{"name": "admin-secret", "mountPath": f"{SECRETS_DIR}/admin", "readOnly": True}]
    volumes = [
        {
            "name": "admin-secret",
            "secret": {"secretName": secret, "defaultMode": 0o440, "items": [{"key": key, "path": key}]},
        }
    ]
    return env, mounts, volumes


def _probe(path: str, port: str, period: int, timeout: int | None, failures: int) -> Obj:
    probe: Obj = {"httpGet": {"path": path, "port": port}, "periodSeconds": period}
    if timeout is not None:
        probe["timeoutSeconds"] = timeout
    probe["failureThreshold"] = failures
    return probe


def _base_container(spec: Spec, name: str, role: str, args: list[str], section: Spec | None) -> Obj:
    env, secret_mounts, _ = _secret_files(spec, name)
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if role in ("api", "worker", "bot"):
        mounts.append({"name": "data", "mountPath": DATA_DIR})
    return {
        "name": role,
        "image": app_image(spec),
        "imagePullPolicy": spec["imagePullPolicy"],
        "args": args,
        "envFrom": [{"configMapRef": {"name": config_name(name)}}],
        "env": env,
        "securityContext": container_security(),
        "resources": resources(section) if section is not None else copy.deepcopy(MIGRATE_RESOURCES),
        "volumeMounts": mounts + secret_mounts,
    }


def app_container(spec: Spec, name: str, role: str) -> Obj:
    section = {"api": spec["api"], "worker": spec["workers"], "bot": spec["bot"]}.get(role)
    container = _base_container(spec, name, role, [role], section)
    if role == "api":
        container["ports"] = [{"name": "http", "containerPort": API_PORT, "protocol": "TCP"}]
        admin_env, admin_mounts, _ = _admin_bootstrap(spec, name)
        container["env"] += admin_env
        container["volumeMounts"] += admin_mounts
    elif role in ("worker", "bot"):
        container["ports"] = [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}]
    for probe, settings in PROBES.get(role, {}).items():
        container[probe] = _probe(*settings)
    return container


def wait_for_schema_container(spec: Spec, name: str) -> Obj:
    """Init container: the pod starts once the schema is at the image's newest migration."""
    container = _base_container(
        spec, name, "wait-for-schema", ["migrate", "--wait", "--timeout", str(MIGRATION_WAIT_S)], None
    )
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "data"]
    return container


def _app_pod(spec: Spec, name: str, role: str, component: str, checksum: str | None) -> Obj:
    _, _, secret_volumes = _secret_files(spec, name)
    volumes = [empty_dir("tmp")]
    if role != "migrate":
        volumes.append(empty_dir("data"))
    pod_spec: Obj = {**pod_spec_common(spec, APP_UID)}
    if role in ("api", "worker"):
        pod_spec["terminationGracePeriodSeconds"] = 30 if role == "api" else 45
    if role != "migrate":
        pod_spec["initContainers"] = [wait_for_schema_container(spec, name)]
    pod_spec["containers"] = [app_container(spec, name, role)]
    pod_spec["volumes"] = volumes + secret_volumes
    if role == "api":
        pod_spec["volumes"] += _admin_bootstrap(spec, name)[2]
    template: Obj = {"metadata": {"labels": labels(spec, name, component)}, "spec": pod_spec}
    if checksum is not None:
        template["metadata"]["annotations"] = {"checksum/config": checksum}
    return template


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


def _checksum(spec: Spec, name: str, namespace: str) -> str:
    return config_checksum(build_app_configmap(spec, name, namespace))


def build_api_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    pod = _app_pod(spec, name, "api", "api", _checksum(spec, name, namespace))
    deployment = _deployment(spec, name, namespace, "api", pod)
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
    pod = _app_pod(spec, name, "worker", "worker", _checksum(spec, name, namespace))
    deployment = _deployment(spec, name, namespace, "worker", pod)
    if replicas is not None:
        deployment["spec"]["replicas"] = replicas
    return deployment


def build_bot_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    pod = _app_pod(spec, name, "bot", "bot", _checksum(spec, name, namespace))
    deployment = _deployment(spec, name, namespace, "bot", pod)
    deployment["spec"]["replicas"] = spec["bot"]["replicas"]
    # Never two pollers at once: Telegram answers the second one with 409 Conflict.
    deployment["spec"]["strategy"] = {"type": "Recreate"}
    return deployment


def build_migrate_job(spec: Spec, name: str, namespace: str) -> Obj:
    """`tasktracker migrate` for spec.version: one Job per version, run before the API and workers roll."""
    pod = _app_pod(spec, name, "migrate", "migrate", None)
    pod["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(spec, name, namespace, "migrate", migrate_job_name(name, spec["version"])),
        "spec": {"backoffLimit": 3, "activeDeadlineSeconds": 600, "template": pod},
    }


def set_webhook_job_name(spec: Spec, name: str, namespace: str) -> str:
    return f"{name}-set-webhook-{slug(dashboard_url(spec, name, namespace) + ' ' + spec['version'], 8)}"


def build_set_webhook_job(spec: Spec, name: str, namespace: str) -> Obj:
    """Webhook mode: `tasktracker bot set-webhook` tells Telegram the public URL (once per URL and version)."""
    container = _base_container(spec, name, "set-webhook", ["bot", "set-webhook"], spec["bot"])
    _, _, secret_volumes = _secret_files(spec, name)
    pod = {
        "metadata": {"labels": labels(spec, name, "bot")},
        "spec": {
            **pod_spec_common(spec, APP_UID),
            "restartPolicy": "OnFailure",
            "containers": [container],
            "volumes": [empty_dir("tmp"), *secret_volumes],
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(spec, name, namespace, "bot", set_webhook_job_name(spec, name, namespace)),
        "spec": {"backoffLimit": 4, "activeDeadlineSeconds": 300, "template": pod},
    }


def build_dashboard_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    container: Obj = {
        "name": "dashboard",
        "image": dashboard_image(spec),
        "imagePullPolicy": spec["imagePullPolicy"],
        "ports": [{"name": "http", "containerPort": DASHBOARD_PORT, "protocol": "TCP"}],
        "env": [
            # Read by the image's envsubst step into nginx.conf (services/nginx/nginx.conf).
            {"name": "API_UPSTREAM", "value": f"{child_name(name, 'api')}:{API_PORT}"},
            {"name": "TASKTRACKER_MAX_BODY_BYTES", "value": str(MAX_BODY_BYTES)},
        ],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
        "securityContext": container_security(),
        "resources": resources(spec["dashboard"]),
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "conf", "mountPath": "/etc/nginx/conf.d"},
        ],
    }
    pod = {
        "metadata": {"labels": labels(spec, name, "dashboard")},
        "spec": {
            **pod_spec_common(spec, NGINX_UID),
            "containers": [container],
            "volumes": [empty_dir("tmp"), empty_dir("conf")],
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
