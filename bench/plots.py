"""Draw `docs/benchmarks/*.png` from a results file:
`python -m bench.plots bench/results/<date>.json [OUT_DIR [BEFORE.json]]`.

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


def figures_of(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for suite in results.get("suites", {}).values() for f in suite.get("figures", [])}


def draw_comparison(before: dict[str, Any], after: dict[str, Any], out_dir: Path) -> Path | None:
    """Before/after bars for the figures both runs have (`python -m bench --before OLD.json`, where
    OLD.json is a run with `--source` pointing at the code before the changes)."""
    import matplotlib.pyplot as plt

    old, new = figures_of(before), figures_of(after)
    names = [n for n in new if n in old and old[n]["value"] and new[n]["unit"] in ("msg/s", "ms", "MB")]
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(2.3 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = [old[name]["value"], new[name]["value"]]
        bars = ax.bar(["before", "after"], values, color=["#999999", "#2a7ab9"])
        for bar, value in zip(bars, values, strict=True):
            ax.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height(),
                f"{value:,.1f}",
                ha="center",
                va="bottom",
                fontsize=8,
            )
        change = values[1] / values[0]
        ax.set_title(f"{name}\n×{change:.2f}", fontsize=8)
        ax.set_ylabel(new[name]["unit"], fontsize=8)
        ax.tick_params(labelsize=8)
    fig.suptitle("Issue 13: before (grey: the --before results file) and after (blue: this run)")
    fig.tight_layout()
    path = out_dir / "changes.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else max(Path("bench/results").glob("*.json"))
    out_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("docs/benchmarks")
    results = json.loads(source.read_text())
    for path in draw(results, out_dir):
        print(path)
    if len(sys.argv) > 3:
        print(draw_comparison(json.loads(Path(sys.argv[3]).read_text()), results, out_dir))


if __name__ == "__main__":
    main()
