"""The Dockerfiles, parsed (dockerfile-parse): pinned bases, non-root final stages, COPY sources that
exist, no build tools in the final stage, and a HEALTHCHECK that asks each role on a port it listens on."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tasktracker.config import Settings
from tasktracker.probes import health_url
from tests.deploy.render import ROOT

APP = ROOT / "services" / "Dockerfile"
DASHBOARD = ROOT / "services" / "nginx" / "Dockerfile"
DOCKERFILES = [APP, DASHBOARD, *sorted((ROOT / "operator").glob("Dockerfile"))]


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, instruction: str) -> list[str]:
        return [value for name, value in self.instructions if name == instruction]


def stages(path: Path) -> list[Stage]:
    parser = DockerfileParser(str(path))
    args = {}
    found: list[Stage] = []
    for item in parser.structure:
        instruction, value = item["instruction"], item["value"]
        if instruction == "ARG" and not found and "=" in value:
            key, _, default = value.partition("=")
            args[key] = default
        elif instruction == "FROM":
            parts = value.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            found.append(Stage(name=name, base=base))
        elif found and instruction != "COMMENT":
            found[-1].instructions.append((instruction, value))
    return found


def final(path: Path) -> Stage:
    return stages(path)[-1]


def resolved_user(path: Path, stage: Stage) -> str | None:
    """The USER in effect in a stage, following `FROM <earlier stage>`."""
    by_name = {s.name: s for s in stages(path)}
    chain: list[Stage] = []
    current: Stage | None = stage
    while current is not None:
        chain.append(current)
        current = by_name.get(current.base)
    for link in chain:
        users = link.values("USER")
        if users:
            return users[-1]
    return None


def exposed(stage: Stage) -> set[int]:
    return {int(port.split("/")[0]) for value in stage.values("EXPOSE") for port in value.split()}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_bases_are_pinned(path: Path) -> None:
    names = {s.name for s in stages(path)}
    for stage in stages(path):
        if stage.base in names:
            continue  # an earlier stage
        assert ":" in stage.base and not stage.base.endswith(":latest"), (
            f"{path.name}: unpinned base {stage.base}"
        )
        assert "$" not in stage.base, f"{path.name}: base {stage.base} depends on an ARG without default"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_final_stage_runs_as_a_non_root_user(path: Path) -> None:
    user = resolved_user(path, final(path))
    assert user is not None and user not in ("root", "0"), f"{path.name}: final stage runs as {user}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_copy_source_exists(path: Path) -> None:
    for stage in stages(path):
        for value in stage.values("COPY") + stage.values("ADD"):
            parts = value.split()
            if any(part.startswith("--from=") for part in parts):
                continue  # from another stage
            sources = [part for part in parts[:-1] if not part.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), (
                    f"{path.name}: COPY {source} does not exist (context: repo root)"
                )


def test_app_final_stage_has_no_build_tools_and_copies_the_venv() -> None:
    stage = final(APP)
    assert stage.name == "production" and stage.base == "base"
    runs = " ".join(stage.values("RUN"))
    assert not re.search(r"apt-get|apk add|gcc|build-essential|pip install", runs), runs
    assert "--from=build /opt/venv /opt/venv" in stage.values("COPY")
    labels = " ".join(stage.values("LABEL"))
    for key in ("title", "source", "version", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_dev_stage_is_an_editable_install_with_auto_reload() -> None:
    (dev,) = [s for s in stages(APP) if s.name == "dev"]
    assert any("pip install -c constraints.txt -e ." in run for run in dev.values("RUN"))
    assert dev.values("ENTRYPOINT") == ['["tasktracker-dev"]']
    entrypoint = (ROOT / "services" / "dev-entrypoint.sh").read_text()
    assert "watchfiles" in entrypoint and "/app/services/tasktracker" in entrypoint


@pytest.mark.parametrize("role", ["api", "worker", "bot"])
def test_app_healthcheck_asks_each_role_on_a_port_it_listens_on(role: str) -> None:
    stage = final(APP)
    (check,) = stage.values("HEALTHCHECK")
    assert '"-m", "tasktracker.probes"' in check  # finds the role of PID 1, then its port
    defaults = Settings.model_fields
    url = health_url(role, defaults["port"].default, defaults["health_port"].default)
    assert url is not None
    port = int(url.split(":")[2].split("/")[0])
    assert port in exposed(stage), f"{role}: the healthcheck asks :{port}, which the image does not expose"


def test_dashboard_healthcheck_targets_nginx_listen_port() -> None:
    stage = final(DASHBOARD)
    (check,) = stage.values("HEALTHCHECK")
    port = int(re.search(r"127\.0\.0\.1:(\d+)(/\S*)", check).group(1))
    path = re.search(r"127\.0\.0\.1:\d+(/\S*)", check).group(1)
    conf = (ROOT / "services" / "nginx" / "nginx.conf").read_text()
    assert f"listen {port};" in conf and f"location = {path} " in conf
    assert port in exposed(stage)
    assert resolved_user(DASHBOARD, stage) == "101"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "watchfiles --filter python --target-type command tasktracker api /app/services/tasktracker"),
        (
            ["worker"],
            "watchfiles --filter python --target-type command tasktracker worker /app/services/tasktracker",
        ),
        (
            ["bot"],
            "watchfiles --filter python --target-type command tasktracker bot /app/services/tasktracker",
        ),
        (["migrate"], "tasktracker migrate"),  # one-shot: a Job must be able to finish
        (["migrate", "--wait", "--timeout", "5"], "tasktracker migrate --wait --timeout 5"),
        (["bot", "set-webhook"], "tasktracker bot set-webhook"),
    ],
)
def test_dev_entrypoint_reloads_long_running_roles_only(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    for tool in ("watchfiles", "tasktracker"):  # stand-ins that print how they were called
        stub = tmp_path / tool
        stub.write_text(f'#!/bin/sh\necho {tool} "$@"\n')
        stub.chmod(0o755)
    result = subprocess.run(
        ["sh", str(ROOT / "services" / "dev-entrypoint.sh"), *args],
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected
