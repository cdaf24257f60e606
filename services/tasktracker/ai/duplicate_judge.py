"""The LLM as a second opinion on duplicate close calls, trusted only as far as it has earned.

The lexical matcher (`classification/duplicates.py`) links a message to an open task from a score of
`duplicate_threshold`. Rewordings by another person, and repeats in another language, mostly score
below it, and so do many different requests. A pair the matcher does not link but that scores at least
`duplicate_llm_band`, without a slot conflict, is a *close call* (`duplicates.close_call`). For a
message with close calls, the best-scored `duplicate_llm_candidates` are put to the LLM
(`ai/prompts/duplicate_v1.md`: "is the message the same request as the task? same / different, and
why", with the labelling rules of the bundled pairs and few-shot examples from the tuning pairs). The
best-scored one it calls "same" is linked. An error, a timeout or an invalid answer means "no link":
the job goes on as if the LLM had said "different".

**The gate.** Before the worker uses the LLM so (`auto` mode), `SecondOpinion` measures matcher + LLM
against the matcher alone on `duplicate_llm_eval_pairs` tuning pairs (`duplicates.jsonl` and
`duplicates_second.jsonl`, spread evenly, without the pairs the prompt shows as examples; never
`duplicates_check.jsonl`), and caches the result in `<data_dir>/models/dup-judge-<key>.json`, keyed by
model, prompt version, data, sample size, threshold and band (the champion/challenger's mechanism). The
second opinion is used only when precision stays at or above `MIN_PRECISION` and recall rises;
otherwise it is off, and `status` (readiness, `/api/config`, the log) says why. `on` uses it whatever
the gate says; `off` never builds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_ai import Agent, NativeOutput, PromptedOutput
from pydantic_ai.framing import register_tag, wrap
from pydantic_ai.models import create_async_httpx2_client
from pydantic_ai.models.ollama import OllamaModel
from pydantic_ai.providers.ollama import OllamaProvider
from rich.console import Console
from rich.table import Table

from tasktracker.ai.builtin import bundled_data
from tasktracker.ai.champion import BackgroundDecision, dev_slice, load_cached, save_cached
from tasktracker.ai.duplicates_eval import LabelledPair, across_languages, read_pairs
from tasktracker.ai.llm import MESSAGE_TAG, llm_model_settings
from tasktracker.ai.ollama_models import OllamaModelsError, has_model
from tasktracker.ai.prompts import load_prompt
from tasktracker.classification import duplicates
from tasktracker.classification.duplicates import CloseCall
from tasktracker.config import DuplicateLLMMode, Settings, normalise_ollama_url
from tasktracker.metrics import DUPLICATE_OPINIONS

log = logging.getLogger(__name__)

PROMPT_NAME = "duplicate_v1"
TASK_TAG = register_tag("task")
TUNING_PAIRS = ("duplicates.jsonl", "duplicates_second.jsonl")  # never duplicates_check.jsonl
MIN_PRECISION = 0.95
MAX_ERROR_SHARE = 0.1  # an LLM that fails more of the gate's calls than this has not proven itself
_EXAMPLE = re.compile(r"^<task>([^\n]*)</task>\n<message>([^\n]*)</message>$", re.M)  # the few-shot pairs


class DuplicateAnswer(BaseModel):
    """The LLM's answer for one (open task, new message) pair."""

    verdict: Literal["same", "different"]
    reason: str = Field(default="", max_length=500)

    @field_validator("verdict", mode="before")
    @classmethod
    def _fold(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


Judge = Callable[[str, str], Awaitable[bool]]  # (open task's text, new message) -> same request?


class LLMDuplicateJudge:
    """Asks the configured LLM whether a message is the same request as an open task."""

    def __init__(self, settings: Settings, semaphore: asyncio.Semaphore | None = None) -> None:
        self.settings = settings
        self.name = f"ollama:{settings.ollama_model}"
        prompt = load_prompt(PROMPT_NAME)
        self.prompt_version = prompt.version
        self.prompt_text = prompt.text
        self._http = create_async_httpx2_client()
        provider = OllamaProvider(
            base_url=normalise_ollama_url(settings.ollama_base_url), api_key="ollama", http_client=self._http
        )
        output: NativeOutput[DuplicateAnswer] | PromptedOutput[DuplicateAnswer]
        if settings.llm_response_format == "json_object":
            output = PromptedOutput(DuplicateAnswer, name="verdict")
        else:
            output = NativeOutput(DuplicateAnswer, name="verdict")
        self._agent = Agent(
            OllamaModel(settings.ollama_model, provider=provider),
            output_type=output,
            instructions=prompt.text,
            retries={"output": settings.ollama_retries, "tools": 0},
            model_settings=llm_model_settings(settings, DuplicateAnswer),
            name="duplicate-judge",
        )
        # The classifier's limit when it has one: one bound for every LLM call of the process.
        self.semaphore = semaphore or asyncio.Semaphore(settings.llm_concurrency)

    async def __call__(self, task_text: str, message: str) -> bool:
        """True when the LLM says "same"; raises when it gives no valid answer."""
        async with self.semaphore:
            async with asyncio.timeout(self.settings.llm_run_timeout_s):
                result = await self._agent.run(f"{wrap(TASK_TAG, task_text)}\n{wrap(MESSAGE_TAG, message)}")
        log.debug("duplicate judge: %s (%s)", result.output.verdict, result.output.reason)
        return result.output.verdict == "same"

    async def ready(self) -> bool:
        try:
            return await has_model(self.settings, timeout_s=2.0)
        except OllamaModelsError as exc:
            log.debug("duplicate judge not ready: %s", exc)
            return False

    async def aclose(self) -> None:
        await self._http.aclose()


# Measuring: matcher alone against matcher + LLM -----------------------------------------------------------


class Rates(BaseModel):
    precision: float
    recall: float
    linked_right: int
    linked_wrong: int
    across_recall: float | None  # repeats whose texts are in two languages or scripts


class SecondOpinionReport(BaseModel):
    """Matcher alone and matcher + LLM on the same pairs (the gate's cached result, and the CLI's)."""

    llm_model: str
    prompt_version: str
    pairs: int
    duplicates: int
    across_duplicates: int
    threshold: float
    band: float
    asked: int  # close calls put to the LLM
    said_same: int
    errors: int
    alone: Rates
    with_llm: Rates
    enabled: bool
    reason: str


def _rates(pairs: Sequence[LabelledPair], linked: Sequence[bool], across: Sequence[bool]) -> Rates:
    right = sum(p.duplicate and is_linked for p, is_linked in zip(pairs, linked, strict=True))
    wrong = sum(not p.duplicate and is_linked for p, is_linked in zip(pairs, linked, strict=True))
    repeats = sum(p.duplicate for p in pairs)
    across_repeats = [
        is_linked for p, is_linked, a in zip(pairs, linked, across, strict=True) if p.duplicate and a
    ]
    return Rates(
        precision=right / (right + wrong) if right + wrong else 0.0,
        recall=right / repeats if repeats else 0.0,
        linked_right=right,
        linked_wrong=wrong,
        across_recall=sum(across_repeats) / len(across_repeats) if across_repeats else None,
    )


async def measure_as_configured(
    judge: LLMDuplicateJudge,
    pairs: Sequence[LabelledPair],
    settings: Settings,
    progress: Callable[[], None] | None = None,
) -> SecondOpinionReport:
    """`measure` with the threshold, band and concurrency the worker runs with."""
    return await measure(
        judge,
        pairs,
        threshold=settings.duplicate_threshold,
        band=settings.duplicate_llm_band,
        llm_model=judge.name,
        prompt_version=judge.prompt_version,
        concurrency=settings.llm_concurrency,
        progress=progress,
    )


async def measure(
    judge: Judge,
    pairs: Sequence[LabelledPair],
    *,
    threshold: float,
    band: float,
    llm_model: str,
    prompt_version: str,
    concurrency: int = 2,
    progress: Callable[[], None] | None = None,
) -> SecondOpinionReport:
    """Each pair as the pipeline sees it (`b` the new message, `a` the open task): linked by the matcher
    alone at `threshold`; with the LLM, also when it is a close call the LLM calls "same". A failed call
    is "no link", as in the worker, and is counted."""
    gate = asyncio.Semaphore(concurrency)
    errors = 0

    async def opinion(pair: LabelledPair) -> bool | None:
        nonlocal errors
        async with gate:
            try:
                return await judge(pair.a, pair.b)
            except Exception as exc:
                errors += 1
                log.debug("second opinion failed: %s", exc)
                return False
            finally:
                if progress is not None:
                    progress()

    alone = [duplicates.similarity(p.b, p.a) >= threshold for p in pairs]
    close = [
        not linked
        and duplicates.close_call(duplicates.Text(p.b), duplicates.Text(p.a), band, threshold) is not None
        for p, linked in zip(pairs, alone, strict=True)
    ]
    asked = [p for p, is_close in zip(pairs, close, strict=True) if is_close]
    answers = iter(await asyncio.gather(*(opinion(p) for p in asked)))
    with_llm = [
        linked or (is_close and bool(next(answers))) for linked, is_close in zip(alone, close, strict=True)
    ]
    across = [across_languages(p.a, p.b) for p in pairs]
    before, after = _rates(pairs, alone, across), _rates(pairs, with_llm, across)
    enabled, reason = _verdict(llm_model, before, after, errors, len(asked))
    return SecondOpinionReport(
        llm_model=llm_model,
        prompt_version=prompt_version,
        pairs=len(pairs),
        duplicates=sum(p.duplicate for p in pairs),
        across_duplicates=sum(p.duplicate and a for p, a in zip(pairs, across, strict=True)),
        threshold=threshold,
        band=band,
        asked=len(asked),
        said_same=sum(with_llm) - sum(alone),
        errors=errors,
        alone=before,
        with_llm=after,
        enabled=enabled,
        reason=reason,
    )


def _verdict(llm_model: str, alone: Rates, with_llm: Rates, errors: int, asked: int) -> tuple[bool, str]:
    figures = (
        f"P {with_llm.precision:.3f} / R {with_llm.recall:.3f} with it, "
        f"P {alone.precision:.3f} / R {alone.recall:.3f} without"
    )
    if not asked:
        return False, f"no close call among the tuning pairs to measure {llm_model} on"
    if errors > MAX_ERROR_SHARE * asked:
        return False, f"{llm_model} failed {errors} of {asked} close calls on the tuning pairs"
    if with_llm.precision < MIN_PRECISION:
        return False, f"{llm_model} lowers precision below {MIN_PRECISION:g} on the tuning pairs ({figures})"
    if with_llm.recall <= alone.recall:
        return False, f"{llm_model} does not raise recall on the tuning pairs ({figures})"
    return True, f"{llm_model} raises recall at precision ≥ {MIN_PRECISION:g} on the tuning pairs ({figures})"


def tuning_pairs(prompt_text: str, paths: Sequence[Path] | None = None) -> list[LabelledPair]:
    """The tuning pairs, without those the prompt shows as examples (they would flatter the LLM)."""
    shown = {(a.strip(), b.strip()) for a, b in _EXAMPLE.findall(prompt_text)}
    pairs = [
        pair for path in paths or [bundled_data(name) for name in TUNING_PAIRS] for pair in read_pairs(path)
    ]
    return [p for p in pairs if (p.a, p.b) not in shown and (p.b, p.a) not in shown]


def gate_key(settings: Settings, llm_model: str, prompt_version: str, data: bytes) -> str:
    digest = hashlib.sha256()
    parts = [llm_model, prompt_version, settings.duplicate_llm_eval_pairs]
    digest.update(json.dumps([*parts, settings.duplicate_threshold, settings.duplicate_llm_band]).encode())
    digest.update(data)
    return digest.hexdigest()[:16]


def second_opinion_on(settings: Settings, pairs: Sequence[LabelledPair]) -> SecondOpinionReport | None:
    """`tasktracker eval-duplicates --model ollama`: matcher + LLM against the matcher alone on `pairs`
    (every close call asked, one at a time per `llm_concurrency`); None when the LLM is not ready."""
    from rich.progress import Progress

    async def run() -> SecondOpinionReport | None:
        judge = LLMDuplicateJudge(settings)
        try:
            if not await judge.ready():
                return None
            with Progress(transient=True) as bar:
                task = bar.add_task("second opinions", total=None)
                return await measure_as_configured(judge, pairs, settings, lambda: bar.advance(task))
        finally:
            await judge.aclose()

    return asyncio.run(run())


def render_second_opinion(report: SecondOpinionReport, console: Console) -> None:
    table = Table(
        title=(
            f"Second opinion of {report.llm_model} ({report.prompt_version}) on close calls "
            f"[{report.band:g}, {report.threshold:g}): {report.asked} asked, {report.said_same} said same, "
            f"{report.errors} failed"
        ),
        title_justify="left",
    )
    for column in ("", "precision", "recall", "linked right / wrong", "across languages: recall"):
        table.add_column(column, justify="left" if not column else "right")
    for name, rates in (("matcher alone", report.alone), ("matcher + LLM", report.with_llm)):
        across = "–" if rates.across_recall is None else f"{rates.across_recall:.3f}"
        table.add_row(
            name,
            f"{rates.precision:.3f}",
            f"{rates.recall:.3f}",
            f"{rates.linked_right} / {rates.linked_wrong}",
            f"{across} (of {report.across_duplicates})",
        )
    console.print(table)
    console.print(f"the gate would say: {'on' if report.enabled else 'off'}: {report.reason}", soft_wrap=True)


# In the worker --------------------------------------------------------------------------------------------


class SecondOpinion(BackgroundDecision):
    """The duplicate judge as the worker uses it: gated, bounded, and never a reason for a job to fail."""

    _task_name = "duplicate-judge-gate"

    def __init__(
        self,
        judge: LLMDuplicateJudge,
        settings: Settings,
        *,
        pairs: Sequence[Path] | None = None,
    ) -> None:
        self.judge = judge
        self.settings = settings
        self.forced = settings.duplicate_llm is DuplicateLLMMode.on
        self.pairs = pairs
        self.report: SecondOpinionReport | None = None
        self.asked = 0
        self.linked = 0
        self.failed = 0
        super().__init__()

    @property
    def enabled(self) -> bool:
        return self.forced or (self.report is not None and self.report.enabled)

    @property
    def status(self) -> str:
        """Whether the LLM judges close calls, and why (readiness, `/api/config`, the log)."""
        if self.report is None:
            if self.forced:
                return f"on (forced by TASKTRACKER_DUPLICATE_LLM=on; {self.judge.name} not measured yet)"
            return f"off until {self.judge.name} is measured on the tuning pairs"
        if self.forced:
            return f"on (forced by TASKTRACKER_DUPLICATE_LLM=on): {self.report.reason}"
        return f"{'on' if self.report.enabled else 'off'}: {self.report.reason}"

    def _decided(self) -> bool:
        return self.report is not None

    async def wait_decided(self) -> SecondOpinionReport | None:
        await self._wait_decided()
        return self.report

    async def _decide(self) -> None:
        judge, settings = self.judge, self.settings
        pairs = dev_slice(tuning_pairs(judge.prompt_text, self.pairs), settings.duplicate_llm_eval_pairs)
        data = "\n".join(f"{p.a}\t{p.b}\t{p.duplicate}" for p in pairs).encode()
        key = gate_key(settings, judge.name, judge.prompt_version, data)
        path = settings.data_dir / "models" / f"dup-judge-{key}.json"
        report = load_cached(path, SecondOpinionReport)
        if report is None:
            if not await judge.ready():
                self._retry_later()
                log.info(
                    "%s is not ready; duplicates are matched without a second opinion meanwhile", judge.name
                )
                return
            log.info("measuring %s as duplicate judge on %d tuning pairs", judge.name, len(pairs))
            try:
                report = await measure_as_configured(judge, pairs, settings)
            except Exception:
                log.exception("measuring the duplicate judge failed")
                self._retry_later()
                return
            save_cached(report, path)
        self.report = report
        level = logging.INFO if report.enabled or self.forced else logging.WARNING
        log.log(level, "duplicate second opinion: %s", self.status)

    async def review(
        self, close_calls: Mapping[int, tuple[str, Sequence[CloseCall]]]
    ) -> dict[int, tuple[int, float]]:
        """For each message id: its text and close calls -> the best-scored task the LLM calls the same
        request, with the matcher's score. All within `duplicate_llm_timeout_s`; what is not answered
        by then, or fails, is no link."""
        self.start()
        if not self.enabled or not close_calls:
            return {}
        limit = self.settings.duplicate_llm_candidates

        async def one(text: str, calls: Sequence[CloseCall]) -> tuple[int, float] | None:
            ranked = sorted(calls, key=lambda call: -call.score)[:limit]
            self.asked += len(ranked)
            answers = await asyncio.gather(
                *(self.judge(c.text, text) for c in ranked), return_exceptions=True
            )
            found = None
            for call, answer in zip(ranked, answers, strict=True):
                if isinstance(answer, BaseException):
                    self.failed += 1
                    DUPLICATE_OPINIONS.labels("failed").inc()
                    log.warning("duplicate judge gave no answer (no link): %s", answer)
                else:
                    DUPLICATE_OPINIONS.labels("same" if answer else "different").inc()
                    if answer and found is None:
                        self.linked += 1
                        found = call.task_id, call.score
            return found

        started = time.perf_counter()
        jobs = {m: asyncio.ensure_future(one(text, calls)) for m, (text, calls) in close_calls.items()}
        done, pending = await asyncio.wait(jobs.values(), timeout=self.settings.duplicate_llm_timeout_s)
        for job in pending:
            job.cancel()
        if pending:
            self.failed += len(pending)
            DUPLICATE_OPINIONS.labels("late").inc(len(pending))
            log.warning(
                "duplicate judge: %d message(s) not answered within %.0f s (no link)",
                len(pending),
                self.settings.duplicate_llm_timeout_s,
            )
            await asyncio.gather(*pending, return_exceptions=True)
        opinions = {}
        for message_id, job in jobs.items():
            if job in done and not job.cancelled() and job.exception() is None and (found := job.result()):
                opinions[message_id] = found
        log.debug(
            "duplicate judge: %d link(s) in %.0f ms", len(opinions), (time.perf_counter() - started) * 1000
        )
        return opinions

    async def aclose(self) -> None:
        self._stop_deciding()
        await self.judge.aclose()


def build_second_opinion(
    settings: Settings, semaphore: asyncio.Semaphore | None = None
) -> SecondOpinion | None:
    """The judge the worker uses, or None: off, or no LLM configured and not forced on."""
    if not settings.duplicate_llm_wanted:
        return None
    return SecondOpinion(LLMDuplicateJudge(settings, semaphore), settings)
