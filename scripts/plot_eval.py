"""The built-in model and the LLM side by side on dev and check, from `tasktracker eval --out` reports.

    .venv/bin/python scripts/plot_eval.py docs/eval docs/img/builtin-vs-llm.png

Reads `builtin-dev.json`, `builtin-check.json` and, where `make eval-llm` wrote them, `llm-dev.json`
and `llm-check.json`; draws one group of bars per metric, with the issue's targets as ticks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

METRICS = [  # (label, report key, target on the check set)
    ("category macro-F1", "macro_f1", 0.85),
    ("priority accuracy", "priority_accuracy", 0.72),
    ("priority within one", "priority_within_one", 0.95),
    ("urgent recall", "urgent_recall", 0.75),
    ("actionable accuracy", "actionable_accuracy", 0.92),
]


def main(folder: Path, out: Path) -> None:
    series = []
    for model in ("builtin", "llm"):
        for split in ("dev", "check"):
            path = folder / f"{model}-{split}.json"
            if path.exists():
                report = json.loads(path.read_text())
                name = "built-in" if model == "builtin" else report["model"]
                series.append((f"{name} · {split} (n={report['examples'] - report['errors']})", report))
    figure = Figure(figsize=(9, 4.2), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for index, (label, report) in enumerate(series):
        values = [report.get(key) or 0.0 for _, key, _ in METRICS]
        positions = [m + (index - (len(series) - 1) / 2) * width for m in range(len(METRICS))]
        bars = axes.bar(positions, values, width, label=label)
        axes.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=6, padding=1)
    for m, (_, _, target) in enumerate(METRICS):
        axes.hlines(target, m - 0.45, m + 0.45, colors="black", linestyles="dashed", linewidth=0.8)
    axes.set_xticks(range(len(METRICS)), [label for label, _, _ in METRICS])
    axes.set_ylim(0, 1.08)
    axes.set_title("Built-in model and LLM on dev and check (dashed: target on check)")
    axes.legend(fontsize=7, loc="lower left")
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
