"""One reference of the environment: docs/configuration.md is generated from `Settings`, and the
docs, the chart and the operator's builders name only variables `Settings` knows."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasktracker.config_docs import DESCRIPTIONS, SECTIONS, known_env_names, reference, render_markdown
from tests.deploy.render import CHARTS, ROOT

CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
NGINX_TEMPLATE = ROOT / "services" / "nginx" / "nginx.conf"
OPERATOR = ROOT / "operator"
# Variables of the third-party images the chart and the operator run (postgres, nats, ollama) and of
# the Kubernetes downward API: theirs, not the app's, so `Settings` does not know them.
THIRD_PARTY_ENV = {
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_PASSWORD_FILE",
    "PGDATA",
    "OLLAMA_HOST",
    "OLLAMA_MODELS",
    "HOME",
    "POD_NAME",
}
PREFIXED = re.compile(r"\bTASKTRACKER_[A-Z0-9_]*[A-Z0-9]\b")
ENV_LIKE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def nginx_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", NGINX_TEMPLATE.read_text()))


def test_configuration_doc_is_generated_from_settings() -> None:
    assert CONFIGURATION_DOC.read_text() == render_markdown(), (
        "docs/configuration.md is stale: run `make docs` (tasktracker config --docs)"
    )


def test_every_setting_is_in_the_reference_with_its_names() -> None:
    documented = CONFIGURATION_DOC.read_text()
    for doc in reference():
        for name in (*doc.names, *doc.file_names):
            assert f"`{name}`" in documented or doc.file_names, name
    assert {name for names in SECTIONS.values() for name in names} <= {doc.field for doc in reference()}, (
        "config_docs.SECTIONS names a setting that Settings no longer has"
    )
    assert set(DESCRIPTIONS) <= {doc.field for doc in reference()}


def test_secret_settings_have_file_forms() -> None:
    files = {doc.field: doc.file_names for doc in reference()}
    assert files["database_password"] == ["TASKTRACKER_DATABASE_PASSWORD_FILE"]
    assert files["telegram_bot_token"] == ["TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE", "TELEGRAM_BOT_TOKEN_FILE"]
    assert files["port"] == []


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted(p for p in CHARTS.rglob("*") if p.suffix in (".yaml", ".tpl", ".txt", ".json")),
        ROOT / "Tiltfile",
        *sorted((ROOT / "tilt").glob("*")),
        ROOT / "skaffold.yaml",
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_docs_and_deploy_files_name_only_known_variables(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path.relative_to(ROOT)} does not exist")
    unknown = set(PREFIXED.findall(path.read_text())) - known_env_names()
    assert not unknown, f"{path.relative_to(ROOT)} names variables Settings does not know: {sorted(unknown)}"


def _string_constants(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_LIKE.fullmatch(node.value)
    }


def operator_sources() -> list[Path]:
    return sorted(OPERATOR.rglob("builders/**/*.py")) if OPERATOR.is_dir() else []


def test_operator_builders_name_only_known_variables() -> None:
    sources = operator_sources()
    if not sources:
        pytest.skip("no operator/ in this checkout")
    allowed = known_env_names() | nginx_variables() | THIRD_PARTY_ENV
    named = {name: path for path in sources for name in _string_constants(path)}
    unknown = {name: str(path.relative_to(ROOT)) for name, path in named.items() if name not in allowed}
    assert not unknown, f"the operator's builders set variables Settings does not know: {unknown}"
    assert "TASKTRACKER_NATS_STREAM" in named  # the scan sees the builders' env names at all


def test_the_scan_catches_an_unknown_name(tmp_path) -> None:
    builder = tmp_path / "app.py"
    builder.write_text('ENV = [{"name": "TASKTRACKER_WORKERS_CONCURRENCY", "value": "3"}]\n')
    assert _string_constants(builder) - known_env_names() == {"TASKTRACKER_WORKERS_CONCURRENCY"}


def test_the_command_prints_the_reference() -> None:
    tasktracker = Path(sys.executable).with_name("tasktracker")
    result = subprocess.run(
        [str(tasktracker), "config", "--docs"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == CONFIGURATION_DOC.read_text()
