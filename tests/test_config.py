"""Configuration: URL normalisation, and a bad value stops the CLI with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tasktracker.config import ConfigError, load_settings, normalise_database_url, normalise_ollama_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url_is_normalised(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_ollama_url_gets_v1_once() -> None:
    assert normalise_ollama_url("http://o:11434") == "http://o:11434/v1"
    assert normalise_ollama_url("http://o:11434/v1/") == "http://o:11434/v1"


def test_defaults_are_the_embedded_mode(tmp_path, monkeypatch) -> None:
    for name in ("DATABASE_URL", "NATS_URL", "TASKTRACKER_DATABASE_URL", "TASKTRACKER_NATS_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'tasktracker.db'}"
    assert settings.embedded_broker and settings.port == 8000 and settings.host == "127.0.0.1"


def test_bare_and_prefixed_names(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://a@b/c")
    monkeypatch.setenv("TASKTRACKER_NATS_URL", "nats://n:4222")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://a@b/c" and settings.nats_url == "nats://n:4222"


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ConfigError, match="TASKTRACKER_SECRET_KEY"):
        load_settings(environment="production", database_url="postgresql://x@y/z")


def test_serving_in_production_needs_trusted_hosts() -> None:
    from tasktracker.api.app import create_app

    base = {"environment": "production", "database_url": "postgresql://x@y/z", "secret_key": "s" * 32}
    load_settings(**base)  # a worker, the bot or a migration serve no HTTP
    with pytest.raises(ConfigError, match="TASKTRACKER_TRUSTED_HOSTS"):
        create_app(load_settings(**base))
    settings = load_settings(**base, trusted_hosts="Tracker.example.com, *.example.org")
    create_app(settings)
    assert settings.trusted_host_list == [
        "localhost",
        "127.0.0.1",
        "::1",
        "tracker.example.com",
        "*.example.org",
    ]


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"trusted_hosts": "tracker example"}, "TASKTRACKER_TRUSTED_HOSTS"),
        ({"ws_origins": "board.example.com"}, "TASKTRACKER_WS_ORIGINS"),
        ({"ws_origins": "https://board.example.com/path"}, "TASKTRACKER_WS_ORIGINS"),
        ({"forwarded_allow_ips": "10.0.0.0/33"}, "FORWARDED_ALLOW_IPS"),
        ({"forwarded_allow_ips": "proxy.local"}, "FORWARDED_ALLOW_IPS"),
    ],
)
def test_bad_host_origin_and_proxy_settings_name_the_variable(values: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(**values)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"DATABASE_URL": "not-a-url"}, "DATABASE_URL"),
        ({"PORT": "eighty"}, "PORT"),
        ({"NATS_URL": "http://nats"}, "NATS_URL"),
        ({"TASKTRACKER_CLASSIFIER": "gpt"}, "TASKTRACKER_CLASSIFIER"),
    ],
)
def test_cli_reports_bad_setting_in_one_line(env: dict[str, str], needle: str, tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tasktracker.cli", "migrate"],
        env={"PATH": "/usr/bin:/bin", "TASKTRACKER_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error:") and needle in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_refuses_split_roles_without_nats(tmp_path) -> None:
    for role in ("api", "worker"):
        result = subprocess.run(
            [sys.executable, "-m", "tasktracker.cli", role],
            env={"PATH": "/usr/bin:/bin", "TASKTRACKER_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and "needs NATS_URL" in result.stderr
