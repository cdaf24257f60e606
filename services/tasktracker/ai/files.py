"""File plumbing shared by the labelled-data readers and the evaluation reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Row = TypeVar("Row")


def read_jsonl(
    path: Path, parse: Callable[[str, str], Row], error: type[Exception], nothing: str = "no rows"
) -> list[Row]:
    """Parse each non-blank line with `parse(line, "file:line")`; any problem raises `error` naming the place."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read ({exc})") from None
    rows = [parse(line, f"{path}:{number}") for number, line in enumerate(lines, start=1) if line.strip()]
    if not rows:
        raise error(f"{path}: {nothing}")
    return rows


def write_report(report: BaseModel, path: Path, error: type[Exception]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}") from None


def new_figure(error: type[Exception], *, figsize: tuple[float, float]) -> Figure:
    """A matplotlib figure drawn off-screen (Agg), or `error` when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise error("--plot needs matplotlib: pip install 'tasktracker[eval]'") from None
    figure = Figure(figsize=figsize, dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def json_object(line: str, where: str, error: type[Exception]) -> dict[str, Any]:
    """One JSONL row, which must be an object; anything else raises `error` naming the place."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise error(f"{where}: expected a JSON object")
    return row


def fail(message: str, code: int) -> NoReturn:
    """End a command with one line on stderr and a non-zero exit code."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
