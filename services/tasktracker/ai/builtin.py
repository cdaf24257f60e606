"""The embedded classifier: TF-IDF over characters and words, linear models, trained from bundled data.

It needs no network and no GPU, trains in about a second, and is the fallback whenever the LLM path
is unavailable. The fitted model is cached under `<data_dir>/models/`, keyed by a hash of the training
data (bundled rows plus user corrections) and of this code, so a change to either retrains it once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from tasktracker import telemetry
from tasktracker.ai import rules
from tasktracker.ai import text as text_helpers
from tasktracker.ai.files import json_object, read_jsonl
from tasktracker.ai.ngrams import Terms
from tasktracker.classification.schemas import Category, Classification, Priority

if TYPE_CHECKING:  # training only: a process that loads the cached model never imports scikit-learn
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

log = logging.getLogger(__name__)

MODEL_NAME = "builtin"
_WORD_TOKENS = r"(?u)\w+|[^\w\s]"
_PRIORITY_RARITY_POWER = 1.0
# The rule cues (rules.py) enter the priority head as extra columns of this value (TF-IDF blocks have
# unit norm). 0.5 and the rarity power 1.0 were chosen by 5-fold CV on train (docs/classification.md).
_RULE_FEATURE_SCALE = 0.5
_CODE_FILES = ("builtin.py", "ngrams.py", "text.py", "rules.py")
_Label = TypeVar("_Label", Category, Priority)


class DatasetError(ValueError):
    """A labelled data file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """One message with the labels a person gave it (a bundled row or a user correction).

    `weight` is the sample weight in training; bundled rows weigh 1.0. Pass corrections with a larger
    weight (the corrections module uses 3.0) so they outvote similar bundled rows; a correction whose
    normalised text equals a bundled row replaces that row.
    """

    text: str
    category: Category
    priority: Priority
    actionable: bool
    weight: float = 1.0
    lang: str | None = None

    def __post_init__(self) -> None:
        # Rows loaded from the database may carry plain strings.
        object.__setattr__(self, "category", Category(self.category))
        object.__setattr__(self, "priority", Priority(self.priority))


# The bundled rows the model is trained on (both heads); `train_priority.jsonl` feeds the priority head only.
TRAINING_FILES = ("train.jsonl", "train_second.jsonl")


def bundled_data(name: str) -> Path:
    """Path of a labelled set shipped with the package: `train.jsonl`, `train_second.jsonl` (a second
    writer's rows, trained on as well), `train_priority.jsonl` (rows for the priority head only),
    `dev.jsonl`, `check.jsonl`."""
    return Path(str(resources.files("tasktracker.ai").joinpath("data", name)))


def read_examples(path: Path) -> list[LabelledExample]:
    """Read a JSONL file of `{"text", "category", "priority", "actionable"?, "lang"?}` objects.

    `actionable` may be omitted except for questions: it then follows the labelling rule (bug, feature
    and task are actionable, noise is not). Whether a question is depends on what it asks.
    """
    return read_jsonl(path, _parse_row, DatasetError, "no examples")


def _parse_row(line: str, where: str) -> LabelledExample:
    row = json_object(line, where, DatasetError)
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: 'text' must be a non-empty string")
    category = _parse_label(Category, row.get("category"), "category", where)
    priority = _parse_label(Priority, row.get("priority"), "priority", where)
    if "actionable" not in row and category is Category.question:
        raise DatasetError(f"{where}: 'actionable' is required for a question (does answering it need work?)")
    actionable = row.get("actionable", category is not Category.noise)
    if not isinstance(actionable, bool):
        raise DatasetError(f"{where}: 'actionable' must be true or false, got {actionable!r}")
    lang = row.get("lang")
    return LabelledExample(text, category, priority, actionable, lang=lang if isinstance(lang, str) else None)


def _parse_label(enum: type[_Label], value: Any, field: str, where: str) -> _Label:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise DatasetError(f"{where}: unknown {field} {value!r} (expected one of {allowed})") from None


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the built-in model decides about one text, with the probability of each chosen label."""

    category: Category
    priority: Priority
    actionable: bool
    confidence: float
    priority_confidence: float


# Below this probability an `urgent` argmax gives way to the next most probable level (session 5,
# `scripts/cv_priority_urgent_margin.py`): most misses of more than one step on unseen writing were
# medium or low messages called urgent. In 2 x 5-fold CV on train + dev + the second writer's rows: within
# one step 0.979 -> 0.981, urgent precision 0.722 -> 0.765, urgent recall 0.824 -> 0.811; fitted on train
# + dev and measured on the second writer's rows: within one step 0.935 -> 0.949, urgent recall 0.630 both.
URGENT_MARGIN = 0.45


def decide_priority(classes: np.ndarray, probs: np.ndarray, category: Category) -> tuple[Priority, float]:
    """The priority of a non-noise message from the priority head's probabilities (in `classes` order),
    and its confidence: the most probable level, except that a question is never urgent (the labelling
    rule: its urgent probability is set to 0) and `urgent` needs `URGENT_MARGIN`. A demoted urgent keeps
    the probability of the level it gets as its confidence, so it usually goes to review."""
    urgent = classes == Priority.urgent.value
    if category is Category.question:
        probs = np.where(urgent, 0.0, probs)
    total = probs.sum()
    best = int(probs.argmax())
    if urgent[best] and probs[best] / total < URGENT_MARGIN:
        best = int(np.where(urgent, -1.0, probs).argmax())
    return Priority(classes[best]), float(probs[best] / total)


class BuiltinModel:
    """The fitted vectorisers and the two heads (category, priority), compiled for fast prediction.

    Training uses scikit-learn (TF-IDF, calibrated LinearSVC); the fitted heads are then flattened into
    one weight matrix plus the Platt calibrators, so predicting one message costs a dictionary lookup
    per n-gram and a small matrix product instead of scikit-learn's per-call validation (~7 ms). The
    vectorisers are kept as their analysers, vocabularies and idf weights (`ngrams.Terms`): prediction
    and the cached model need no scikit-learn.

    The feature vector is the TF-IDF blocks followed by the rule cues of `rules.py`. The category head
    sees only the TF-IDF columns (its weights for the cue columns are zero); the priority head sees both.
    """

    def __init__(self, vectorisers: Sequence[TfidfVectorizer], heads: dict[str, CalibratedClassifierCV]):
        # Only what prediction needs is kept (and pickled): no scikit-learn object, so loading the
        # cached model imports no scikit-learn (ai/ngrams.py).
        self.terms = tuple(Terms.of(v) for v in vectorisers)
        self.offsets = np.cumsum([0, *(len(t.vocabulary) for t in self.terms)])[:-1].tolist()
        self.rules_offset = sum(len(t.vocabulary) for t in self.terms)
        width = self.rules_offset + len(rules.FEATURE_NAMES)
        blocks: list[np.ndarray] = []
        self.heads: dict[str, _Head] = {}
        for name, head in heads.items():
            self.heads[name] = _Head.compile(head, start=sum(block.shape[1] for block in blocks))
            blocks.extend(_fold_weights(head, width))
        weights = np.hstack(blocks)
        self.weights = np.ascontiguousarray(weights[:-1], dtype=np.float32)
        self.bias = weights[-1].astype(np.float32)
        self.key = ""
        self.examples = 0
        self.train_seconds = 0.0

    @classmethod
    def fit(
        cls, examples: Sequence[LabelledExample], priority_only: Sequence[LabelledExample] = ()
    ) -> BuiltinModel:
        """Train both heads on `examples`; `priority_only` rows train the priority head alone.

        (Rows written for the priority and actionable rules lowered category macro-F1 on dev when the
        category head saw them too, so they are kept out of it.)
        """
        from scipy import sparse

        started = time.perf_counter()
        examples = _deduplicate(examples)
        texts = [text_helpers.normalise(example.text) for example in examples]
        weights = np.array([example.weight for example in examples])
        vectorisers = [
            _tfidf(analyzer="char_wb", ngram_range=(2, 5)),
            _tfidf(analyzer="word", ngram_range=(1, 2), token_pattern=_WORD_TOKENS),
        ]
        matrix = sparse.hstack([v.fit_transform(texts) for v in vectorisers], format="csr")
        seen = set(texts)
        extra = [e for e in priority_only if text_helpers.normalise(e.text) not in seen]
        all_rows = [*examples, *extra]
        if extra:
            extra_texts = [text_helpers.normalise(e.text) for e in extra]
            extra_matrix = sparse.hstack([v.transform(extra_texts) for v in vectorisers], format="csr")
            matrix_all = sparse.vstack([matrix, extra_matrix], format="csr")
        else:
            matrix_all = matrix
        cues = np.vstack([rules.rule_features(example.text) for example in all_rows]) * _RULE_FEATURE_SCALE
        priority_weights = np.array([example.weight for example in all_rows])
        heads = {
            "category": _linear_head().fit(
                matrix, [e.category.value for e in examples], sample_weight=weights
            ),
            "priority": _linear_head().fit(
                sparse.hstack([matrix_all, cues], format="csr"),
                [e.priority.value for e in all_rows],
                sample_weight=priority_weights * _rarity([e.priority for e in all_rows]),
            ),
        }
        model = cls(vectorisers, heads)
        model.examples = len(all_rows)
        model.train_seconds = time.perf_counter() - started
        return model

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Category, priority, actionable and the probabilities of the chosen labels for each text."""
        scores = np.vstack([self._scores(text) for text in texts])
        category_probs = self.heads["category"].probabilities(scores)
        priority_head = self.heads["priority"]
        priority_probs = priority_head.probabilities(scores)
        categories = self.heads["category"].classes[category_probs.argmax(axis=1)]
        results = []
        for row, (text, category_name) in enumerate(zip(texts, categories, strict=True)):
            category = Category(category_name)
            probs = priority_probs[row]
            if category is Category.noise:
                # Chatter never carries a priority: the labelling rule is noise -> low.
                priority, priority_confidence = Priority.low, 1.0
            else:
                priority, priority_confidence = decide_priority(priority_head.classes, probs, category)
            results.append(
                Prediction(
                    category=category,
                    priority=priority,
                    actionable=_actionable(category, text),
                    confidence=float(category_probs[row].max()),
                    priority_confidence=priority_confidence,
                )
            )
        return results

    def vectorise(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and TF-IDF values of one text (sublinear tf, each block L2-normalised)."""
        normalised = text_helpers.normalise(text)
        all_indices, all_values = [], []
        for terms, offset in zip(self.terms, self.offsets, strict=True):
            vocabulary = terms.vocabulary
            counts = Counter(
                index for term in terms(normalised) if (index := vocabulary.get(term)) is not None
            )
            if not counts:
                continue
            indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            term_counts = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            values = (1.0 + np.log(term_counts)) * terms.idf[indices]
            all_indices.append(indices + offset)
            all_values.append(values / np.linalg.norm(values))
        cues = np.flatnonzero(rules.rule_features(normalised, normalised=True))
        all_indices.append(cues + self.rules_offset)
        all_values.append(np.full(len(cues), _RULE_FEATURE_SCALE, dtype=np.float32))
        return np.concatenate(all_indices), np.concatenate(all_values)

    def _scores(self, text: str) -> np.ndarray:
        indices, values = self.vectorise(text)
        return values @ self.weights[indices] + self.bias


@dataclass(frozen=True, slots=True)
class _Fold:
    columns: slice
    class_indices: np.ndarray
    a: np.ndarray
    b: np.ndarray


@dataclass(frozen=True, slots=True)
class _Head:
    """A CalibratedClassifierCV reduced to arrays: per fold, its score columns and sigmoid calibrators."""

    classes: np.ndarray
    folds: tuple[_Fold, ...]

    @classmethod
    def compile(cls, head: CalibratedClassifierCV, start: int) -> _Head:
        classes = np.asarray(head.classes_)
        if len(classes) < 3:
            raise DatasetError("training data needs at least three distinct labels per head")
        folds = []
        for calibrated in head.calibrated_classifiers_:
            fold_classes = list(calibrated.estimator.classes_)
            width = len(fold_classes)
            folds.append(
                _Fold(
                    columns=slice(start, start + width),
                    class_indices=np.searchsorted(classes, fold_classes),
                    a=np.array([c.a_ for c in calibrated.calibrators], dtype=np.float32),
                    b=np.array([c.b_ for c in calibrated.calibrators], dtype=np.float32),
                )
            )
            start += width
        return cls(classes, tuple(folds))

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """The same arithmetic as CalibratedClassifierCV.predict_proba (sigmoid, ensemble of folds)."""
        mean = np.zeros((scores.shape[0], len(self.classes)))
        for fold in self.folds:
            proba = np.zeros_like(mean)
            proba[:, fold.class_indices] = _expit(-(fold.a * scores[:, fold.columns] + fold.b))
            total = proba.sum(axis=1, keepdims=True)
            mean += np.divide(proba, total, out=np.full_like(proba, 1 / len(self.classes)), where=total != 0)
        return mean / len(self.folds)


def _expit(x: np.ndarray) -> np.ndarray:
    """The logistic sigmoid 1 / (1 + e^-x) (scipy.special.expit) without importing scipy, and without
    overflow for large |x|: e^-log(1 + e^-x)."""
    return np.exp(-np.logaddexp(0, -x))


def _fold_weights(head: CalibratedClassifierCV, width: int) -> list[np.ndarray]:
    """Per fold, the LinearSVC coefficients (zero for columns the head did not see, which are the last
    ones) with the intercept appended as the last row."""
    blocks = []
    for calibrated in head.calibrated_classifiers_:
        svc = calibrated.estimator
        coefficients = np.zeros((width, svc.coef_.shape[0]))
        coefficients[: svc.coef_.shape[1]] = svc.coef_.T
        blocks.append(np.vstack([coefficients, svc.intercept_[np.newaxis, :]]))
    return blocks


def _actionable(category: Category, text: str) -> bool:
    """Labelling rules v2: bug, feature and task always; noise never; a question when it asks for work.

    For questions the written rule (`rules.question_needs_work`) matched a logistic regression over
    n-grams and the rule cues in 5-fold CV on the training questions, so the simpler rule is used.
    """
    if category is Category.question:
        return rules.question_needs_work(text)
    return category is not Category.noise


def _rarity(labels: Sequence[Priority]) -> np.ndarray:
    """Weights that lift rare labels (urgent is ~4% of rows), normalised to a mean of 1.

    With the rule cues, the full inverse frequency (power 1.0) gave the best urgent recall in 5-fold
    cross-validation on the training set (0.88 against 0.83 at 0.75) for 0.015 less accuracy.
    """
    counts = Counter(labels)
    weights = np.array([(len(labels) / counts[label]) ** _PRIORITY_RARITY_POWER for label in labels])
    return weights / weights.mean()


def _tfidf(**options: Any) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, lowercase=False, dtype=np.float32, **options)


def _linear_head() -> CalibratedClassifierCV:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    # LinearSVC separates these classes as well as logistic regression and trains ~10x faster;
    # sigmoid calibration turns its margins into the probabilities used as confidence.
    return CalibratedClassifierCV(LinearSVC(C=1.0), cv=3, method="sigmoid")


def _deduplicate(examples: Sequence[LabelledExample]) -> list[LabelledExample]:
    """One row per normalised text; the later row wins, so a correction replaces the bundled label."""
    by_text: dict[str, LabelledExample] = {}
    for example in examples:
        key = text_helpers.normalise(example.text)
        by_text.pop(key, None)
        by_text[key] = example
    return list(by_text.values())


def _cache_key(base: bytes, extra: Sequence[LabelledExample]) -> str:
    digest = hashlib.sha256()
    # scikit-learn's version from its metadata: importing it only for this would undo ai/ngrams.py
    digest.update(f"sklearn={version('scikit-learn')}\n".encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        digest.update((here / name).read_bytes())
    digest.update(base)
    for example in extra:
        row = [
            example.text,
            example.category.value,
            example.priority.value,
            example.actionable,
            example.weight,
        ]
        digest.update(json.dumps(row, ensure_ascii=False).encode())
    return digest.hexdigest()


def _model_path(data_dir: Path, key: str) -> Path:
    return data_dir / "models" / f"{MODEL_NAME}-{key[:16]}.pkl"


def _save(model: BuiltinModel, path: Path) -> None:
    """Write atomically (temp file + rename) and drop models trained from older data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o644)  # mkstemp makes it owner-only; other local processes read it too
        with os.fdopen(handle, "wb") as temp:
            pickle.dump(model, temp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob(f"{MODEL_NAME}-*.pkl"):
        if stale != path:
            stale.unlink(missing_ok=True)


def _load(path: Path, key: str) -> BuiltinModel | None:
    try:
        with path.open("rb") as cached:
            model = pickle.load(cached)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or incompatible file: rebuild rather than fail
        log.warning("ignoring unreadable cached model %s: %s", path, exc)
        return None
    if not isinstance(model, BuiltinModel) or model.key != key:
        return None
    return model


def _build(
    data_dir: Path, extra: Sequence[LabelledExample], *, force: bool, seed_dir: Path | None = None
) -> BuiltinClassifier:
    train_paths = [bundled_data(name) for name in TRAINING_FILES]
    priority_path = bundled_data("train_priority.jsonl")
    base = b"\n--next--\n".join(path.read_bytes() for path in train_paths)
    base += b"\n--priority--\n" + priority_path.read_bytes()
    key = _cache_key(base, extra)
    path = _model_path(data_dir, key)
    model = None if force else _load(path, key)
    if model is None and not force and seed_dir is not None:
        # A model trained into a read-only directory at image build: used when the data dir (often a
        # fresh volume mounted over the image's) has none for the same training data.
        model = _load(_model_path(seed_dir, key), key)
        if model is not None:
            log.info("built-in model %s loaded from %s", key[:12], seed_dir)
            try:
                _save(model, path)
            except OSError:
                return BuiltinClassifier(model, None)
    if model is None:
        rows = [row for path in train_paths for row in read_examples(path)]
        model = BuiltinModel.fit([*rows, *extra], read_examples(priority_path))
        model.key = key
        log.info(
            "trained built-in model %s on %d examples in %.2fs", key[:12], model.examples, model.train_seconds
        )
        try:
            _save(model, path)
        except OSError as exc:  # a read-only data dir still gets a working classifier
            log.warning("could not cache the built-in model at %s: %s", path, exc)
            return BuiltinClassifier(model, None)
    return BuiltinClassifier(model, path)


def retrain(data_dir: Path, extra_examples: Sequence[LabelledExample] = ()) -> BuiltinClassifier:
    """Rebuild the model from the bundled rows plus `extra_examples` (corrections), ignoring the cache."""
    return _build(data_dir, extra_examples, force=True)


class BuiltinClassifier:
    """The :class:`~tasktracker.ai.base.Classifier` backed by :class:`BuiltinModel`.

    Prediction is CPU-bound but takes well under a millisecond per message, so `classify` runs it
    inline; use `classify_batch` for bulk work.
    """

    name = MODEL_NAME
    in_process = True  # answers from this process's CPU, never waiting: see `worker/batch.py`

    def __init__(self, model: BuiltinModel, path: Path | None = None):
        self.model = model
        self.path = path  # where the model is cached, None when it could not be written
        self.model_id = f"{MODEL_NAME}-{model.key[:12]}" if model.key else MODEL_NAME

    @classmethod
    def load_or_train(
        cls, data_dir: Path, extra: Sequence[LabelledExample] = (), seed_dir: Path | None = None
    ) -> BuiltinClassifier:
        """The cached model for this training data (in `data_dir`, else in `seed_dir`), trained and
        cached first if there is none."""
        return _build(data_dir, extra, force=False, seed_dir=seed_dir)

    async def ready(self) -> bool:
        return True

    async def classify(self, text: str) -> Classification:
        with telemetry.span("classifier.builtin", {"classifier.model": self.model_id}):
            return self.classify_batch([text])[0]

    async def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """`classify_batch` for the worker's groups (`ai.base.classify_each`): one vectorised call."""
        with telemetry.span("classifier.builtin", {"classifier.model": self.model_id, "texts": len(texts)}):
            return self.classify_batch(texts)

    def classify_batch(self, texts: Sequence[str]) -> list[Classification]:
        if not texts:
            return []
        started = time.perf_counter()
        predictions = self.model.predict(texts)
        latency_ms = (time.perf_counter() - started) * 1000 / len(texts)
        return [
            Classification(
                category=prediction.category,
                priority=prediction.priority,
                actionable=prediction.actionable,
                title=text_helpers.make_title(text),
                summary=text_helpers.make_summary(text),
                confidence=min(max(prediction.confidence, 0.0), 1.0),
                priority_confidence=min(max(prediction.priority_confidence, 0.0), 1.0),
                model=self.model_id,
                latency_ms=latency_ms,
            )
            for text, prediction in zip(texts, predictions, strict=True)
        ]
