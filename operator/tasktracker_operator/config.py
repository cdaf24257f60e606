"""The operator's own settings, from OPERATOR_* environment variables (not the app's Settings: no TASKTRACKER_ prefix)."""

from __future__ import annotations

import os
from dataclasses import dataclass


class ConfigError(ValueError):
    pass


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be greater than 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class OperatorConfig:
    # How often every TaskTracker is re-checked (drift, readiness, status) besides on changes.
    recheck_interval_s: float = 20.0
    # First retry of a failed model pull; doubled per failure up to pull_backoff_max_s.
    pull_backoff_s: float = 30.0
    pull_backoff_max_s: float = 600.0

    @classmethod
    def from_env(cls) -> OperatorConfig:
        return cls(
            recheck_interval_s=_seconds("OPERATOR_RECHECK_INTERVAL_S", cls.recheck_interval_s),
            pull_backoff_s=_seconds("OPERATOR_PULL_BACKOFF_S", cls.pull_backoff_s),
            pull_backoff_max_s=_seconds("OPERATOR_PULL_BACKOFF_MAX_S", cls.pull_backoff_max_s),
        )

    def pull_backoff(self, attempts: int) -> float:
        return float(min(self.pull_backoff_s * 2 ** max(attempts - 1, 0), self.pull_backoff_max_s))
