"""The operator's own install manifests, and the command that writes them into the repository.

`tasktracker-operator-manifests [ROOT]` (re)writes `manifests/crds/`, `manifests/rbac/`,
`manifests/operator/`, the CRD of `charts/tasktracker-crds/` and the CRD reference in
docs/operator.md; tests fail when they differ from what the code builds, and another renders
`charts/tasktracker-operator` and compares.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from tasktracker_operator import crd
from tasktracker_operator.reference import replace_reference

Obj = dict[str, Any]

NAMESPACE = "tasktracker-system"
NAME = "tasktracker-operator"
IMAGE = "ghcr.io/tasktracker/tasktracker-operator"
VERSION = "0.1.0"
HEALTH_PORT = 8080
LABELS = {
    "app.kubernetes.io/name": NAME,
    "app.kubernetes.io/instance": NAME,
    "app.kubernetes.io/component": "operator",
    "app.kubernetes.io/part-of": "tasktracker",
    "app.kubernetes.io/managed-by": "kubectl",
    "app.kubernetes.io/version": VERSION,
}
SELECTOR = {key: LABELS[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}

# Least privilege: exactly the verbs the operator uses on exactly the kinds it manages.
RULES: list[Obj] = [
    {
        "apiGroups": [crd.GROUP],
        "resources": [crd.PLURAL],
        "verbs": ["get", "list", "watch", "patch", "update"],
    },
    {"apiGroups": [crd.GROUP], "resources": [f"{crd.PLURAL}/status"], "verbs": ["get", "patch", "update"]},
    # kopf: discovers custom resources and namespaces as they appear, and posts events.
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["list", "watch"],
    },
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create"]},
    # Secrets: the generated ones are created once and never changed; referenced ones are only read.
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "create"]},
    {
        "apiGroups": [""],
        "resources": ["services", "configmaps"],
        "verbs": ["get", "create", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "create", "delete"]},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets"],
        "verbs": ["get", "create", "patch", "delete"],
    },
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "create", "delete"]},
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses"],
        "verbs": ["get", "create", "patch", "delete"],
    },
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": ["get", "create", "patch", "delete"],
    },
    {"apiGroups": ["keda.sh"], "resources": ["scaledobjects"], "verbs": ["get", "create", "patch", "delete"]},
]


def _meta(name: str, namespaced: bool = True) -> Obj:
    meta: Obj = {"name": name, "labels": dict(LABELS)}
    if namespaced:
        meta["namespace"] = NAMESPACE
    return meta


def build_namespace() -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(NAMESPACE, namespaced=False)}


def build_rbac() -> list[Obj]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(NAME),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": _meta(NAME, namespaced=False),
            "rules": RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": _meta(NAME, namespaced=False),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
    ]


def build_operator_deployment() -> Obj:
    container: Obj = {
        "name": "operator",
        "image": f"{IMAGE}:{VERSION}",
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "run",
            "--standalone",
            "--all-namespaces",
            f"--liveness=http://0.0.0.0:{HEALTH_PORT}/healthz",
            "--module=tasktracker_operator.main",
        ],
        "env": [{"name": "OPERATOR_RECHECK_INTERVAL_S", "value": "20"}],
        "ports": [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "health"},
            "initialDelaySeconds": 10,
            "periodSeconds": 15,
            "timeoutSeconds": 5,
            "failureThreshold": 4,
        },
        "resources": {"requests": {"cpu": "50m", "memory": "96Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME),
        "spec": {
            # One operator: it runs standalone (no kopf peering), so two replicas would both act.
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def _dump(objs: list[Obj], header: str) -> str:
    body = "---\n".join(yaml.safe_dump(obj, sort_keys=False, width=120) for obj in objs)
    return f"# {header}\n# Generated by tasktracker-operator-manifests from operator/tasktracker_operator: do not edit.\n{body}"


def files() -> dict[str, str]:
    """Repository path -> content of every generated file."""
    crd_text = _dump([crd.build_crd()], "The TaskTracker CustomResourceDefinition.")
    chart_crd = crd.build_crd()
    # Uninstalling the CRD chart must not delete every TaskTracker (and so every installation).
    chart_crd["metadata"]["annotations"] = {"helm.sh/resource-policy": "keep"}
    return {
        "manifests/crds/tasktracker.io_tasktrackers.yaml": crd_text,
        "manifests/rbac/rbac.yaml": _dump(
            build_rbac(), "The operator's ServiceAccount and least-privilege ClusterRole."
        ),
        "manifests/operator/operator.yaml": _dump(
            [build_namespace(), build_operator_deployment()], "The operator: its namespace and Deployment."
        ),
        "charts/tasktracker-crds/templates/tasktracker.io_tasktrackers.yaml": _dump(
            [chart_crd], "The TaskTracker CustomResourceDefinition (kept when the chart is uninstalled)."
        ),
    }


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for relative, content in files().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        print(f"wrote {relative}")
    docs = root / "docs" / "operator.md"
    docs.write_text(replace_reference(docs.read_text()))
    print("wrote the CRD reference in docs/operator.md")


if __name__ == "__main__":
    main()
