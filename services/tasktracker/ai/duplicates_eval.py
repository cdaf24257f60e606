"""`tasktracker eval-duplicates`: precision and recall of the duplicate matcher on labelled message pairs.

Each row of the data is `{"a", "b", "duplicate", "lang"?, "kind"?}`: `a` is the text of an open task,
`b` a new message of the same channel and category, and `duplicate` says whether `b` is the same request
(labelling rules in docs/classification.md). The matcher scores `b` against `a` exactly as the pipeline
does (`b` is the new message) and links them when the score reaches the threshold.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from tasktracker.ai.files import fail, json_object, new_figure, read_jsonl, write_report
from tasktracker.classification import duplicates
from tasktracker.config import settings_or_exit

BUNDLED = "duplicates.jsonl"
SWEEP = tuple(round(0.5 + step / 100, 2) for step in range(46))  # 0.50, 0.51, ... 0.95
MIN_PRECISION = 0.9
MAX_MISTAKES = 50
CANDIDATES_PER_MESSAGE = 200  # what tasks.repository.open_candidates returns at most
_FIELDS = {"a", "b", "duplicate", "lang", "kind"}


_UKRAINIAN = re.compile(r"[іїєґ]")
_RUSSIAN = re.compile(r"[ыэъё]")
_CYRILLIC = re.compile(r"[а-яёіїєґ]")
_LATIN = re.compile(r"[a-z]")


def language(text: str) -> str:
    """`latin`, `uk`, `ru` or `cyrillic` (Cyrillic without a letter that only one of the two has)."""
    lowered = text.lower()
    if len(_CYRILLIC.findall(lowered)) <= len(_LATIN.findall(lowered)):
        return "latin"
    if _UKRAINIAN.search(lowered):
        return "uk"
    if _RUSSIAN.search(lowered):
        return "ru"
    return "cyrillic"


def across_languages(a: str, b: str) -> bool:
    """The two texts are in two languages or scripts (Ukrainian and Russian told apart by their letters)."""
    first, second = language(a), language(b)
    if first == second:
        return False
    # Cyrillic without a telling letter may be either Ukrainian or Russian: the same language then.
    return "latin" in (first, second) or "cyrillic" not in (first, second)


class DuplicatesDataError(ValueError):
    """The labelled pairs file is missing or malformed; the message names the file and line."""


class DuplicatesEvalError(Exception):
    """The report or the plot cannot be written; the message says why."""


@dataclass(frozen=True, slots=True)
class LabelledPair:
    """An open task's text `a`, a new message `b`, and whether `b` repeats the request of `a`."""

    a: str
    b: str
    duplicate: bool
    lang: str | None = None
    kind: str | None = None


class ThresholdMetrics(BaseModel):
    threshold: float
    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int


class LanguageMetrics(BaseModel):
    pairs: int
    duplicates: int
    precision: float
    recall: float
    f1: float


class KindMetrics(BaseModel):
    """How often the matcher links pairs of one kind (e.g. `hard` negatives, `typo` duplicates)."""

    pairs: int
    duplicate: bool
    linked: float


class PairMistake(BaseModel):
    a: str
    b: str
    expected: bool
    similarity: float
    lang: str | None
    kind: str | None


class DuplicatesReport(BaseModel):
    data: str
    pairs: int
    duplicates: int
    threshold: float
    at_threshold: ThresholdMetrics
    best_f1: ThresholdMetrics
    min_precision: float
    # The sweep threshold with the most recall among those whose precision reaches `min_precision`.
    precise: ThresholdMetrics | None
    sweep: list[ThresholdMetrics]
    by_language: dict[str, LanguageMetrics]
    by_kind: dict[str, KindMetrics]
    match_ms_per_message: float
    mistakes: list[PairMistake]
    # `--model ollama`: matcher alone and matcher + the LLM's second opinion on close calls
    # (`ai/duplicate_judge.SecondOpinionReport`).
    second_opinion: dict[str, Any] | None = None


# Reading ------------------------------------------------------------------------------------------------


def bundled_pairs() -> Path:
    return Path(str(resources.files("tasktracker.ai").joinpath("data", BUNDLED)))


def read_pairs(path: Path) -> list[LabelledPair]:
    """Read a JSONL file of labelled pairs; any bad row stops the read with `file:line: what is wrong`."""
    return read_jsonl(path, _parse_row, DuplicatesDataError, "no pairs")


def _parse_row(line: str, where: str) -> LabelledPair:
    row = json_object(line, where, DuplicatesDataError)
    unknown = sorted(set(row) - _FIELDS)
    if unknown:
        raise DuplicatesDataError(
            f"{where}: unknown field {unknown[0]!r} (expected {', '.join(sorted(_FIELDS))})"
        )
    for field in ("a", "b"):
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise DuplicatesDataError(f"{where}: {field!r} must be a non-empty string")
    if not isinstance(row.get("duplicate"), bool):
        raise DuplicatesDataError(f"{where}: 'duplicate' must be true or false, got {row.get('duplicate')!r}")
    for field in ("lang", "kind"):
        if row.get(field) is not None and not isinstance(row[field], str):
            raise DuplicatesDataError(f"{where}: {field!r} must be a string")
    return LabelledPair(row["a"], row["b"], row["duplicate"], row.get("lang"), row.get("kind"))


# Scoring ------------------------------------------------------------------------------------------------


def evaluate_duplicates(
    pairs: Sequence[LabelledPair],
    threshold: float,
    *,
    data_name: str = "",
    sweep: Sequence[float] = SWEEP,
    min_precision: float = MIN_PRECISION,
) -> DuplicatesReport:
    """Score every pair once, then count links at `threshold` and at each threshold of `sweep`.

    A pair is linked when `similarity(b, a) >= threshold`, which is the decision `best_match(b, [a])`
    makes. Precision, recall and F1 are 0 when undefined (nothing linked, no duplicates).
    """
    if not pairs:
        raise ValueError("no pairs to evaluate")
    scores = [duplicates.similarity(pair.b, pair.a) for pair in pairs]
    labels = [pair.duplicate for pair in pairs]
    points = [_metrics(labels, scores, t) for t in sorted(set(sweep))]
    precise = [p for p in points if p.true_positives and p.precision >= min_precision]
    linked = [score >= threshold for score in scores]
    return DuplicatesReport(
        data=data_name,
        pairs=len(pairs),
        duplicates=sum(labels),
        threshold=threshold,
        at_threshold=_metrics(labels, scores, threshold),
        # Ties go to the higher threshold: the same result with fewer near misses linked.
        best_f1=max(reversed(points), key=lambda p: p.f1),
        min_precision=min_precision,
        precise=max(reversed(precise), key=lambda p: (p.recall, p.precision)) if precise else None,
        sweep=points,
        by_language=_by_language(pairs, scores, threshold),
        by_kind=_by_kind(pairs, linked),
        match_ms_per_message=_match_ms(pairs, threshold),
        mistakes=_mistakes(pairs, scores, linked, threshold),
    )


def _metrics(labels: Sequence[bool], scores: Sequence[float], threshold: float) -> ThresholdMetrics:
    tp = fp = fn = tn = 0
    for duplicate, score in zip(labels, scores, strict=True):
        linked = score >= threshold
        tp += linked and duplicate
        fp += linked and not duplicate
        fn += not linked and duplicate
        tn += not linked and not duplicate
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdMetrics(
        threshold=threshold,
        precision=precision,
        recall=recall,
        f1=f1,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
    )


def _by_language(
    pairs: Sequence[LabelledPair], scores: Sequence[float], threshold: float
) -> dict[str, LanguageMetrics]:
    groups: dict[str, list[int]] = {}
    for index, pair in enumerate(pairs):
        groups.setdefault(pair.lang or "unknown", []).append(index)
    result = {}
    for lang, indices in sorted(groups.items()):
        labels = [pairs[i].duplicate for i in indices]
        metrics = _metrics(labels, [scores[i] for i in indices], threshold)
        result[lang] = LanguageMetrics(
            pairs=len(indices),
            duplicates=sum(labels),
            precision=metrics.precision,
            recall=metrics.recall,
            f1=metrics.f1,
        )
    return result


def _by_kind(pairs: Sequence[LabelledPair], linked: Sequence[bool]) -> dict[str, KindMetrics]:
    groups: dict[tuple[bool, str], list[bool]] = {}
    for pair, is_linked in zip(pairs, linked, strict=True):
        if pair.kind is not None:
            groups.setdefault((pair.duplicate, pair.kind), []).append(is_linked)
    # Duplicates first, then negatives; a kind used on both sides gets a suffix so neither is lost.
    kinds = {kind for _, kind in groups}
    both = {kind for kind in kinds if (True, kind) in groups and (False, kind) in groups}
    return {
        (f"{kind} ({'duplicate' if duplicate else 'different'})" if kind in both else kind): KindMetrics(
            pairs=len(flags), duplicate=duplicate, linked=_share(flags)
        )
        for (duplicate, kind), flags in sorted(groups.items(), key=lambda item: (not item[0][0], item[0][1]))
    }


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def _match_ms(pairs: Sequence[LabelledPair], threshold: float, messages: int = 25) -> float:
    """Median time of `best_match` for one message against 200 open tasks (the set's `a` texts, cycled)."""
    candidates = [(i, pairs[i % len(pairs)].a) for i in range(CANDIDATES_PER_MESSAGE)]
    timings = []
    for pair in pairs[:messages]:
        started = time.perf_counter()
        duplicates.best_match(pair.b, candidates, threshold)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _mistakes(
    pairs: Sequence[LabelledPair], scores: Sequence[float], linked: Sequence[bool], threshold: float
) -> list[PairMistake]:
    wrong = [
        PairMistake(a=p.a, b=p.b, expected=p.duplicate, similarity=s, lang=p.lang, kind=p.kind)
        for p, s, is_linked in zip(pairs, scores, linked, strict=True)
        if is_linked != p.duplicate
    ]
    # The most confident mistakes first: false links far above the threshold, misses far below it.
    return sorted(wrong, key=lambda m: -abs(m.similarity - threshold))[:MAX_MISTAKES]


# Output -------------------------------------------------------------------------------------------------


def render(report: DuplicatesReport, console: Console) -> None:
    """Print the report as rich tables."""
    console.print(
        f"[bold]duplicate matcher[/] on {report.data or 'data'}: {report.pairs} pairs, "
        f"{report.duplicates} duplicates, threshold {report.threshold:g}",
        soft_wrap=True,
    )
    sweep = Table(title="Threshold sweep", title_justify="left")
    for column in ("threshold", "precision", "recall", "F1", "linked", "false links"):
        sweep.add_column(column, justify="right")
    shown = [p for p in report.sweep if round(p.threshold * 100) % 5 == 0]
    if all(p.threshold != report.threshold for p in shown):
        shown.append(report.at_threshold)
    for point in sorted(shown, key=lambda p: p.threshold):
        current = point.threshold == report.threshold
        notes = [
            note
            for note, chosen in (
                ("current", current),
                ("best F1", point.threshold == report.best_f1.threshold),
                (
                    f"P ≥ {report.min_precision:g}",
                    report.precise and point.threshold == report.precise.threshold,
                ),
            )
            if chosen
        ]
        style = "bold" if current else None
        sweep.add_row(
            f"{point.threshold:.2f}" + (f" ({', '.join(notes)})" if notes else ""),
            f"{point.precision:.3f}",
            f"{point.recall:.3f}",
            f"{point.f1:.3f}",
            str(point.true_positives + point.false_positives),
            str(point.false_positives),
            style=style,
        )
    console.print(sweep)

    summary = Table(title="Summary", title_justify="left", show_header=False)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    at = report.at_threshold
    summary.add_row(
        f"precision / recall / F1 at {report.threshold:g}",
        f"{at.precision:.3f} / {at.recall:.3f} / {at.f1:.3f}",
    )
    summary.add_row(
        "linked: right / wrong / missed", f"{at.true_positives} / {at.false_positives} / {at.false_negatives}"
    )
    best = report.best_f1
    summary.add_row(
        f"best F1 threshold {best.threshold:.2f}",
        f"F1 {best.f1:.3f} (P {best.precision:.3f}, R {best.recall:.3f})",
    )
    if report.precise is not None:
        precise = report.precise
        summary.add_row(
            f"most recall at precision ≥ {report.min_precision:g}",
            f"{precise.threshold:.2f}: P {precise.precision:.3f}, R {precise.recall:.3f}",
        )
    for lang, language in report.by_language.items():
        summary.add_row(
            f"{lang}: precision / recall / F1 (n={language.pairs}, {language.duplicates} dup.)",
            f"{language.precision:.3f} / {language.recall:.3f} / {language.f1:.3f}",
        )
    summary.add_row(
        f"match time, 1 message vs {CANDIDATES_PER_MESSAGE} open tasks",
        f"{report.match_ms_per_message:.2f} ms",
    )
    console.print(summary)

    if report.by_kind:
        kinds = Table(title=f"Linked at {report.threshold:g}, by kind of pair", title_justify="left")
        for column in ("kind", "label", "pairs", "linked"):
            kinds.add_column(column, justify="left" if column in ("kind", "label") else "right")
        for kind, metrics in report.by_kind.items():
            kinds.add_row(
                kind,
                "duplicate" if metrics.duplicate else "different",
                str(metrics.pairs),
                f"{metrics.linked:.0%}",
            )
        console.print(kinds)


def write_json(report: DuplicatesReport, path: Path) -> None:
    write_report(report, path, DuplicatesEvalError)


def plot_sweep(report: DuplicatesReport, path: Path) -> None:
    """Save precision, recall and F1 against the threshold, and the precision-recall curve, as a PNG."""
    thresholds = [p.threshold for p in report.sweep]
    figure = new_figure(DuplicatesEvalError, figsize=(10, 4.2))
    by_threshold, curve = figure.subplots(1, 2)
    for values, label in (
        ([p.precision for p in report.sweep], "precision"),
        ([p.recall for p in report.sweep], "recall"),
        ([p.f1 for p in report.sweep], "F1"),
    ):
        by_threshold.plot(thresholds, values, label=label, linewidth=2)
    by_threshold.axvline(
        report.threshold, color="grey", linestyle="--", label=f"threshold {report.threshold:g}"
    )
    by_threshold.axvline(
        report.best_f1.threshold,
        color="black",
        linestyle=":",
        label=f"best F1 {report.best_f1.threshold:.2f}",
    )
    by_threshold.set_xlabel("threshold")
    by_threshold.set_ylim(0, 1.02)
    by_threshold.set_title(f"{report.pairs} pairs, {report.duplicates} duplicates")
    by_threshold.legend(loc="lower left", fontsize="small")
    by_threshold.grid(alpha=0.3)

    curve.plot(
        [p.recall for p in report.sweep], [p.precision for p in report.sweep], marker=".", linewidth=1.5
    )
    at = report.at_threshold
    curve.scatter([at.recall], [at.precision], color="red", zorder=3, label=f"threshold {report.threshold:g}")
    for point in report.sweep:
        if round(point.threshold * 100) % 10 == 0:
            curve.annotate(
                f"{point.threshold:.1f}",
                (point.recall, point.precision),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize="small",
            )
    curve.set_xlabel("recall")
    curve.set_ylabel("precision")
    curve.set_xlim(0, 1.02)
    curve.set_ylim(0, 1.02)
    curve.set_title("precision / recall over the sweep 0.50–0.95")
    curve.legend(loc="lower left", fontsize="small")
    curve.grid(alpha=0.3)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    except OSError as exc:
        raise DuplicatesEvalError(f"cannot write {path}: {exc.strerror or exc}") from None


# The command --------------------------------------------------------------------------------------------


def eval_duplicates(
    data: Annotated[
        Path | None, typer.Option(help="Labelled pairs, JSONL (default: the bundled duplicates.jsonl).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Link threshold (default: TASKTRACKER_DUPLICATE_THRESHOLD)."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the full report as JSON here.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the threshold / precision-recall plot here.")
    ] = None,
    model: Annotated[
        Literal["matcher", "ollama"],
        typer.Option(help="`ollama`: also the configured LLM as a second opinion on close calls."),
    ] = "matcher",
    sample: Annotated[
        int | None, typer.Option(min=1, help="Only N pairs spread evenly over the file (for a slow LLM).")
    ] = None,
) -> None:
    """Measure duplicate detection on labelled message pairs: precision, recall, F1, a threshold sweep;
    with `--model ollama`, precision and recall with and without the LLM's second opinion."""
    settings = settings_or_exit()
    if threshold is None:
        threshold = settings.duplicate_threshold
    try:
        pairs = read_pairs(data or bundled_pairs())
    except DuplicatesDataError as exc:
        fail(str(exc), 2)
    if sample is not None and sample < len(pairs):
        step = len(pairs) / sample
        pairs = [pairs[int(i * step)] for i in range(sample)]
    report = evaluate_duplicates(pairs, threshold, data_name=str(data) if data else f"bundled {BUNDLED}")
    console = Console()
    render(report, console)
    if model == "ollama":
        from tasktracker.ai.duplicate_judge import render_second_opinion, second_opinion_on

        opinion = second_opinion_on(settings.model_copy(update={"duplicate_threshold": threshold}), pairs)
        if opinion is None:
            fail(f"the LLM is not ready at {settings.ollama_base_url} with model {settings.ollama_model}", 1)
        render_second_opinion(opinion, console)
        report.second_opinion = opinion.model_dump()
    try:
        if out is not None:
            write_json(report, out)
        if plot is not None:
            plot_sweep(report, plot)
    except DuplicatesEvalError as exc:
        fail(str(exc), 2)


def register(app: typer.Typer) -> None:
    """Add `eval-duplicates` to `app`."""
    app.command("eval-duplicates")(eval_duplicates)
