"""Operator tests. The operator reads its timing from the environment when `main` is imported, so the
fast re-check interval and pull backoff of the emulator tests are set here, before any test imports it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

os.environ.setdefault("OPERATOR_RECHECK_INTERVAL_S", "0.3")
os.environ.setdefault("OPERATOR_PULL_BACKOFF_S", "1")
os.environ.setdefault("OPERATOR_PULL_BACKOFF_MAX_S", "2")

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "manifests" / "samples"


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture
def minimal_sample() -> dict[str, Any]:
    return load_yaml(SAMPLES / "tasktracker.yaml")[0]


@pytest.fixture
def full_sample() -> dict[str, Any]:
    return load_yaml(SAMPLES / "tasktracker-full.yaml")[0]
