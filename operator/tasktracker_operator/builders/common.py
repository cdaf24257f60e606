"""Names, labels, images and security settings every child shares (the chart's conventions)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from tasktracker_operator.spec import Spec

Obj = dict[str, Any]

APP_NAME = "tasktracker"
MANAGED_BY = "tasktracker-operator"

API_PORT = 8000
HEALTH_PORT = 8081  # worker and bot probe server: the app's TASKTRACKER_HEALTH_PORT default
DASHBOARD_PORT = 8080
POSTGRES_PORT = 5432
NATS_CLIENT_PORT = 4222
NATS_MONITORING_PORT = 8222
OLLAMA_PORT = 11434

APP_UID = 10001
NGINX_UID = 101
POSTGRES_UID = 70  # the postgres user of the alpine image

POSTGRES_DB = "tasktracker"
POSTGRES_USER = "tasktracker"

PAUSED_REPLICAS_ANNOTATION = "autoscaling.keda.sh/paused-replicas"


def child_name(name: str, component: str) -> str:
    return f"{name}-{component}"


def app_secret_name(name: str) -> str:
    """The Secret the operator generates for the app (the secret key)."""
    return f"{name}-app"


def admin_secret_name(name: str) -> str:
    """The Secret the operator generates for the first admin's password (without auth.admin.passwordSecretRef)."""
    return f"{name}-admin"


def postgres_secret_name(name: str) -> str:
    """The Secret the operator generates for its PostgreSQL (password and URL)."""
    return f"{name}-postgres"


def postgres_pvc_name(name: str) -> str:
    return f"{name}-postgres-data"


def slug(value: str, length: int = 30) -> str:
    """A DNS-label-safe, unique short form of any string (models, versions)."""
    readable = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:length].strip("-")
    digest = hashlib.sha256(value.encode()).hexdigest()[:6]
    return f"{readable}-{digest}" if readable else digest


def migrate_job_name(name: str, version: str) -> str:
    return f"{name}-migrate-{slug(version, 16)}"


def pull_job_name(name: str, model: str) -> str:
    return f"{name}-pull-{slug(model, 12)}"


def selector_labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
    }


def labels(spec: Spec, name: str, component: str) -> dict[str, str]:
    return {
        **selector_labels(name, component),
        "app.kubernetes.io/part-of": APP_NAME,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/version": spec["version"],
    }


def metadata(spec: Spec, name: str, namespace: str, component: str, object_name: str) -> Obj:
    return {"name": object_name, "namespace": namespace, "labels": labels(spec, name, component)}


def app_image(spec: Spec) -> str:
    return f"{spec['imageRegistry']}/tasktracker:{spec['version']}"


def dashboard_image(spec: Spec) -> str:
    return f"{spec['imageRegistry']}/tasktracker-dashboard:{spec['version']}"


def container_security() -> Obj:
    """The chart's container security context; the user is set for the whole pod (pod_security)."""
    return {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(uid: int) -> Obj:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(section: Spec) -> Obj:
    return {key: dict(value) for key, value in (section.get("resources") or {}).items()}


def empty_dir(volume: str) -> Obj:
    return {"name": volume, "emptyDir": {}}


def pod_spec_common(spec: Spec, uid: int) -> Obj:
    pod: Obj = {
        "securityContext": pod_security(uid),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
    }
    if spec.get("imagePullSecrets"):
        pod["imagePullSecrets"] = [{"name": ref["name"]} for ref in spec["imagePullSecrets"]]
    return pod


def service(spec: Spec, name: str, namespace: str, component: str, ports: list[tuple[str, int]]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(spec, name, namespace, component, child_name(name, component)),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(name, component),
            "ports": [
                {"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
                for port_name, port in ports
            ],
        },
    }


def pvc(spec: Spec, name: str, namespace: str, component: str, object_name: str, storage: Spec) -> Obj:
    claim: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": storage["size"]}},
    }
    if storage.get("storageClassName"):
        claim["storageClassName"] = storage["storageClassName"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(spec, name, namespace, component, object_name),
        "spec": claim,
    }


def service_host(name: str, namespace: str, component: str) -> str:
    return f"{child_name(name, component)}.{namespace}.svc"
