"""Draw `docs/benchmarks/*.png` from a results file: `python -m bench.plots bench/results/<date>.json`.

Each suite module may define `plot(result, out_dir) -> list[Path]`; this module calls them (Agg backend,
no display needed) and adds the figures-against-targets chart for the whole run.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")


def draw(results: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name, result in results.get("suites", {}).items():
        try:
            module = importlib.import_module(f"bench.{name}")
        except ImportError:
            continue
        plot = getattr(module, "plot", None)
        if plot is not None:
            try:
                paths += plot(result, out_dir)
            except (KeyError, ValueError, TypeError) as exc:  # a partial (quick) result: no plot
                print(f"no plot for {name}: {exc!r}", file=sys.stderr)
    return paths


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else max(Path("bench/results").glob("*.json"))
    out_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("docs/benchmarks")
    for path in draw(json.loads(source.read_text()), out_dir):
        print(path)


if __name__ == "__main__":
    main()
