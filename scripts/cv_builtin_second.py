"""Does the second writer's 292 labelled messages help the built-in model? Paired CV (never on check).

    .venv/bin/python scripts/cv_builtin_second.py [--folds 5] [--repeats 2]

Stratified k-fold (by category and source) over train + dev + `train_second.jsonl`. On the same folds two
models are fitted: `without` on the fitting folds' train/dev rows only, `with` on all of the fitting
folds' rows (the second writer's included); both score the same held-out fold (the priority-only rows are
added to both). Reported: the mean over folds of every `tasktracker eval` metric, on all held-out rows,
on the held-out second-writer rows and on the held-out train/dev rows, and the paired per-fold
difference in category macro-F1 (folds won / lost, mean and its standard error).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv_builtin import score

from tasktracker.ai import builtin


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    first = [
        *builtin.read_examples(builtin.bundled_data("train.jsonl")),
        *builtin.read_examples(builtin.bundled_data("dev.jsonl")),
    ]
    second = builtin.read_examples(builtin.bundled_data("train_second.jsonl"))
    priority_only = builtin.read_examples(builtin.bundled_data("train_priority.jsonl"))
    rows = [*first, *second]
    is_second = np.array([False] * len(first) + [True] * len(second))
    strata = [f"{r.category.value}{s}" for r, s in zip(rows, is_second, strict=True)]
    results: dict[str, dict[str, list[float]]] = {}
    for repeat in range(args.repeats):
        splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=repeat)
        for fit, held in splitter.split(rows, strata):
            models = {
                "without": builtin.BuiltinModel.fit(
                    [rows[i] for i in fit if not is_second[i]], priority_only
                ),
                "with": builtin.BuiltinModel.fit([rows[i] for i in fit], priority_only),
            }
            for name, model in models.items():
                for part, index in (
                    ("all", held),
                    ("second", held[is_second[held]]),
                    ("first", held[~is_second[held]]),
                ):
                    for key, value in score(model, [rows[i] for i in index]).items():
                        results.setdefault(f"{name}/{part}", {}).setdefault(key, []).append(value)
    for name, metrics in results.items():
        print(f"{name:16}", "  ".join(f"{k} {np.nanmean(v):.3f}" for k, v in metrics.items()))
    for part in ("all", "second", "first"):
        diff = np.array(results[f"with/{part}"]["macro_f1"]) - np.array(
            results[f"without/{part}"]["macro_f1"]
        )
        print(
            f"macro-F1 with - without [{part}]: mean {diff.mean():+.4f} ± {diff.std(ddof=1) / math.sqrt(len(diff)):.4f}"
            f" (won {int((diff > 0).sum())}, lost {int((diff < 0).sum())} of {len(diff)})"
        )
    print(
        json.dumps({k: {m: round(float(np.nanmean(v)), 4) for m, v in d.items()} for k, d in results.items()})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
