"""Python snippets run in a fresh interpreter, for what one process's imports must not see (a test
process has imported everything already)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_snippet(code: str, *args: str, timeout: float = 120) -> Any:
    """Run `code` with `args` in a new interpreter from the project root; the JSON of its last line."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
