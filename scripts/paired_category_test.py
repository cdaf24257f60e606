"""Did category accuracy change? An exact McNemar test between two built-in models on the same rows.

    .venv/bin/python scripts/paired_category_test.py --before-rows 1120 [dev check]
    .venv/bin/python scripts/paired_category_test.py --second [dev check]

*Before* is the model trained on the first N rows of `train.jsonl` (the file as it was before rows were
appended), *after* the model trained on the whole file. With `--second`, *before* is the model trained on
`train.jsonl` and *after* the one trained on it and `train_second.jsonl` (the bundled model since session 4). The category head depends on its training rows
only, so this reproduces the earlier model's category predictions exactly. Prints, per set, how many
rows only one of the two gets right and the two-sided exact p-value.
"""

from __future__ import annotations

import argparse

from scipy.stats import binomtest

from tasktracker.ai import builtin


def main() -> int:
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--before-rows", type=int)
    group.add_argument("--second", action="store_true")
    parser.add_argument("sets", nargs="*", default=["dev"])
    args = parser.parse_args()
    train = builtin.read_examples(builtin.bundled_data("train.jsonl"))
    priority_only = builtin.read_examples(builtin.bundled_data("train_priority.jsonl"))
    if args.second:
        before = builtin.BuiltinModel.fit(train, priority_only)
        second = builtin.read_examples(builtin.bundled_data("train_second.jsonl"))
        after = builtin.BuiltinModel.fit([*train, *second], priority_only)
    else:
        before = builtin.BuiltinModel.fit(train[: args.before_rows], priority_only)
        after = builtin.BuiltinModel.fit(train, priority_only)
    for name in args.sets:
        rows = builtin.read_examples(builtin.bundled_data(f"{name}.jsonl"))
        texts = [row.text for row in rows]
        pairs = zip(rows, before.predict(texts), after.predict(texts), strict=True)
        right = [(b.category == row.category, a.category == row.category) for row, b, a in pairs]
        only_after = sum(a and not b for b, a in right)
        only_before = sum(b and not a for b, a in right)
        changed = only_after + only_before
        p = binomtest(only_after, changed, 0.5).pvalue if changed else 1.0
        print(
            f"{name}: right only after {only_after}, right only before {only_before}, exact McNemar p = {p:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
