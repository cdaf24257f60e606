"""Model selection for the built-in classifier by cross-validation on train + dev (never on check).

    .venv/bin/python scripts/cv_builtin.py [--folds 5] [--repeats 1] [--no-priority-only]

Stratified k-fold over the union of `train.jsonl` and `dev.jsonl` (stratified by category), training
`BuiltinModel.fit` on k-1 folds (plus the priority-only rows) and scoring the held-out fold with the
same metrics `tasktracker eval` reports. It also reports the fixed split (fit on train, score dev). The
check set is not read here: it is evaluated once per settled candidate with `tasktracker eval`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from tasktracker.ai import builtin
from tasktracker.classification.schemas import Category, Priority

ORDER = [Priority.low, Priority.medium, Priority.high, Priority.urgent]


def score(model: builtin.BuiltinModel, rows: list[builtin.LabelledExample]) -> dict[str, float]:
    predictions = model.predict([r.text for r in rows])
    cats_true = [r.category.value for r in rows]
    cats_pred = [p.category.value for p in predictions]
    steps_true = np.array([ORDER.index(r.priority) for r in rows])
    steps_pred = np.array([ORDER.index(p.priority) for p in predictions])
    urgent = steps_true == 3
    questions = [i for i, r in enumerate(rows) if r.category is Category.question]
    return {
        "macro_f1": float(f1_score(cats_true, cats_pred, average="macro")),
        "priority": float((steps_true == steps_pred).mean()),
        "within_one": float((abs(steps_true - steps_pred) <= 1).mean()),
        "urgent_recall": float((steps_pred[urgent] == 3).mean()) if urgent.any() else float("nan"),
        "urgent_precision": float((steps_true[steps_pred == 3] == 3).mean())
        if (steps_pred == 3).any()
        else 0.0,
        "actionable": float(
            np.mean([r.actionable == p.actionable for r, p in zip(rows, predictions, strict=True)])
        ),
        "actionable_questions": float(
            np.mean([rows[i].actionable == predictions[i].actionable for i in questions])
        )
        if questions
        else float("nan"),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-priority-only", action="store_true")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    train = builtin.read_examples(builtin.bundled_data("train.jsonl"))
    dev = builtin.read_examples(builtin.bundled_data("dev.jsonl"))
    priority_only = (
        [] if args.no_priority_only else builtin.read_examples(builtin.bundled_data("train_priority.jsonl"))
    )
    started = time.perf_counter()
    results: dict[str, dict[str, float]] = {}
    results["dev"] = score(builtin.BuiltinModel.fit(train, priority_only), dev)
    rows = [*train, *dev]
    folds: list[dict[str, float]] = []
    for repeat in range(args.repeats):
        splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=repeat)
        labels = [r.category.value for r in rows]
        for fit_index, test_index in splitter.split(rows, labels):
            model = builtin.BuiltinModel.fit([rows[i] for i in fit_index], priority_only)
            folds.append(score(model, [rows[i] for i in test_index]))
    results["cv"] = {key: float(np.nanmean([f[key] for f in folds])) for key in folds[0]}
    print(json.dumps({"label": args.label, "seconds": round(time.perf_counter() - started, 1), **results}))
    for name, metrics in results.items():
        print(f"{name:4}", "  ".join(f"{k} {v:.3f}" for k, v in metrics.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
