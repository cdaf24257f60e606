"""Does a logistic regression over the matcher's own signals link more repeats? Repeated CV on the bundled
pairs and the second writer's pairs together.

    .venv/bin/python scripts/cv_duplicates_logistic.py [--repeats 5] [--target 0.97]
    .venv/bin/python scripts/cv_duplicates_logistic.py --check   # once, for the settled candidate

Signals per pair (all from `classification/duplicates.py`, nothing learned from text): the token overlap
(with typos), the character n-gram cosine, the concept overlap, the slot conflict flag, the across-language
flag (`cv_duplicates_embedding.across_languages`), and today's score (`duplicates.similarity`).

Two rules are compared fold by fold on the same splits:
- `matcher`: today's score at a threshold chosen on the fitting folds;
- `logistic`: a logistic regression over the signals (and their products with the across-language flag),
  its probability at a threshold chosen on the fitting folds.
Each threshold is the lowest at which the rule keeps precision ≥ `--target` on the fitting folds; the
held-out folds give precision and recall, by source (bundled / second), by kind, cross-language apart.
`--check` fits on all bundled + second pairs and prints only aggregates on `duplicates_check.jsonl`.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cv_duplicates_embedding import across_languages

from tasktracker.ai.builtin import bundled_data
from tasktracker.ai.duplicates_eval import LabelledPair, read_pairs
from tasktracker.classification import duplicates


def signals(pair: LabelledPair) -> list[float]:
    a, b = duplicates.Text(pair.a), duplicates.Text(pair.b)
    across = float(across_languages(pair.a, pair.b))
    overlap = duplicates._overlap(a, b, 0.0) if a.tokens and b.tokens else 0.0
    cosine = duplicates._cosine(a, b)
    concept = duplicates._concept_overlap(a, b)
    clash = float(duplicates.conflict(a, b))
    score = duplicates._score(a, b, 0.0)
    base = [overlap, cosine, concept, clash, across, score]
    return [*base, across * overlap, across * cosine, across * concept]


def threshold_for(labels: np.ndarray, scores: np.ndarray, target: float) -> float:
    """The lowest threshold whose precision on these pairs is ≥ target (1.01 if none)."""
    best = 1.01
    for t in sorted(set(scores.tolist()), reverse=True):
        linked = scores >= t
        if linked.sum() and labels[linked].mean() >= target:
            best = t
        elif linked.sum():
            break
    return best


def fit_logistic(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=1000).fit(x, y)


def summarise(name: str, labels, linked, groups) -> None:
    labels, linked = np.asarray(labels), np.asarray(linked)
    tp = int((labels & linked).sum())
    print(
        f"  {name:<30} P={tp / max(1, linked.sum()):.3f} R={tp / max(1, labels.sum()):.3f} "
        f"(links {int(linked.sum())}, dups {int(labels.sum())})"
    )
    by = defaultdict(list)
    for i, g in enumerate(groups):
        by[g].append(i)
    for g in sorted(by):
        idx = by[g]
        lab, lin = labels[idx], linked[idx]
        if lab.any():
            print(
                f"    {g:<28} recall {lab[lin].size and (lab & lin).sum() / lab.sum():.3f} of {int(lab.sum())}"
            )
        else:
            print(f"    {g:<28} false links {int(lin.sum())} of {len(idx)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--target", type=float, default=0.97)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    pairs = read_pairs(bundled_data("duplicates.jsonl")) + read_pairs(bundled_data("duplicates_second.jsonl"))
    source = ["bundled"] * len(read_pairs(bundled_data("duplicates.jsonl")))
    source += ["second"] * (len(pairs) - len(source))
    x = np.array([signals(p) for p in pairs])
    y = np.array([p.duplicate for p in pairs])
    across = x[:, 4].astype(bool)
    groups = [
        f"{s}/{p.kind}" + ("/across" if c and p.duplicate else "")
        for s, p, c in zip(source, pairs, across, strict=True)
    ]
    if args.check:
        model = fit_logistic(x, y)
        t_log = threshold_for(y, model.predict_proba(x)[:, 1], args.target)
        t_m = threshold_for(y, x[:, 5], args.target)
        checks = read_pairs(bundled_data("duplicates_check.jsonl"))
        xc = np.array([signals(p) for p in checks])
        yc = np.array([p.duplicate for p in checks])
        ac = xc[:, 4].astype(bool)
        gc = [p.kind + ("/across" if c and p.duplicate else "") for p, c in zip(checks, ac, strict=True)]
        print(
            f"check ({len(checks)} pairs), thresholds fitted on all bundled+second: matcher {t_m:.3f}, logistic {t_log:.3f}"
        )
        summarise("matcher @0.75 (today)", yc, xc[:, 5] >= 0.75, gc)
        summarise("matcher @fitted", yc, xc[:, 5] >= t_m, gc)
        summarise("logistic @fitted", yc, model.predict_proba(xc)[:, 1] >= t_log, gc)
        print(
            "coefficients",
            np.round(model.coef_[0], 3).tolist(),
            "intercept",
            round(float(model.intercept_[0]), 3),
        )
        return
    linked_m = np.zeros((args.repeats, len(pairs)), bool)
    linked_l = np.zeros((args.repeats, len(pairs)), bool)
    strata = np.array([f"{s}{p.duplicate}" for s, p in zip(source, pairs, strict=True)])
    for r in range(args.repeats):
        for fit, held in StratifiedKFold(args.folds, shuffle=True, random_state=r).split(x, strata):
            t_m = threshold_for(y[fit], x[fit, 5], args.target)
            linked_m[r, held] = x[held, 5] >= t_m
            model = fit_logistic(x[fit], y[fit])
            t_l = threshold_for(y[fit], model.predict_proba(x[fit])[:, 1], args.target)
            linked_l[r, held] = model.predict_proba(x[held])[:, 1] >= t_l
    print(
        f"{args.repeats}x{args.folds}-fold CV on {len(pairs)} pairs, precision ≥ {args.target} on fitting folds; held-out:"
    )
    for name, linked in (("matcher @fitted", linked_m), ("logistic @fitted", linked_l)):
        for s in ("bundled", "second"):
            idx = [i for i, src in enumerate(source) if src == s]
            labs = np.tile(y[idx], args.repeats)
            summarise(
                f"{name} [{s}]", labs, linked[:, idx].reshape(-1), [groups[i] for i in idx] * args.repeats
            )
    today = x[:, 5] >= 0.75
    for s in ("bundled", "second"):
        idx = [i for i, src in enumerate(source) if src == s]
        summarise(f"matcher @0.75 today [{s}]", y[idx], today[idx], [groups[i] for i in idx])


if __name__ == "__main__":
    main()
