"""The Tiltfile, executed by a real Starlark interpreter (starlark-go wraps Go's implementation, the one
Tilt embeds) with Tilt's built-ins stubbed as recorders; what it declares is checked against the chart
rendered with the same values."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlark_go import Starlark, configure_starlark

from tests.deploy.render import CHART, ROOT, helm

TILTFILE = ROOT / "Tiltfile"
# The dialect Tilt runs: top-level if/for and re-assignment, sets, recursion (go.starlark.net's
# AllowGlobalReassign also allows top-level control flow).
configure_starlark(allow_set=True, allow_global_reassign=True, allow_recursion=True)
LOAD = re.compile(r'^load\("(?P<path>\./[^"]+)"(?P<symbols>(?:\s*,\s*"[^"]+")+)\)\s*$', re.MULTILINE)


@dataclass
class TiltRecorder:
    """Tilt's built-ins as recorders: each call is kept, with arguments as Starlark passed them."""

    root: Path
    calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    files_read: list[str] = field(default_factory=list)
    _builtins: dict[str, Any] = field(default_factory=dict)

    def builtins(self) -> dict[str, Any]:
        def record(name: str, result: Any = None):
            def builtin(*args: Any, **kwargs: Any) -> Any:
                self.calls[name].append((args, kwargs))
                return result(*args, **kwargs) if callable(result) else result

            return builtin

        return {
            "allow_k8s_contexts": record("allow_k8s_contexts"),
            "docker_build": record("docker_build"),
            "k8s_yaml": record("k8s_yaml"),
            "k8s_resource": record("k8s_resource"),
            "local_resource": record("local_resource"),
            "helm": record("helm", lambda path, **kw: f"<helm {path}>"),
            "sync": record("sync", lambda src, dest: {"step": "sync", "src": src, "dest": dest}),
            "run": record("run", lambda cmd, **kw: {"step": "run", "cmd": cmd, **kw}),
            "fall_back_on": record("fall_back_on", lambda files: {"step": "fall_back_on", "files": files}),
            "port_forward": record(
                "port_forward",
                lambda local, container=None, **kw: {"local": local, "container": container, **kw},
            ),
            "read_file": record("read_file", self._read_file),
        }

    def _read_file(self, path: str, default: str | None = None) -> str:
        self.files_read.append(path)
        target = self.root / path
        if target.is_file():
            return target.read_text()
        if default is None:
            raise FileNotFoundError(path)  # Tilt fails the Tiltfile too
        return default

    def run_tiltfile(self, tiltfile: Path) -> Starlark:
        # starlark-go does not keep the Python callables it is given alive: hold them here while the
        # interpreter may call them (else a freed closure's memory is called and the process crashes).
        self._builtins = self.builtins()
        interpreter = Starlark(globals=self._builtins)
        source = tiltfile.read_text()
        # starlark-go leaves `load` to the embedding application, as Tilt does: run the loaded file
        # in the same interpreter first (its names become visible), then the Tiltfile without the load.
        for match in LOAD.finditer(source):
            loaded = self.root / match["path"]
            interpreter.exec(loaded.read_text(), filename=str(loaded.relative_to(self.root)))
            for symbol in re.findall(r'"([^"]+)"', match["symbols"]):
                assert symbol in interpreter.globals(), f"{match['path']} defines no {symbol}"
        interpreter.exec(LOAD.sub("", source), filename="Tiltfile")
        return interpreter


def _copy_checkout(tmp_path: Path, with_operator: bool) -> Path:
    """The files the Tiltfile reads, in a checkout with or without operator/."""
    root = tmp_path / "checkout"
    for relative in ("Tiltfile", "tilt/helpers.star", "tilt/values-dev.yaml"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text((ROOT / relative).read_text())
    if with_operator:
        (root / "operator").mkdir()
        (root / "operator" / "pyproject.toml").write_text('[project]\nname = "tasktracker-operator"\n')
    return root


@pytest.fixture
def tilt(tmp_path) -> TiltRecorder:
    recorder = TiltRecorder(_copy_checkout(tmp_path, with_operator=False))
    recorder.run_tiltfile(recorder.root / "Tiltfile")
    return recorder


def _rendered_workloads(helm_call: tuple[tuple[Any, ...], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (path,), kwargs = helm_call
    args = ["template", kwargs["name"], str(ROOT / path)]
    for values in kwargs.get("values", []):
        args += ["-f", str(ROOT / values)]
    objects = [doc for doc in yaml.safe_load_all(helm(*args).stdout) if doc]
    return {
        obj["metadata"]["name"]: obj for obj in objects if obj["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def test_images_are_the_dev_target_and_the_dashboard(tilt) -> None:
    builds = {args[0]: (args, kwargs) for args, kwargs in tilt.calls["docker_build"]}
    assert set(builds) == {"ghcr.io/tasktracker/tasktracker", "ghcr.io/tasktracker/tasktracker-dashboard"}
    app_args, app = builds["ghcr.io/tasktracker/tasktracker"]
    assert app_args[1] == "." and app["dockerfile"] == "services/Dockerfile" and app["target"] == "dev"
    dockerfile = (ROOT / app["dockerfile"]).read_text()
    assert re.search(rf"^FROM .* AS {app['target']}$", dockerfile, re.MULTILINE)
    for path in app["only"]:
        assert (ROOT / path).exists(), f"docker_build only= names {path}, which does not exist"
    _, dashboard = builds["ghcr.io/tasktracker/tasktracker-dashboard"]
    assert (ROOT / dashboard["dockerfile"]).is_file()


def test_live_update_syncs_the_package_into_the_editable_install(tilt) -> None:
    _, app = next((a, k) for a, k in tilt.calls["docker_build"] if a[0] == "ghcr.io/tasktracker/tasktracker")
    steps = app["live_update"]
    assert steps[0]["step"] == "fall_back_on"  # Tilt requires it first
    assert {"pyproject.toml", "constraints.txt"} <= set(steps[0]["files"])
    syncs = [step for step in steps if step["step"] == "sync"]
    assert syncs == [{"step": "sync", "src": "services/tasktracker", "dest": "/app/services/tasktracker"}]
    assert (ROOT / syncs[0]["src"]).is_dir()
    # the dev image installs the package editable from exactly that directory
    dockerfile = (ROOT / "services" / "Dockerfile").read_text()
    dev_stage = dockerfile.split(" AS dev", 1)[1].split("\nFROM ", 1)[0]
    assert "WORKDIR /app" in dev_stage and "pip install -c constraints.txt -e ." in dev_stage
    assert "COPY services/tasktracker services/tasktracker" in dev_stage


def test_chart_is_deployed_with_the_dev_values(tilt, helm_path) -> None:
    ((path,), kwargs) = tilt.calls["helm"][0]
    assert ROOT / path == CHART
    assert kwargs["values"] == ["tilt/values-dev.yaml"]  # no values-local.yaml in this checkout
    assert tilt.calls["k8s_yaml"] == [(("<helm charts/tasktracker>",), {})]


def test_resources_and_port_forwards_name_what_the_chart_renders(tilt, helm_path) -> None:
    workloads = _rendered_workloads(tilt.calls["helm"][0])
    names = {}
    for args, kwargs in tilt.calls["k8s_resource"]:
        workload = args[0]
        assert workload in workloads, f"k8s_resource({workload!r}): the chart renders no such workload"
        names[kwargs.get("new_name", workload)] = workloads[workload]
        for forward in kwargs.get("port_forwards", []):
            ports = {
                port["containerPort"]
                for container in workloads[workload]["spec"]["template"]["spec"]["containers"]
                for port in container.get("ports", [])
            }
            assert forward["container"] in ports, (
                f"{workload}: forwards to {forward['container']}, not a port"
            )
        for dep in kwargs.get("resource_deps", []):
            assert dep in names, f"{workload} depends on {dep}, declared later or never"
    forwards = {
        fw["local"]: fw["container"]
        for _, kw in tilt.calls["k8s_resource"]
        for fw in kw.get("port_forwards", [])
    }
    assert forwards[8080] == 8080 and forwards[8000] == 8000  # the dashboard and the API
    labels = {tuple(kw.get("labels", [])) for _, kw in tilt.calls["k8s_resource"]}
    assert labels == {("app",), ("backing",)}


def test_dev_values_let_live_update_write(tilt, helm_path) -> None:
    workloads = _rendered_workloads(tilt.calls["helm"][0])
    api = workloads["tasktracker-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["securityContext"]["readOnlyRootFilesystem"] is False


def test_operator_is_a_local_resource_only_when_present(tmp_path, tilt) -> None:
    assert {args[0] for args, _ in tilt.calls["local_resource"]} == {"dashboard-vite"}
    with_operator = TiltRecorder(_copy_checkout(tmp_path / "op", with_operator=True))
    with_operator.run_tiltfile(with_operator.root / "Tiltfile")
    resources = {args[0]: kwargs for args, kwargs in with_operator.calls["local_resource"]}
    assert set(resources) == {"dashboard-vite", "operator-crds", "operator"}
    assert "kopf run -m tasktracker_operator.main" in resources["operator"]["serve_cmd"]
    assert resources["operator"]["resource_deps"] == ["operator-crds"]


def test_local_values_file_is_added_when_present(tmp_path) -> None:
    root = _copy_checkout(tmp_path, with_operator=False)
    (root / "tilt" / "values-local.yaml").write_text("bot:\n  enabled: true\n")
    recorder = TiltRecorder(root)
    recorder.run_tiltfile(root / "Tiltfile")
    assert recorder.calls["helm"][0][1]["values"] == ["tilt/values-dev.yaml", "tilt/values-local.yaml"]


def test_a_broken_tiltfile_is_reported_by_the_interpreter(tmp_path) -> None:
    from starlark_go import StarlarkError

    root = _copy_checkout(tmp_path, with_operator=False)
    (root / "Tiltfile").write_text((root / "Tiltfile").read_text() + "\nk8s_resource(undefined_name)\n")
    with pytest.raises(StarlarkError, match="undefined"):
        TiltRecorder(root).run_tiltfile(root / "Tiltfile")


def test_dev_values_render_the_same_twice(tilt, helm_path) -> None:
    """Tilt re-renders on every change: generated secrets would roll every pod and lock PostgreSQL out."""
    first = _rendered_workloads(tilt.calls["helm"][0])
    second = _rendered_workloads(tilt.calls["helm"][0])
    for name in ("tasktracker-api", "tasktracker-worker"):
        annotations = [w[name]["spec"]["template"]["metadata"]["annotations"] for w in (first, second)]
        assert annotations[0] == annotations[1]


def test_dashboard_dev_server_proxies_to_the_forwarded_api(tilt) -> None:
    (vite,) = [kwargs for args, kwargs in tilt.calls["local_resource"] if args[0] == "dashboard-vite"]
    assert vite["serve_cmd"] == "npm run dev" and (ROOT / vite["serve_dir"] / "package.json").is_file()
    assert '"dev":' in (ROOT / vite["serve_dir"] / "package.json").read_text()
    vite_config = (ROOT / vite["serve_dir"] / "vite.config.ts").read_text()
    forwarded = {fw["local"] for _, kw in tilt.calls["k8s_resource"] for fw in kw.get("port_forwards", [])}
    assert '"http://127.0.0.1:8000"' in vite_config and 8000 in forwarded  # where Vite sends /api and /ws
    assert vite["auto_init"] is False  # started from the UI when wanted
