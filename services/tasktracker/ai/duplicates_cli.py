"""`tasktracker eval-duplicates`: the matcher on labelled pairs (`duplicates_eval`) and, with
`--model ollama`, the LLM's second opinion on close calls (`duplicate_judge`) — a module of its own, since
the judge itself reads the labelled pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from tasktracker.ai.duplicate_judge import render_second_opinion, second_opinion_on
from tasktracker.ai.duplicates_eval import (
    BUNDLED,
    DuplicatesDataError,
    DuplicatesEvalError,
    bundled_pairs,
    evaluate_duplicates,
    plot_sweep,
    read_pairs,
    render,
    write_json,
)
from tasktracker.ai.files import fail
from tasktracker.config import settings_or_exit


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
