"""Measure any classifier against a labelled set: quality per class, priority, actionability, speed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from tasktracker.ai.base import Classifier
from tasktracker.ai.builtin import LabelledExample
from tasktracker.ai.files import new_figure, write_report
from tasktracker.classification.schemas import (
    PRIORITY_RANK,
    Category,
    Classification,
    Priority,
    needs_review,
)

CATEGORIES = [category.value for category in Category]
PRIORITIES = [priority.value for priority in Priority]
MAX_MISTAKES = 50


class EvaluationError(Exception):
    """The evaluation cannot run or its output cannot be written; the message says why."""


class ClassMetrics(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class LanguageMetrics(BaseModel):
    examples: int
    accuracy: float
    macro_f1: float


class ReviewMetrics(BaseModel):
    """What the review threshold does: how many predictions go to a person, how good the rest are.

    `share_below`/`accuracy_above` look at the category's confidence alone; `share_queued` is the review
    queue as the pipeline fills it (`needs_review`: low category or priority confidence, or urgent),
    and `urgent_missed_by_queue` counts urgent messages that reached neither the queue nor `urgent`.
    """

    threshold: float
    share_below: float
    accuracy_above: float | None
    share_queued: float | None = None
    accuracy_not_queued: float | None = None
    priority_accuracy_not_queued: float | None = None


class Mistake(BaseModel):
    text: str
    expected: str
    predicted: str
    confidence: float


class EvalReport(BaseModel):
    model: str
    data: str
    examples: int
    errors: int
    first_error: str | None = None
    macro_f1: float
    accuracy: float
    per_class: dict[str, ClassMetrics]
    priority_accuracy: float
    priority_within_one: float
    urgent_recall: float | None
    urgent_precision: float | None
    priority_confusion_labels: list[str] = PRIORITIES
    priority_confusion: list[list[int]] = []
    actionable_accuracy: float
    question_actionable_accuracy: float | None = None
    confusion_labels: list[str]
    confusion: list[list[int]]
    latency_ms_p50: float
    latency_ms_p99: float
    throughput_per_s: float
    batch_throughput_per_s: float | None = None
    by_language: dict[str, LanguageMetrics]
    review: ReviewMetrics
    mistakes: list[Mistake]


async def evaluate(
    classifier: Classifier,
    examples: Sequence[LabelledExample],
    *,
    concurrency: int = 1,
    review_threshold: float = 0.6,
    priority_review_threshold: float = 0.4,
    data_name: str = "",
    on_progress: Callable[[], None] | None = None,
) -> EvalReport:
    """Classify every example one call at a time (`concurrency` in flight) and score the results.

    A call that raises is counted in `errors` and left out of the quality metrics. When the classifier
    also has `classify_batch` (the built-in model), its bulk throughput is measured as well.
    """
    if not examples:
        raise EvaluationError("no examples to evaluate")
    results: list[Classification | None] = [None] * len(examples)
    latencies: list[float] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(concurrency)

    async def run_one(index: int) -> None:
        async with gate:
            started = time.perf_counter()
            try:
                results[index] = await classifier.classify(examples[index].text)
            except Exception as exc:  # one failed call must not end the run; it is reported
                errors.append(f"{type(exc).__name__}: {exc}")
            else:
                latencies.append((time.perf_counter() - started) * 1000)
            if on_progress is not None:
                on_progress()

    started = time.perf_counter()
    await asyncio.gather(*(run_one(index) for index in range(len(examples))))
    elapsed = time.perf_counter() - started

    scored = [
        (example, result) for example, result in zip(examples, results, strict=True) if result is not None
    ]
    if not scored:
        raise EvaluationError(f"all {len(examples)} classifications failed, first: {errors[0]}")
    report = _score(scored, review_threshold, priority_review_threshold)
    model = next(result.model for _, result in scored)
    return EvalReport(
        model=model,
        data=data_name,
        examples=len(examples),
        errors=len(errors),
        first_error=errors[0] if errors else None,
        latency_ms_p50=float(np.percentile(latencies, 50)),
        latency_ms_p99=float(np.percentile(latencies, 99)),
        throughput_per_s=len(scored) / elapsed,
        batch_throughput_per_s=_batch_throughput(classifier, examples),
        **report,
    )


def _score(
    scored: Sequence[tuple[LabelledExample, Classification]],
    review_threshold: float,
    priority_review_threshold: float,
) -> dict[str, Any]:
    expected = [example.category.value for example, _ in scored]
    predicted = [result.category.value for _, result in scored]
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=CATEGORIES, zero_division=0
    )
    per_class = {
        label: ClassMetrics(precision=float(p), recall=float(r), f1=float(f), support=int(s))
        for label, p, r, f, s in zip(CATEGORIES, precision, recall, f1, support, strict=True)
    }
    confident = [(e, r) for e, r in scored if r.confidence >= review_threshold]
    not_queued = [
        (e, r) for e, r in scored if not needs_review(r, review_threshold, priority_review_threshold)
    ]
    urgent = [r.priority is Priority.urgent for e, r in scored if e.priority is Priority.urgent]
    called_urgent = [e.priority is Priority.urgent for e, r in scored if r.priority is Priority.urgent]
    questions = [
        (e, r) for e, r in scored if e.category is Category.question and r.category is Category.question
    ]
    mistakes = [
        Mistake(text=e.text, expected=e.category.value, predicted=r.category.value, confidence=r.confidence)
        for e, r in scored
        if e.category is not r.category
    ]
    return {
        # Macro over the classes present in the data or the predictions (sklearn's default).
        "macro_f1": float(f1_score(expected, predicted, average="macro", zero_division=0)),
        "accuracy": _share(e.category is r.category for e, r in scored),
        "per_class": per_class,
        "priority_accuracy": _share(e.priority is r.priority for e, r in scored),
        "priority_within_one": _share(
            abs(PRIORITY_RANK[e.priority] - PRIORITY_RANK[r.priority]) <= 1 for e, r in scored
        ),
        "urgent_recall": _share(urgent) if urgent else None,
        "urgent_precision": _share(called_urgent) if called_urgent else None,
        "priority_confusion": confusion_matrix(
            [e.priority.value for e, _ in scored], [r.priority.value for _, r in scored], labels=PRIORITIES
        ).tolist(),
        "actionable_accuracy": _share(e.actionable == r.actionable for e, r in scored),
        "question_actionable_accuracy": _share(e.actionable == r.actionable for e, r in questions)
        if questions
        else None,
        "confusion_labels": CATEGORIES,
        "confusion": confusion_matrix(expected, predicted, labels=CATEGORIES).tolist(),
        "by_language": _by_language(scored),
        "review": ReviewMetrics(
            threshold=review_threshold,
            share_below=1 - len(confident) / len(scored),
            accuracy_above=_share(e.category is r.category for e, r in confident) if confident else None,
            share_queued=1 - len(not_queued) / len(scored),
            accuracy_not_queued=_share(e.category is r.category for e, r in not_queued)
            if not_queued
            else None,
            priority_accuracy_not_queued=_share(e.priority is r.priority for e, r in not_queued)
            if not_queued
            else None,
        ),
        "mistakes": sorted(mistakes, key=lambda m: -m.confidence)[:MAX_MISTAKES],
    }


def _by_language(scored: Sequence[tuple[LabelledExample, Classification]]) -> dict[str, LanguageMetrics]:
    languages: dict[str, list[tuple[LabelledExample, Classification]]] = {}
    for example, result in scored:
        languages.setdefault(example.lang or "unknown", []).append((example, result))
    return {
        lang: LanguageMetrics(
            examples=len(rows),
            accuracy=_share(e.category is r.category for e, r in rows),
            macro_f1=float(
                f1_score(
                    [e.category.value for e, _ in rows],
                    [r.category.value for _, r in rows],
                    average="macro",
                    zero_division=0,
                )
            ),
        )
        for lang, rows in sorted(languages.items())
    }


def _maybe(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values)


def _batch_throughput(classifier: Classifier, examples: Sequence[LabelledExample]) -> float | None:
    classify_batch = getattr(classifier, "classify_batch", None)
    if classify_batch is None:
        return None
    texts = [example.text for example in examples]
    started = time.perf_counter()
    classify_batch(texts)
    return len(texts) / (time.perf_counter() - started)


def render(report: EvalReport, console: Console) -> None:
    """Print the report as rich tables."""
    console.print(
        f"[bold]{report.model}[/] on {report.data or 'data'}: {report.examples} examples"
        + (f", [red]{report.errors} failed[/] ({report.first_error})" if report.errors else ""),
        soft_wrap=True,
    )
    classes = Table(title="Category", title_justify="left")
    for column in ("class", "precision", "recall", "F1", "support"):
        classes.add_column(column, justify="left" if column == "class" else "right")
    for label, metrics in report.per_class.items():
        classes.add_row(
            label,
            f"{metrics.precision:.3f}",
            f"{metrics.recall:.3f}",
            f"{metrics.f1:.3f}",
            str(metrics.support),
        )
    classes.add_section()
    classes.add_row(
        "[bold]macro F1[/]",
        "",
        "",
        f"[bold]{report.macro_f1:.3f}[/]",
        str(sum(m.support for m in report.per_class.values())),
    )
    console.print(classes)

    confusion = Table(title="Confusion (rows: expected, columns: predicted)", title_justify="left")
    confusion.add_column("")
    for label in report.confusion_labels:
        confusion.add_column(label, justify="right")
    for i, (label, row) in enumerate(zip(report.confusion_labels, report.confusion, strict=True)):
        confusion.add_row(label, *(f"[bold]{n}[/]" if i == j else str(n or "·") for j, n in enumerate(row)))
    console.print(confusion)

    priorities = Table(title="Priority (rows: expected, columns: predicted)", title_justify="left")
    priorities.add_column("")
    for label in report.priority_confusion_labels:
        priorities.add_column(label, justify="right")
    for i, (label, row) in enumerate(
        zip(report.priority_confusion_labels, report.priority_confusion, strict=True)
    ):
        priorities.add_row(label, *(f"[bold]{n}[/]" if i == j else str(n or "·") for j, n in enumerate(row)))
    console.print(priorities)

    summary = Table(title="Summary", title_justify="left", show_header=False)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    summary.add_row("category accuracy", f"{report.accuracy:.3f}")
    summary.add_row("macro F1", f"{report.macro_f1:.3f}")
    summary.add_row("priority accuracy", f"{report.priority_accuracy:.3f}")
    summary.add_row("priority within one step", f"{report.priority_within_one:.3f}")
    summary.add_row(
        "urgent recall / precision", f"{_maybe(report.urgent_recall)} / {_maybe(report.urgent_precision)}"
    )
    summary.add_row("actionable accuracy", f"{report.actionable_accuracy:.3f}")
    if report.question_actionable_accuracy is not None:
        summary.add_row("actionable accuracy on questions", f"{report.question_actionable_accuracy:.3f}")
    review = report.review
    summary.add_row(f"below review threshold {review.threshold:g}", f"{review.share_below:.1%}")
    if review.accuracy_above is not None:
        summary.add_row("accuracy above threshold", f"{review.accuracy_above:.3f}")
    if review.share_queued is not None:
        summary.add_row(
            "review queue (low category/priority confidence, urgent)", f"{review.share_queued:.1%}"
        )
        summary.add_row(
            "outside the queue: category / priority accuracy",
            f"{_maybe(review.accuracy_not_queued)} / {_maybe(review.priority_accuracy_not_queued)}",
        )
    summary.add_row("latency p50 / p99", f"{report.latency_ms_p50:.2f} / {report.latency_ms_p99:.2f} ms")
    summary.add_row("throughput (one at a time)", f"{report.throughput_per_s:,.0f} msg/s")
    if report.batch_throughput_per_s is not None:
        summary.add_row("throughput (batch)", f"{report.batch_throughput_per_s:,.0f} msg/s")
    for lang, language in report.by_language.items():
        summary.add_row(
            f"{lang}: accuracy / macro F1 (n={language.examples})",
            f"{language.accuracy:.3f} / {language.macro_f1:.3f}",
        )
    console.print(summary)


def write_json(report: EvalReport, path: Path) -> None:
    write_report(report, path, EvaluationError)


def plot_confusion(report: EvalReport, path: Path) -> None:
    """Save the confusion matrix as a PNG (row-normalised colours, raw counts in the cells)."""
    counts = np.array(report.confusion)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    labels = report.confusion_labels
    figure = new_figure(EvaluationError, figsize=(6, 5))
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    axes.set_title(f"{report.model}: macro F1 {report.macro_f1:.3f}, n={int(counts.sum())}")
    for row in range(len(labels)):
        for column in range(len(labels)):
            colour = "white" if shares[row, column] > 0.5 else "black"
            axes.text(column, row, str(counts[row, column]), ha="center", va="center", color=colour)
    figure.colorbar(image, ax=axes, fraction=0.046, label="share of expected class")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    except OSError as exc:
        raise EvaluationError(f"cannot write {path}: {exc.strerror or exc}") from None
