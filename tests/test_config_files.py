"""Secrets from files (`<NAME>_FILE`, as a mounted Kubernetes Secret gives them) and the database
password given apart from the URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tasktracker.config import FILE_SETTINGS, ConfigError, env_names, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    for field in FILE_SETTINGS:
        for name in env_names(field):
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(f"{name}_FILE", raising=False)


def _write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


@pytest.mark.parametrize("field", FILE_SETTINGS)
def test_every_file_setting_reads_its_file_under_each_name(field, tmp_path, monkeypatch) -> None:
    values = {
        "database_url": "postgresql://tt@db:5432/tt",
        "nats_url": "nats://user:pw@nats:4222",
    }
    value = values.get(field, "s3cr3t-from-a-file")
    for name in env_names(field):
        monkeypatch.setenv(f"{name}_FILE", _write(tmp_path, name, value + "\n"))  # Secrets often end in \n
        overrides = {"database_url": "postgresql://tt@db/tt"} if field == "database_password" else {}
        settings = load_settings(**overrides)
        got = getattr(settings, field)
        got = got.get_secret_value() if hasattr(got, "get_secret_value") else got
        if field == "database_url":
            assert got == "postgresql+asyncpg://tt@db:5432/tt"
        else:
            assert got == value
        monkeypatch.delenv(f"{name}_FILE")


def test_a_value_and_its_file_together_are_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:inline")
    monkeypatch.setenv("TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE", _write(tmp_path, "token", "1:file"))
    with pytest.raises(ConfigError, match="TASKTRACKER_TELEGRAM_BOT_TOKEN_FILE and TELEGRAM_BOT_TOKEN"):
        load_settings()


def test_a_missing_file_is_named(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TASKTRACKER_SECRET_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=r"TASKTRACKER_SECRET_KEY_FILE: cannot read .*absent"):
        load_settings()


def test_file_secret_satisfies_the_production_guard(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TASKTRACKER_SECRET_KEY_FILE", _write(tmp_path, "key", "k" * 40))
    settings = load_settings(environment="production", database_url="postgresql://x@y/z")
    assert settings.secret_key.get_secret_value() == "k" * 40


@pytest.mark.parametrize(
    ("url", "password", "expected"),
    [
        ("postgresql://tt@db:5432/tt", "pw", "postgresql+asyncpg://tt:pw@db:5432/tt"),
        # characters that mean something in a URL are escaped, not misparsed
        (
            "postgres://tt@db/tt?ssl=require",
            "p@ss/w:rd%",
            "postgresql+asyncpg://tt:p%40ss%2Fw%3Ard%25@db/tt?ssl=require",
        ),
        # the same password in the URL and apart from it is not a conflict (a URL handed on)
        ("postgresql://tt:pw@db/tt", "pw", "postgresql+asyncpg://tt:pw@db/tt"),
    ],
)
def test_database_password_goes_into_the_url(url, password, expected) -> None:
    settings = load_settings(database_url=url, database_password=password)
    assert settings.database_url == expected
    assert (
        load_settings(database_url=settings.database_url, database_password=password).database_url == expected
    )


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("", "needs a PostgreSQL DATABASE_URL"),
        ("sqlite:///x.db", "needs a PostgreSQL DATABASE_URL"),
        ("postgresql://db/tt", "must name the user"),
        ("postgresql://tt:other@db/tt", "holds a password and TASKTRACKER_DATABASE_PASSWORD another"),
    ],
)
def test_database_password_refuses_what_it_cannot_apply(url, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(database_url=url, database_password="pw")


def test_cli_reports_a_file_problem_in_one_line(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tasktracker.cli", "migrate"],
        env={
            "PATH": "/usr/bin:/bin",
            "TASKTRACKER_DATA_DIR": str(tmp_path),
            "DATABASE_URL_FILE": str(tmp_path / "nope"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: DATABASE_URL_FILE: cannot read")
