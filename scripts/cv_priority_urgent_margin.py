"""An urgent margin for the priority head, by cross-validation on train + dev + the second writer's rows
(never on check).

    .venv/bin/python scripts/cv_priority_urgent_margin.py [--folds 5] [--repeats 2]

Most priority misses of more than one step on unseen writing are over-rated urgents (a medium or low
message called urgent). `urgent-X` keeps argmax, except that `urgent` must have probability at least X;
below that the message gets `high` (`urgent-X-high`, one step down) or the next most probable level
(`urgent-X-next`). Urgent recall is the cost to watch (an urgent message missed is the costliest
mistake). Same folds and rules as `scripts/cv_priority_decoding.py` (stratified by category, the
priority-only rows added to every fit; noise is low, a question is never urgent); the category head is
not touched, so category macro-F1 cannot change.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from sklearn.model_selection import StratifiedKFold

from tasktracker.ai import builtin
from tasktracker.classification.schemas import Category, Priority

ORDER = [Priority.low, Priority.medium, Priority.high, Priority.urgent]
MARGINS = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def probabilities(model: builtin.BuiltinModel, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    scores = np.vstack([model._scores(text) for text in texts])
    category_head, priority_head = model.heads["category"], model.heads["priority"]
    categories = category_head.classes[category_head.probabilities(scores).argmax(axis=1)]
    columns = [list(priority_head.classes).index(level.value) for level in ORDER]
    return categories, priority_head.probabilities(scores)[:, columns]


def decode(categories: np.ndarray, probs: np.ndarray, mode: str) -> np.ndarray:
    levels = []
    for name, row in zip(categories, probs, strict=True):
        p = row.copy()
        if Category(name) is Category.noise:
            levels.append(0)
            continue
        if Category(name) is Category.question:
            p[3] = 0.0
        p /= p.sum()
        best = int(p.argmax())
        if mode != "argmax" and best == 3:
            _, margin, fallback = mode.split("-")
            if p[3] < float(margin):
                best = 2 if fallback == "high" else int(p[:3].argmax())
        levels.append(best)
    return np.array(levels)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--second-held-out",
        action="store_true",
        help="instead: fit on train + dev, measure on the second writer's rows (unseen writing)",
    )
    args = parser.parse_args()
    rows = [
        *builtin.read_examples(builtin.bundled_data("train.jsonl")),
        *builtin.read_examples(builtin.bundled_data("dev.jsonl")),
        *builtin.read_examples(builtin.bundled_data("train_second.jsonl")),
    ]
    priority_only = builtin.read_examples(builtin.bundled_data("train_priority.jsonl"))
    modes = ["argmax", *(f"urgent-{m}-{f}" for m in MARGINS for f in ("high", "next"))]
    results: dict[str, list[tuple[float, float, float, float]]] = {mode: [] for mode in modes}
    splits = []
    if args.second_held_out:
        first = len(rows) - len(builtin.read_examples(builtin.bundled_data("train_second.jsonl")))
        splits.append((np.arange(first), np.arange(first, len(rows))))
    for repeat in range(0 if args.second_held_out else args.repeats):
        splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=repeat)
        splits.extend(splitter.split(rows, [r.category.value for r in rows]))
    for fit_index, test_index in splits:
        model = builtin.BuiltinModel.fit([rows[i] for i in fit_index], priority_only)
        held_out = [rows[i] for i in test_index]
        truth = np.array([ORDER.index(r.priority) for r in held_out])
        categories, probs = probabilities(model, [r.text for r in held_out])
        for mode in modes:
            levels = decode(categories, probs, mode)
            predicted_urgent = levels == 3
            results[mode].append(
                (
                    float((levels == truth).mean()),
                    float((abs(levels - truth) <= 1).mean()),
                    float((levels[truth == 3] == 3).mean()),
                    float((truth[predicted_urgent] == 3).mean()) if predicted_urgent.any() else 0.0,
                )
            )
        print(f"fold done ({len(results['argmax'])})", file=sys.stderr)
    for mode in modes:
        accuracy, within_one, urgent, precision = np.mean(results[mode], axis=0)
        print(
            f"{mode:>16}: accuracy {accuracy:.3f}, within one step {within_one:.3f}, "
            f"urgent recall {urgent:.3f}, urgent precision {precision:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
