"""Helm as the tests use it: the binary `make helm` installs, templates rendered into objects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"
CHART = CHARTS / "tasktracker"
VALUES_DIR = CHART / "ci"
BAD_VALUES_DIR = Path(__file__).parent / "bad-values"
RELEASE = "tt"
NAMESPACE = "tasks"

# Values files kept in the chart (charts/tasktracker/ci) and the API groups the cluster is told to serve.
MATRIX: dict[str, tuple[str, ...]] = {
    "default": (),
    "external": (),
    "keda": ("keda.sh/v1alpha1", "monitoring.coreos.com/v1"),
    "ollama": (),
    "ingress-tls": (),
    "bot-polling": (),
}

# Secrets that values files name but the chart does not make (the operator of the cluster does).
EXTERNAL_SECRETS: dict[str, set[str]] = {
    "external": {"tasks-db", "tasks-nats", "tasks-app", "tasks-admin"},
    "ingress-tls": {f"{RELEASE}-tasktracker-tls"},  # cert-manager's, from the ingress annotation
}


def helm_binary() -> str:
    """The helm `make helm` puts beside this Python, else one on PATH."""
    candidate = Path(sys.executable).with_name("helm")
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("helm")
    if found is None:
        raise FileNotFoundError("helm is not installed: `make helm` (part of `make test`) fetches it")
    return found


@dataclass
class Rendered:
    name: str
    objects: list[dict[str, Any]]
    api_versions: tuple[str, ...] = ()
    text: str = field(default="", repr=False)

    def kinds(self) -> Counter[str]:
        return Counter(obj["kind"] for obj in self.objects)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for obj in self.of_kind(kind):
            if obj["metadata"]["name"] == name:
                return obj
        raise KeyError(f"{self.name}: no {kind} {name!r}")

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self.get(kind, name)
        except KeyError:
            return None


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([helm_binary(), *args], capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
    return result


def template_args(
    values: list[Path], api_versions: tuple[str, ...] = (), sets: tuple[str, ...] = ()
) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for path in values:
        args += ["-f", str(path)]
    for version in api_versions:
        args += ["--api-versions", version]
    for item in sets:
        args += ["--set", item]
    return args


def render(name: str, sets: tuple[str, ...] = (), api_versions: tuple[str, ...] | None = None) -> Rendered:
    versions = MATRIX[name] if api_versions is None else api_versions
    result = helm(*template_args([VALUES_DIR / f"{name}-values.yaml"], versions, sets))
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return Rendered(name=name, objects=objects, api_versions=versions, text=result.stdout)


def summary(rendered: Rendered) -> str:
    """`Deployment 3, Service 6, ...`: the kinds and counts of one rendering (for reports)."""
    return ", ".join(f"{kind} {count}" for kind, count in sorted(rendered.kinds().items()))


if __name__ == "__main__":  # python -m tests.deploy.render: kinds and counts per values file
    for values_name in MATRIX:
        done = render(values_name)
        print(f"{values_name}: {len(done.objects)} objects: {summary(done)}")
