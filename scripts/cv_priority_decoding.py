"""Ordinal decoding of the priority head, by cross-validation on train + dev (never on check).

    .venv/bin/python scripts/cv_priority_decoding.py [--folds 5] [--repeats 2]

The built-in model picks the most probable priority (argmax). The four levels are ordered, so the
expected level under the head's probabilities (rounded) should miss by more than one step less often.
Compared on the same folds as `scripts/cv_builtin.py` (stratified by category, the priority-only rows
added to every fit), with the model's own rules (noise is low; a question is never urgent):

* `argmax`: the model as it is;
* `expected`: the level nearest the expected level;
* `mixed-X`: argmax, unless it is more than X steps from the expected level.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from sklearn.model_selection import StratifiedKFold

from tasktracker.ai import builtin
from tasktracker.classification.schemas import Category, Priority

ORDER = [Priority.low, Priority.medium, Priority.high, Priority.urgent]
STEPS = np.arange(len(ORDER))


def decode(model: builtin.BuiltinModel, texts: list[str], mode: str) -> np.ndarray:
    scores = np.vstack([model._scores(text) for text in texts])
    category_head, priority_head = model.heads["category"], model.heads["priority"]
    categories = category_head.classes[category_head.probabilities(scores).argmax(axis=1)]
    columns = [list(priority_head.classes).index(level.value) for level in ORDER]
    probabilities = priority_head.probabilities(scores)[:, columns]
    levels = []
    for row, name in enumerate(categories):
        category = Category(name)
        p = probabilities[row].copy()
        if category is Category.noise:
            levels.append(0)
            continue
        if category is Category.question:
            p[3] = 0.0
        p /= p.sum()
        expected = float(p @ STEPS)
        best = int(p.argmax())
        if mode == "argmax":
            levels.append(best)
        elif mode == "expected" or abs(best - expected) > float(mode.removeprefix("mixed-")):
            levels.append(int(np.clip(np.rint(expected), 0, 3)))
        else:
            levels.append(best)
    return np.array(levels)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    train = builtin.read_examples(builtin.bundled_data("train.jsonl"))
    dev = builtin.read_examples(builtin.bundled_data("dev.jsonl"))
    priority_only = builtin.read_examples(builtin.bundled_data("train_priority.jsonl"))
    rows = [*train, *dev]
    modes = ["argmax", "expected", "mixed-0.75", "mixed-1.0"]
    results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in modes}
    for repeat in range(args.repeats):
        splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=repeat)
        for fit_index, test_index in splitter.split(rows, [r.category.value for r in rows]):
            model = builtin.BuiltinModel.fit([rows[i] for i in fit_index], priority_only)
            held_out = [rows[i] for i in test_index]
            truth = np.array([ORDER.index(r.priority) for r in held_out])
            for mode in modes:
                levels = decode(model, [r.text for r in held_out], mode)
                results[mode].append(
                    (
                        float((levels == truth).mean()),
                        float((abs(levels - truth) <= 1).mean()),
                        float((levels[truth == 3] == 3).mean()),
                    )
                )
    for mode in modes:
        accuracy, within_one, urgent = np.mean(results[mode], axis=0)
        print(
            f"{mode:>11}: accuracy {accuracy:.3f}, within one step {within_one:.3f}, urgent recall {urgent:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
