"""skaffold.yaml checked for structure (artifacts, Dockerfile targets, chart, profiles, port-forwards),
and the justfile run by the real `just` (dry run): each recipe delegates to the Makefile."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.render import ROOT, helm

SKAFFOLD = ROOT / "skaffold.yaml"
JUSTFILE = ROOT / "justfile"
JUST = Path(sys.executable).with_name("just")


def dockerfile_targets(path: Path) -> set[str]:
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", path.read_text(), re.MULTILINE | re.IGNORECASE))


def apply_patches(config: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """JSON Patch `add` and `replace` (what skaffold profiles use here), refusing paths that do not exist."""
    result = copy.deepcopy(config)
    for patch in patches:
        *parents, last = patch["path"].lstrip("/").split("/")
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if patch["op"] == "replace":
            assert key in node if isinstance(node, dict) else key < len(node), (
                f"replace of a missing {patch['path']}"
            )
            node[key] = patch["value"]
        elif patch["op"] == "add":
            node[key] = patch["value"]
        else:
            pytest.fail(f"unexpected patch op {patch['op']}")
    return result


@pytest.fixture(scope="module")
def skaffold() -> dict[str, Any]:
    return yaml.safe_load(SKAFFOLD.read_text())


def test_skaffold_schema_version_and_artifacts(skaffold) -> None:
    assert re.fullmatch(r"skaffold/v4beta\d+", skaffold["apiVersion"]) and skaffold["kind"] == "Config"
    images = {}
    for artifact in skaffold["build"]["artifacts"]:
        context = ROOT / artifact.get("context", ".")
        dockerfile = context / artifact["docker"]["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        target = artifact["docker"].get("target")
        assert target is None or target in dockerfile_targets(dockerfile), (
            f"{dockerfile} has no stage {target}"
        )
        images[artifact["image"]] = artifact
    assert set(images) == {"ghcr.io/tasktracker/tasktracker", "ghcr.io/tasktracker/tasktracker-dashboard"}


def test_skaffold_deploys_the_chart_with_its_images(skaffold, helm_path) -> None:
    (release,) = skaffold["deploy"]["helm"]["releases"]
    chart = ROOT / release["chartPath"]
    assert (chart / "Chart.yaml").is_file()
    templates = release["setValueTemplates"]
    for artifact in skaffold["build"]["artifacts"]:
        key = re.sub(r"[^A-Za-z0-9]", "_", artifact["image"])  # how skaffold names the template variables
        assert f"{{{{.IMAGE_REPO_{key}}}}}" in templates.values(), artifact["image"]
        assert f"{{{{.IMAGE_TAG_{key}}}}}" in templates.values(), artifact["image"]
    # what skaffold will pass renders: images as skaffold built them
    sets = [
        "image.registry=",
        "image.repository=localhost:5000/tasktracker",
        "image.tag=dev1",
        "dashboardImage.registry=",
        "dashboardImage.repository=localhost:5000/dashboard",
        "dashboardImage.tag=dev1",
    ]
    args = ["template", release["name"], str(chart)]
    for item in sets:
        args += ["--set", item]
    rendered = helm(*args).stdout
    assert "image: localhost:5000/tasktracker:dev1" in rendered
    assert "image: localhost:5000/dashboard:dev1" in rendered


def test_skaffold_port_forwards_name_rendered_services(skaffold, helm_path) -> None:
    (release,) = skaffold["deploy"]["helm"]["releases"]
    rendered = [
        d
        for d in yaml.safe_load_all(
            helm("template", release["name"], str(ROOT / release["chartPath"])).stdout
        )
        if d
    ]
    services = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Service"}
    forwards = {fw["localPort"]: fw for fw in skaffold["portForward"]}
    assert set(forwards) == {8000, 8080}
    for forward in forwards.values():
        assert forward["resourceType"] == "service"
        service = services[forward["resourceName"]]
        assert forward["port"] in {p["port"] for p in service["spec"]["ports"]}


def test_skaffold_dev_profile_builds_the_dev_target_and_syncs_sources(skaffold) -> None:
    (profile,) = [p for p in skaffold["profiles"] if p["name"] == "dev"]
    assert {"command": "dev"} in profile["activation"]
    dev = apply_patches(skaffold, profile["patches"])
    app = dev["build"]["artifacts"][0]
    assert app["docker"]["target"] == "dev" and "dev" in dockerfile_targets(
        ROOT / app["docker"]["dockerfile"]
    )
    (rule,) = app["sync"]["manual"]
    assert rule["dest"] == "/app"  # /app/services/tasktracker is the dev image's editable install
    assert list(ROOT.glob(rule["src"])), f"sync src {rule['src']} matches no file"
    assert "WORKDIR /app" in (ROOT / "services" / "Dockerfile").read_text()
    (release,) = dev["deploy"]["helm"]["releases"]
    for values in release["valuesFiles"]:
        assert (ROOT / values).is_file()


def test_patch_helper_refuses_a_missing_path(skaffold) -> None:
    with pytest.raises((AssertionError, KeyError, IndexError)):
        apply_patches(skaffold, [{"op": "replace", "path": "/build/artifacts/5/docker/target", "value": "x"}])


# justfile ----------------------------------------------------------------------------------------------


def just(*args: str) -> subprocess.CompletedProcess[str]:
    if not JUST.is_file():
        pytest.fail("just is not installed in .venv (rust-just is a dev dependency): run `make install`")
    return subprocess.run(
        [str(JUST), "--justfile", str(JUSTFILE), "--working-directory", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("recipe", "command"),
    [
        (["run"], "make run"),
        (["test"], 'make test PYTEST_ARGS=""'),
        (["test", "-k", "chart"], 'make test PYTEST_ARGS="-k chart"'),
        (["lint"], "make lint"),
        (["services-dev"], "make services-dev"),
        (["docs"], "make docs"),
    ],
)
def test_just_recipes_delegate_to_make(recipe: list[str], command: str) -> None:
    result = just("--dry-run", *recipe)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == command


def test_every_make_target_a_recipe_names_exists() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    summary = just("--summary")
    assert summary.returncode == 0, summary.stderr
    for recipe in summary.stdout.split():
        dry = just("--dry-run", recipe)
        for target in re.findall(r"^make (\S+)", dry.stderr, re.MULTILINE):
            assert target in targets, f"just {recipe} runs `make {target}`, which the Makefile lacks"


def test_unknown_recipe_is_refused() -> None:
    result = just("--dry-run", "deploy-prod")
    assert result.returncode != 0 and "deploy-prod" in result.stderr
