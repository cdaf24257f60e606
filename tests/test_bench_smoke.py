"""The bench harness does not rot: two suites that use all of its parts (processes on PostgreSQL and
NATS, the load generator, WebSocket clients, results and plots) run end to end with a few hundred
requests. No thresholds: on a shared machine only `make bench` on a quiet one says what the numbers are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_bench_quick_run_writes_every_figure_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    plots = tmp_path / "plots"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "ingest",
            "worker",
            "e2e",
            "fanout",
            "--quick",
            "--out",
            str(out),
            "--plots",
            str(plots),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=580,
        check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # where the run's data dir goes
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert not list(tmp_path.glob("tt-bench-*"))  # a run that succeeded removes its data dir
    suites = json.loads(out.read_text())["suites"]
    assert {"ingest", "e2e"} <= set(suites)
    for name in ("ingest", "e2e"):
        suite = suites[name]
        assert suite["figures"], name
        for figure in suite["figures"]:
            assert figure["value"] == figure["value"] and figure["value"] >= 0, (name, figure)  # not NaN
            assert set(figure) >= {"name", "value", "unit", "baseline", "ratio", "target", "met"}
    ingest = suites["ingest"]["series"]
    assert all(level["statuses"] == {"202": level["requests"]} for level in ingest["api"].values())
    assert suites["e2e"]["series"]["tasks_created"] > 0
    assert {"ingest.png", "e2e.png"} <= {p.name for p in plots.glob("*.png")}
    assert "ingest c=16" in result.stdout
