"""`tasktracker eval` and `tasktracker retrain`, added to the main command by `register`."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tasktracker.ai.base import Classifier
from tasktracker.ai.builtin import (
    BuiltinClassifier,
    DatasetError,
    LabelledExample,
    bundled_data,
    read_examples,
)
from tasktracker.ai.evaluation import (
    EvalReport,
    EvaluationError,
    evaluate,
    plot_confusion,
    render,
    write_json,
)
from tasktracker.ai.files import fail
from tasktracker.config import Settings
from tasktracker.config import settings_or_exit as _settings

CorrectionsLoader = Callable[[Settings], Awaitable[list[LabelledExample]]]


class ModelChoice(StrEnum):
    builtin = "builtin"
    ollama = "ollama"


class _Unavailable(Exception):
    """The chosen classifier cannot run here (exit code 1, unlike bad input, which is 2)."""


def register(app: typer.Typer, load_corrections: CorrectionsLoader | None = None) -> None:
    """Add `eval` and `retrain` to `app`; `load_corrections` supplies the stored user corrections."""

    @app.command("eval")
    def eval_command(
        model: Annotated[ModelChoice, typer.Option(help="Classifier to measure.")] = ModelChoice.builtin,
        data: Annotated[
            Path | None, typer.Option(help="Labelled JSONL file (default: the bundled dev set).")
        ] = None,
        out: Annotated[Path | None, typer.Option(help="Write the full report as JSON here.")] = None,
        plot: Annotated[Path | None, typer.Option(help="Write the confusion matrix as a PNG here.")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N examples.")] = None,
        sample: Annotated[
            int | None,
            typer.Option(min=1, help="Use N examples spread evenly over the file (a slow LLM on a big set)."),
        ] = None,
        concurrency: Annotated[int, typer.Option(min=1, help="Messages classified at once.")] = 1,
    ) -> None:
        """Measure a classifier on labelled messages: per-class F1, priority, actionability, speed."""
        settings = _settings()
        path = data or bundled_data("dev.jsonl")
        try:
            examples = read_examples(path)[:limit]
            if sample is not None:
                from tasktracker.ai.champion import dev_slice

                examples = dev_slice(examples, sample)
            name = str(data) if data else "bundled dev.jsonl"
            report = asyncio.run(_run_eval(model, settings, examples, name, concurrency))
        except (DatasetError, EvaluationError) as exc:
            fail(str(exc), 2 if isinstance(exc, DatasetError) else 1)
        except _Unavailable as exc:
            fail(str(exc), 1)
        render(report, Console())
        try:
            if out is not None:
                write_json(report, out)
            if plot is not None:
                plot_confusion(report, plot)
        except EvaluationError as exc:
            fail(str(exc), 2)

    @app.command("retrain")
    def retrain_command() -> None:
        """Retrain the built-in model from the bundled data plus stored corrections."""
        from tasktracker.ai.builtin import retrain

        settings = _settings()
        corrections: list[LabelledExample] = []
        if load_corrections is not None:
            try:
                corrections = asyncio.run(_gather_corrections(load_corrections, settings))
            except Exception as exc:  # e.g. the database is not migrated yet
                first_line = (str(exc).splitlines() or [""])[0]
                fail(
                    f"cannot load corrections ({type(exc).__name__}: {first_line}); is the database migrated?",
                    1,
                )
        started = time.perf_counter()
        classifier = retrain(settings.data_dir, corrections)
        typer.echo(
            f"trained {classifier.model_id} on {classifier.model.examples} examples "
            f"({len(corrections)} corrections) in {time.perf_counter() - started:.2f}s"
            + (f", saved to {classifier.path}" if classifier.path else ", not cached (data dir not writable)")
        )


async def _gather_corrections(load: CorrectionsLoader, settings: Settings) -> list[LabelledExample]:
    return await load(settings)


async def _run_eval(
    choice: ModelChoice, settings: Settings, examples: list[LabelledExample], data_name: str, concurrency: int
) -> EvalReport:
    classifier = await _classifier(choice, settings)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task(f"classifying with {choice.value}", total=len(examples))
            return await evaluate(
                classifier,
                examples,
                concurrency=concurrency,
                review_threshold=settings.review_threshold,
                priority_review_threshold=settings.priority_review_threshold,
                data_name=data_name,
                on_progress=lambda: progress.advance(task),
            )
    finally:
        close = getattr(classifier, "aclose", None)
        if close is not None:
            await close()


async def _classifier(choice: ModelChoice, settings: Settings) -> Classifier:
    if choice is ModelChoice.builtin:
        return await asyncio.to_thread(BuiltinClassifier.load_or_train, settings.data_dir)
    try:
        from tasktracker.ai.chain import build_llm_classifier
    except ImportError as exc:
        raise _Unavailable(f"the LLM classifier is not available in this installation ({exc})") from None
    built = build_llm_classifier(settings)
    classifier: Classifier = await built if inspect.isawaitable(built) else built
    if not await classifier.ready():
        raise _Unavailable(
            f"Ollama is not ready at {settings.ollama_base_url} with model {settings.ollama_model} "
            "(is it running, and is the model pulled?)"
        )
    return classifier
