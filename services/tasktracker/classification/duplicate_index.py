"""Duplicate matching against many open tasks at once, with the same answer as `duplicates.best_match`.

`duplicates.best_match` scores a new message against each open task of its channel in Python (~18 ms
for 200 tasks, most of it the character n-gram cosine). Here the tasks' features are computed once per
task (`Prepared`, cached by the worker keyed by task id and version) and stacked into sparse matrices
(`CandidateSet`), so one message costs three sparse products that give, for every task at once, the
n-gram cosine and upper bounds of the token and concept overlaps. Only the tasks whose bound reaches
the threshold (a handful) are then scored by `duplicates._score` itself, in the original order: the
result is the one `best_match` gives, by construction.

The bound covers the three signals `_score` takes the maximum of (n-gram cosine, token overlap with
typos, concept overlap; a slot conflict only lowers the score). A scorer that gains another way to
reach the threshold must add its bound here; `tests/test_duplicate_index.py` compares
both on every labelled pair and fails otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tasktracker.classification import duplicates

if TYPE_CHECKING:
    from scipy import sparse

_UNLISTED = np.iinfo(np.int64).max  # the rank of a set's row no longer listed: beyond any limit
_EPS = 1e-9  # floating-point slack: a task within this of the threshold is scored exactly
_VOCABULARY_LIMIT = 50_000  # features numbered before the numbering starts over (~6 MB at most; each
# message brings one or two of its own, so a worker at 200 msg/s starts over every few minutes)


class _Vocabulary:
    """Column numbers of features (n-grams, stems, concepts) in this process; starts over when large."""

    def __init__(self) -> None:
        self.columns: dict[str, int] = {}
        self.generation = 0

    def add(self, keys: Iterable[str]) -> np.ndarray:
        columns = self.columns
        return np.fromiter((columns.setdefault(key, len(columns)) for key in keys), dtype=np.int64)

    def known(self, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Columns of the keys that have one, and the positions of those keys in `keys`."""
        columns = self.columns
        found = [(columns[key], i) for i, key in enumerate(keys) if key in columns]
        return (
            np.fromiter((c for c, _ in found), dtype=np.int64, count=len(found)),
            np.fromiter((i for _, i in found), dtype=np.int64, count=len(found)),
        )

    def maybe_reset(self) -> None:
        if len(self.columns) > _VOCABULARY_LIMIT:
            self.columns = {}
            self.generation += 1


_vocabulary = _Vocabulary()


def _keys(text: duplicates.Text) -> tuple[list[str], list[str], list[str]]:
    """The features of a text under one numbering: n-grams, stems and concepts kept apart by prefix."""
    return (
        [f"g{gram}" for gram in text.ngrams],
        [f"t{token}" for token in text.tokens],
        [f"c{concept}" for concept in text.concepts],
    )


@dataclass(slots=True)
class Prepared:
    """An open task's text, prepared once for matching (cache it by task id and version)."""

    text: duplicates.Text
    generation: int
    grams: np.ndarray
    gram_weights: np.ndarray
    tokens: np.ndarray
    typo_stems: np.ndarray
    concepts: np.ndarray

    @classmethod
    def of(cls, raw: str) -> Prepared:
        return cls.of_text(duplicates.prepared(raw))

    @classmethod
    def of_text(cls, text: duplicates.Text) -> Prepared:
        grams, tokens, concepts = _keys(text)
        return cls(
            text=text,
            generation=_vocabulary.generation,
            grams=_vocabulary.add(grams),
            gram_weights=np.fromiter(text.ngrams.values(), dtype=np.float64, count=len(text.ngrams)),
            tokens=_vocabulary.add(tokens),
            typo_stems=_vocabulary.add(f"t{stem}" for stem in text.typo_stems),
            concepts=_vocabulary.add(concepts),
        )

    @property
    def current(self) -> bool:
        return self.generation == _vocabulary.generation


def _rows(items: Sequence[np.ndarray], values: Sequence[np.ndarray] | None, width: int) -> sparse.csr_matrix:
    # Imported on a worker's first batch, not by every process start (~0.2 s of CPU, 1/8 of
    # `tasktracker run`'s start). numpy alone (bincount) was 3-6x slower per product than scipy's.
    from scipy import sparse

    lengths = [len(item) for item in items]
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(items) if items else np.zeros(0, dtype=np.int64)
    data = np.concatenate(values) if values is not None and items else np.ones(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(items), width))


def _ratio(shared: np.ndarray, a: float, b: np.ndarray) -> np.ndarray:
    """`duplicates._ratio` for one text against many (0 where both are empty)."""
    union = a + b - shared
    jaccard = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
    return np.maximum(jaccard, shared / (np.minimum(a, b) + 1))


class CandidateSet:
    """Open tasks `(id, Prepared)` in the order `best_match` is given them, stacked for matching."""

    def __init__(self, items: Sequence[tuple[int, Prepared]]) -> None:
        _vocabulary.maybe_reset()  # here only: every row of one set is numbered alike
        fresh = [(task_id, p if p.current else Prepared.of_text(p.text)) for task_id, p in items]
        self.ids = [task_id for task_id, _ in fresh]
        self.texts = [p.text for _, p in fresh]
        width = len(_vocabulary.columns)
        self.prepared = prepared = [p for _, p in fresh]
        self.rows = {task_id: row for row, task_id in enumerate(self.ids)}
        self.grams = _rows([p.grams for p in prepared], [p.gram_weights for p in prepared], width)
        self.tokens = _rows([p.tokens for p in prepared], None, width)
        self.typo_stems = _rows([p.typo_stems for p in prepared], None, width)
        self.concepts = _rows([p.concepts for p in prepared], None, width)
        self.width = width
        self.generation = _vocabulary.generation
        self.token_counts = np.array([len(t.tokens) for t in self.texts], dtype=np.float64)
        self.typo_counts = np.array([len(t.typo_stems) for t in self.texts], dtype=np.float64)
        self.concept_counts = np.array([len(t.concepts) for t in self.texts], dtype=np.float64)
        self.usable = np.array([bool(t.norm) and bool(t.tokens) for t in self.texts], dtype=bool)
        self.by_norm: dict[str, list[int]] = {}
        for row, text in enumerate(self.texts):
            self.by_norm.setdefault(text.norm, []).append(row)

    def __len__(self) -> int:
        return len(self.ids)

    def view(self, items: Sequence[tuple[int, Prepared]], front_limit: int) -> CandidateView | None:
        """`items` (a newer listing) as this set plus at most `front_limit` tasks in front of it, when
        it is that: the tasks the set has, with the very `Prepared` it was built from, in the set's
        order (some may have left), after every task it lacks. None when it is not (build a new set)."""
        if self.generation != _vocabulary.generation:
            return None
        front: list[tuple[int, duplicates.Text]] = []
        ranks = np.full(len(self.ids), _UNLISTED, dtype=np.int64)
        last = -1
        for rank, (task_id, prepared) in enumerate(items):
            row = self.rows.get(task_id)
            if row is None or self.prepared[row] is not prepared:
                if last >= 0 or len(front) == front_limit:
                    return None
                front.append((task_id, prepared.text))
            elif row > last:
                ranks[row], last = rank, row
            else:
                return None
        return CandidateView(self, front, ranks, {task_id for task_id, _ in items})

    def _product(self, matrix: sparse.csr_matrix, keys: list[str], weights: np.ndarray | None) -> np.ndarray:
        columns, positions = _vocabulary.known(keys)
        keep = columns < self.width  # numbered after this set was built: no row has it
        if not keep.any():
            return np.zeros(len(self.ids))
        vector = np.zeros(self.width)
        vector[columns[keep]] = 1.0 if weights is None else weights[positions[keep]]
        return np.asarray(matrix @ vector).ravel()

    def reachable(self, target: duplicates.Text, threshold: float) -> list[int]:
        """Rows whose score could reach `threshold` (a superset of those that do), in order."""
        if not self.ids or not target.norm:
            return []
        if self.generation != _vocabulary.generation:  # numbered anew since: score every row
            return list(range(len(self.ids)))
        rows = set(self.by_norm.get(target.norm, ()))  # `_score` says 1.0 for the same text
        if target.tokens:
            grams, tokens, concepts = _keys(target)
            weights = np.fromiter(target.ngrams.values(), dtype=np.float64, count=len(target.ngrams))
            cosine = self._product(self.grams, grams, weights)
            shared = self._product(self.tokens, tokens, None)
            # `_overlap`'s own bound: typos can only turn unshared typo-length stems into shared ones.
            ours_unshared = len(target.typo_stems) - self._product(
                self.tokens, [f"t{t}" for t in target.typo_stems], None
            )
            theirs_unshared = self.typo_counts - self._product(self.typo_stems, tokens, None)
            most = shared + np.minimum(ours_unshared, theirs_unshared)
            overlap = _ratio(np.maximum(most, shared), float(len(target.tokens)), self.token_counts)
            if len(target.concepts) >= 2:
                common = self._product(self.concepts, concepts, None)
                concept = np.where(
                    self.concept_counts >= 2,
                    _ratio(common, float(len(target.concepts)), self.concept_counts),
                    0.0,
                )
            else:
                concept = np.zeros(len(self.ids))
            bound = np.maximum(np.maximum(cosine, overlap), concept)
            rows.update(np.flatnonzero(self.usable & (bound >= threshold - _EPS)).tolist())
        return sorted(rows)

    def best_match(
        self,
        text: str | duplicates.Text,
        threshold: float,
        *,
        first: Sequence[tuple[int, duplicates.Text]] = (),
        rows: int | None = None,
        ranks: np.ndarray | None = None,
    ) -> tuple[int, float] | None:
        """What `duplicates.best_match(text, candidates, threshold)` returns when the candidates are
        `first` followed by this set's first `rows` tasks (all when None); with `ranks`, the rows whose
        rank is below `rows`, in order."""
        target = text if isinstance(text, duplicates.Text) else duplicates.prepared(text)
        best: tuple[int, float] | None = None
        scored = [(task_id, prepared) for task_id, prepared in first]
        scored += self._listed(self.reachable(target, threshold), rows, ranks)
        for task_id, candidate in scored:
            if duplicates.cannot_match(target, candidate, threshold):
                continue  # a conflict rules it out: cheaper than scoring it to find that out
            score = duplicates._score(target, candidate, threshold)
            if score >= threshold and (best is None or score > best[1]):
                best = (task_id, score)
        return best

    def close_calls(
        self,
        text: str | duplicates.Text,
        low: float,
        threshold: float,
        limit: int,
        *,
        first: Sequence[tuple[int, duplicates.Text]] = (),
        rows: int | None = None,
        ranks: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """What `duplicates.close_calls` returns for the candidates `best_match` would see: the rows
        whose bound reaches `low` are scored exactly, in order, the best `limit` kept."""
        target = text if isinstance(text, duplicates.Text) else duplicates.prepared(text)
        scored = list(first) + self._listed(self.reachable(target, low), rows, ranks)
        found = [
            (task_id, score)
            for task_id, candidate in scored
            if (score := duplicates.close_call(target, candidate, low, threshold)) is not None
        ]
        return sorted(found, key=lambda item: -item[1])[:limit]

    def _listed(
        self, reachable: list[int], rows: int | None, ranks: np.ndarray | None
    ) -> list[tuple[int, duplicates.Text]]:
        if ranks is not None:  # a view's: rows no longer listed are out whatever the limit
            limit = _UNLISTED if rows is None else rows
            return [(self.ids[row], self.texts[row]) for row in reachable if ranks[row] < limit]
        if rows is None:
            return [(self.ids[row], self.texts[row]) for row in reachable]
        return [(self.ids[row], self.texts[row]) for row in reachable if row < rows]


@dataclass(slots=True)
class CandidateView:
    """A listing seen through an older `CandidateSet` (`CandidateSet.view`): `front`, the listed tasks
    the set lacks (newer than all of its rows, scored one by one), then the set's rows that are still
    listed, each at its rank in the listing."""

    candidates: CandidateSet
    front: list[tuple[int, duplicates.Text]]
    ranks: np.ndarray
    ids: set[int]

    @classmethod
    def whole(cls, candidates: CandidateSet) -> CandidateView:
        """A set's own listing."""
        return cls(candidates, [], np.arange(len(candidates), dtype=np.int64), set(candidates.ids))

    def best_match(
        self,
        text: str | duplicates.Text,
        threshold: float,
        first: Sequence[tuple[int, duplicates.Text]],
        rows: int,
    ) -> tuple[int, float] | None:
        """As `CandidateSet.best_match` on the listing: `first`, then the listing's first `rows` tasks."""
        first = [*first, *self.front[:rows]]
        return self.candidates.best_match(text, threshold, first=first, rows=rows, ranks=self.ranks)

    def close_calls(
        self, text: str | duplicates.Text, low: float, threshold: float, limit: int, rows: int
    ) -> list[tuple[int, float]]:
        return self.candidates.close_calls(
            text, low, threshold, limit, first=self.front[:rows], rows=rows, ranks=self.ranks
        )
