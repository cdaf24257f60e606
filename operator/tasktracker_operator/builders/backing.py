"""What the app depends on: generated Secrets, PostgreSQL, NATS JetStream, Ollama and model pulls."""

from __future__ import annotations

import hashlib

from tasktracker_operator.builders.common import (
    APP_UID,
    NATS_CLIENT_PORT,
    NATS_MONITORING_PORT,
    OLLAMA_PORT,
    POSTGRES_DB,
    POSTGRES_PORT,
    POSTGRES_UID,
    POSTGRES_USER,
    Obj,
    admin_secret_name,
    app_secret_name,
    child_name,
    container_security,
    empty_dir,
    labels,
    metadata,
    pod_spec_common,
    postgres_pvc_name,
    postgres_secret_name,
    pull_job_name,
    pvc,
    resources,
    selector_labels,
    service,
)
from tasktracker_operator.spec import Spec


def _secret(
    spec: Spec, name: str, namespace: str, component: str, object_name: str, data: dict[str, str]
) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(spec, name, namespace, component, object_name),
        "type": "Opaque",
        "stringData": data,
    }


def build_app_secret(spec: Spec, name: str, namespace: str, *, secret_key: str, webhook_secret: str) -> Obj:
    """The app's generated secrets; the handler creates it once and never overwrites it."""
    data = {"secret-key": secret_key, "telegram-webhook-secret": webhook_secret}
    return _secret(spec, name, namespace, "api", app_secret_name(name), data)


def build_admin_secret(spec: Spec, name: str, namespace: str, *, password: str) -> Obj:
    """The first admin's generated password; the handler creates it once and never overwrites it."""
    return _secret(spec, name, namespace, "api", admin_secret_name(name), {"password": password})


def build_postgres_secret(spec: Spec, name: str, namespace: str, *, password: str) -> Obj:
    """The managed database's generated password and the URL the app connects with."""
    url = f"postgresql://{POSTGRES_USER}:{password}@{child_name(name, 'postgres')}:{POSTGRES_PORT}/{POSTGRES_DB}"
    data = {"username": POSTGRES_USER, "password": password, "database": POSTGRES_DB, "url": url}
    return _secret(spec, name, namespace, "postgres", postgres_secret_name(name), data)


def _statefulset(spec: Spec, name: str, namespace: str, component: str, pod: Obj) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(spec, name, namespace, component, child_name(name, component)),
        "spec": {
            "serviceName": child_name(name, component),
            "replicas": 1,
            "selector": {"matchLabels": selector_labels(name, component)},
            "template": pod,
        },
    }


def build_postgres_pvc(spec: Spec, name: str, namespace: str) -> Obj:
    """The database's claim. It has no owner: deleting the TaskTracker keeps it unless deleteDataOnRemove."""
    return pvc(spec, name, namespace, "postgres", postgres_pvc_name(name), spec["postgres"]["storage"])


def build_postgres_service(spec: Spec, name: str, namespace: str) -> Obj:
    return service(spec, name, namespace, "postgres", [("postgres", POSTGRES_PORT)])


def build_postgres_statefulset(spec: Spec, name: str, namespace: str) -> Obj:
    ready = ["pg_isready", "-h", "127.0.0.1", "-U", POSTGRES_USER, "-d", POSTGRES_DB]
    container: Obj = {
        "name": "postgres",
        "image": spec["postgres"]["image"],
        "imagePullPolicy": spec["imagePullPolicy"],
        "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "POSTGRES_DB", "value": POSTGRES_DB},
            {"name": "POSTGRES_USER", "value": POSTGRES_USER},
            {"name": "POSTGRES_PASSWORD_FILE", "value": "/var/run/secrets/postgres/password"},
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "livenessProbe": {
            "exec": {"command": ready},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
        },
        "readinessProbe": {"exec": {"command": ready}, "periodSeconds": 5, "timeoutSeconds": 5},
        "securityContext": container_security(),
        "resources": resources(spec["postgres"]),
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "password", "mountPath": "/var/run/secrets/postgres", "readOnly": True},
        ],
    }
    pod = {
        "metadata": {"labels": labels(spec, name, "postgres")},
        "spec": {
            **pod_spec_common(spec, POSTGRES_UID),
            "containers": [container],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": postgres_pvc_name(name)}},
                empty_dir("run"),
                empty_dir("tmp"),
                {
                    "name": "password",
                    "secret": {"secretName": postgres_secret_name(name), "defaultMode": 0o440},
                },
            ],
        },
    }
    return _statefulset(spec, name, namespace, "postgres", pod)


def build_nats_pvc(spec: Spec, name: str, namespace: str) -> Obj:
    return pvc(spec, name, namespace, "nats", f"{name}-nats-data", spec["nats"]["storage"])


def build_nats_service(spec: Spec, name: str, namespace: str) -> Obj:
    return service(
        spec, name, namespace, "nats", [("client", NATS_CLIENT_PORT), ("monitor", NATS_MONITORING_PORT)]
    )


NATS_UID = 1000


def nats_config(spec: Spec) -> str:
    nats = spec["nats"]
    return (
        f"port: {NATS_CLIENT_PORT}\n"
        f"http_port: {NATS_MONITORING_PORT}\n"
        "server_name: $POD_NAME\n"
        "jetstream {\n"
        "  store_dir: /data/jetstream\n"
        f"  max_memory_store: {nats['maxMemory']}\n"
        f"  max_file_store: {nats['maxFile']}\n"
        "}\n"
    )


def build_nats_configmap(spec: Spec, name: str, namespace: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(spec, name, namespace, "nats", f"{child_name(name, 'nats')}-config"),
        "data": {"nats.conf": nats_config(spec)},
    }


def build_nats_statefulset(spec: Spec, name: str, namespace: str) -> Obj:
    container: Obj = {
        "name": "nats",
        "image": spec["nats"]["image"],
        "imagePullPolicy": spec["imagePullPolicy"],
        "args": ["--config", "/etc/nats/nats.conf"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [
            {"name": "client", "containerPort": NATS_CLIENT_PORT, "protocol": "TCP"},
            {"name": "monitor", "containerPort": NATS_MONITORING_PORT, "protocol": "TCP"},
        ],
        "livenessProbe": {
            "httpGet": {"path": "/healthz?js-enabled-only=true", "port": "monitor"},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
        },
        "readinessProbe": {
            "httpGet": {"path": "/healthz?js-server-only=true", "port": "monitor"},
            "periodSeconds": 5,
            "timeoutSeconds": 5,
        },
        "securityContext": container_security(),
        "resources": resources(spec["nats"]),
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/nats", "readOnly": True},
            {"name": "data", "mountPath": "/data"},
        ],
    }
    checksum = hashlib.sha256(nats_config(spec).encode()).hexdigest()
    pod = {
        "metadata": {"labels": labels(spec, name, "nats"), "annotations": {"checksum/config": checksum}},
        "spec": {
            **pod_spec_common(spec, NATS_UID),
            "containers": [container],
            "volumes": [
                {"name": "config", "configMap": {"name": f"{child_name(name, 'nats')}-config"}},
                {"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-nats-data"}},
            ],
        },
    }
    return _statefulset(spec, name, namespace, "nats", pod)


def build_ollama_pvc(spec: Spec, name: str, namespace: str) -> Obj:
    return pvc(spec, name, namespace, "ollama", f"{name}-ollama-models", spec["ollama"]["storage"])


def build_ollama_service(spec: Spec, name: str, namespace: str) -> Obj:
    return service(spec, name, namespace, "ollama", [("http", OLLAMA_PORT)])


def build_ollama_deployment(spec: Spec, name: str, namespace: str) -> Obj:
    ollama = spec["ollama"]
    container: Obj = {
        "name": "ollama",
        "image": ollama["image"],
        "imagePullPolicy": spec["imagePullPolicy"],
        "env": [
            {"name": "OLLAMA_HOST", "value": f"0.0.0.0:{OLLAMA_PORT}"},
            {"name": "OLLAMA_MODELS", "value": "/models"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "ports": [{"name": "http", "containerPort": OLLAMA_PORT, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 15, "timeoutSeconds": 5},
        "readinessProbe": {
            "httpGet": {"path": "/api/tags", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
        },
        "securityContext": container_security(),
        "resources": resources(ollama),
        "volumeMounts": [{"name": "models", "mountPath": "/models"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod_spec: Obj = {
        **pod_spec_common(spec, APP_UID),
        "containers": [container],
        "volumes": [
            {"name": "models", "persistentVolumeClaim": {"claimName": f"{name}-ollama-models"}},
            empty_dir("tmp"),
        ],
    }
    if ollama.get("nodeSelector"):
        pod_spec["nodeSelector"] = dict(ollama["nodeSelector"])
    if ollama.get("tolerations"):
        pod_spec["tolerations"] = [dict(toleration) for toleration in ollama["tolerations"]]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(spec, name, namespace, "ollama", child_name(name, "ollama")),
        "spec": {
            "replicas": 1,
            # One pod owns the ReadWriteOnce models volume at a time.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector_labels(name, "ollama")},
            "template": {"metadata": {"labels": labels(spec, name, "ollama")}, "spec": pod_spec},
        },
    }


def build_model_pull_job(spec: Spec, name: str, namespace: str, *, model: str) -> Obj:
    """`ollama pull <model>` against the operator's Ollama; the Job's status is the pull's outcome."""
    container: Obj = {
        "name": "pull",
        "image": spec["ollama"]["image"],
        "imagePullPolicy": spec["imagePullPolicy"],
        "command": ["ollama", "pull", model],
        "env": [
            {"name": "OLLAMA_HOST", "value": f"http://{child_name(name, 'ollama')}:{OLLAMA_PORT}"},
            {"name": "HOME", "value": "/tmp"},
        ],
        "securityContext": container_security(),
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    # Not "ollama": the pull pods must not match the Ollama Service's selector.
    job_labels = labels(spec, name, "model-pull")
    job_meta = metadata(spec, name, namespace, "model-pull", pull_job_name(name, model))
    job_meta["annotations"] = {"tasktracker.io/model": model}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": job_meta,
        "spec": {
            "backoffLimit": 2,
            "activeDeadlineSeconds": 3600,
            "template": {
                "metadata": {"labels": job_labels},
                "spec": {
                    **pod_spec_common(spec, APP_UID),
                    "restartPolicy": "Never",
                    "containers": [container],
                    "volumes": [empty_dir("tmp")],
                },
            },
        },
    }
