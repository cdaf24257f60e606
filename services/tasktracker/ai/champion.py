"""Champion/challenger: the LLM replaces the built-in model only where it has beaten it on dev.

A model's self-reported confidence is not calibrated (a 135M model says 1.0 to everything), and a weak
model configured in `auto` mode would silently give worse triage than the built-in model. So, at the
first use (a worker's first readiness check or message) and whenever the model or the prompt version
changes, `ChampionClassifier` runs a *duel*: the LLM and the built-in model classify the same
`settings.llm_eval_examples` rows of the bundled dev set (a stratified slice, bounded in time by the
LLM's own timeouts), and the result is cached under `<data_dir>/models/llm-duel-<key>.json`, keyed by
the model name, the prompt version, the dev data and the slice size.

- `auto`: the built-in model answers until the duel is decided, and afterwards unless the LLM's
  category macro-F1 beat the built-in model's. The reason is logged, shown in readiness and
  `/api/config` (`status`).
- `ollama`: the LLM is used whatever the duel says (for people who know their model); the duel still
  runs, for the confidence below.

Confidence of an LLM answer is *derived*, not taken from the model: the built-in model classifies the
same message (sub-millisecond), and the confidence is the LLM's category accuracy on dev among the
duel rows where the two agreed; a disagreement is capped below the review threshold, so a person sees
it. Before a duel is decided, an agreeing answer gets the built-in model's own confidence.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel
from sklearn.metrics import f1_score

from tasktracker.ai.base import Classifier, classify_all
from tasktracker.ai.builtin import LabelledExample, bundled_data, read_examples
from tasktracker.classification.schemas import Classification
from tasktracker.config import Settings

log = logging.getLogger(__name__)

_Cached = TypeVar("_Cached", bound=BaseModel)
_Row = TypeVar("_Row")
MAX_ERROR_SHARE = 0.1  # an LLM that fails more calls than this on dev has not proven itself
RETRY_AFTER_S = 300.0  # an undecided duel (LLM unreachable) is tried again this much later


class Duel(BaseModel):
    """The cached result of one duel on dev."""

    llm_model: str
    prompt_version: str | None
    builtin_model: str
    examples: int
    errors: int
    llm_macro_f1: float
    builtin_macro_f1: float
    agreement: float  # share of rows where both chose the same category
    llm_accuracy_when_agreeing: float | None
    llm_accuracy_when_disagreeing: float | None
    llm_wins: bool
    reason: str


def dev_slice(examples: Sequence[_Row], size: int) -> list[_Row]:
    """At most `size` rows spread evenly over the file (dev is grouped by category and language)."""
    if len(examples) <= size:
        return list(examples)
    step = len(examples) / size
    return [examples[int(i * step)] for i in range(size)]


def duel_key(llm_model: str, prompt_version: str | None, data: bytes, size: int) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([llm_model, prompt_version, size]).encode())
    digest.update(data)
    return digest.hexdigest()[:16]


async def run_duel(
    llm: Classifier,
    builtin: Classifier,
    examples: Sequence[LabelledExample],
    *,
    llm_model: str,
    prompt_version: str | None,
    concurrency: int = 2,
) -> Duel | None:
    """Both classifiers on `examples`; None when the LLM answered none of them (try again later)."""
    gate = asyncio.Semaphore(concurrency)

    async def ask(example: LabelledExample) -> Classification | None:
        async with gate:
            try:
                return await llm.classify(example.text)
            except Exception as exc:  # counted; one failed call does not end the duel
                log.debug("duel: LLM call failed: %s", exc)
                return None

    llm_results = await asyncio.gather(*(ask(example) for example in examples))
    builtin_results = [await builtin.classify(example.text) for example in examples]
    answered = [
        (example, mine, theirs)
        for example, mine, theirs in zip(examples, llm_results, builtin_results, strict=True)
        if mine is not None
    ]
    if not answered:
        return None
    errors = len(examples) - len(answered)
    truth = [example.category.value for example in examples]
    # A failed LLM call counts as a wrong answer, so an unreliable model cannot win by skipping.
    llm_labels = [result.category.value if result else "(failed)" for result in llm_results]
    builtin_labels = [result.category.value for result in builtin_results]
    labels = sorted(set(truth))
    llm_f1 = float(f1_score(truth, llm_labels, labels=labels, average="macro", zero_division=0))
    builtin_f1 = float(f1_score(truth, builtin_labels, labels=labels, average="macro", zero_division=0))
    agreeing = [
        e.category is mine.category for e, mine, theirs in answered if mine.category is theirs.category
    ]
    disagreeing = [
        e.category is mine.category for e, mine, theirs in answered if mine.category is not theirs.category
    ]
    wins = llm_f1 > builtin_f1 and errors <= MAX_ERROR_SHARE * len(examples)
    if wins:
        reason = f"{llm_model} beat the built-in model on dev (macro-F1 {llm_f1:.3f} vs {builtin_f1:.3f})"
    elif errors > MAX_ERROR_SHARE * len(examples):
        reason = f"{llm_model} failed {errors} of {len(examples)} dev calls"
    else:
        reason = (
            f"{llm_model} did not beat the built-in model on dev "
            f"(macro-F1 {llm_f1:.3f} vs {builtin_f1:.3f}, n={len(examples)})"
        )
    return Duel(
        llm_model=llm_model,
        prompt_version=prompt_version,
        builtin_model=builtin.name,
        examples=len(examples),
        errors=errors,
        llm_macro_f1=llm_f1,
        builtin_macro_f1=builtin_f1,
        agreement=len(agreeing) / len(answered),
        llm_accuracy_when_agreeing=sum(agreeing) / len(agreeing) if agreeing else None,
        llm_accuracy_when_disagreeing=sum(disagreeing) / len(disagreeing) if disagreeing else None,
        llm_wins=wins,
        reason=reason,
    )


def load_cached(path: Path, kind: type[_Cached]) -> _Cached | None:
    """A cached measurement (a duel, the duplicate judge's gate), or None when absent or unreadable."""
    try:
        return kind.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable cached result %s: %s", path, exc)
        return None


def save_cached(result: BaseModel, path: Path) -> None:
    """Write a measurement atomically; a read-only data dir only means it is measured again next start."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(result.model_dump_json(indent=2))
        os.replace(temp, path)
    except OSError as exc:
        log.warning("could not cache the result at %s: %s", path, exc)


class BackgroundDecision:
    """Whether to trust an LLM, decided once in the background (from the cache when it is there): the
    dev duel of the classifier, the gate of the duplicate judge. `start` is idempotent and cheap (each
    classification or group calls it); a decision that could not be made (the LLM unreachable) is tried
    again `RETRY_AFTER_S` later."""

    _task_name = "llm-decision"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._retry_at = 0.0

    def _decided(self) -> bool:
        raise NotImplementedError

    async def _decide(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Decide in the background; nothing to do once decided, while deciding or before the retry."""
        loop = asyncio.get_running_loop()
        if self._decided() or (self._task is not None and not self._task.done()):
            return
        if loop.time() < self._retry_at:
            return
        self._task = loop.create_task(self._decide(), name=self._task_name)

    async def _wait_decided(self) -> None:
        self.start()
        if self._task is not None:
            await asyncio.shield(self._task)

    def _retry_later(self) -> None:
        self._retry_at = asyncio.get_running_loop().time() + RETRY_AFTER_S

    def _stop_deciding(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class ChampionClassifier(BackgroundDecision):
    """The LLM chain in front of the built-in model, trusted only as far as the dev duel allows."""

    _task_name = "llm-duel"

    def __init__(
        self,
        chain: Classifier,
        llm: Classifier,
        builtin: Classifier,
        settings: Settings,
        *,
        force_llm: bool,
        dev: Path | None = None,
    ) -> None:
        self.chain = chain  # the LLM with its retries, breaker and fallback
        self.llm = llm  # the bare LLM, for the duel
        self.builtin = builtin
        self.settings = settings
        self.force_llm = force_llm
        self.dev = dev or bundled_data("dev.jsonl")
        self.llm_model = getattr(llm, "name", "llm")
        self.prompt_version: str | None = getattr(llm, "prompt_version", None)
        self.duel: Duel | None = None
        super().__init__()

    @property
    def name(self) -> str:
        return self.chain.name if self.uses_llm else self.builtin.name

    @property
    def uses_llm(self) -> bool:
        return self.force_llm or (self.duel is not None and self.duel.llm_wins)

    @property
    def in_process(self) -> bool:
        """Whether a call now is answered from this process's CPU alone: while the built-in model
        answers (the duel undecided or lost; the duel itself runs in the background). It may turn
        False once a duel is decided: see `worker/batch.py`, which asks again before classifying."""
        return not self.uses_llm and bool(getattr(self.builtin, "in_process", False))

    @property
    def status(self) -> str:
        """Which model answers and why (readiness, `/api/config`, the log)."""
        if self.duel is None:
            if self.force_llm:
                return f"{self.llm_model} (forced by TASKTRACKER_CLASSIFIER=ollama; dev duel not decided yet)"
            return f"built-in model until {self.llm_model} is measured on dev"
        if self.force_llm:
            return f"{self.llm_model} (forced by TASKTRACKER_CLASSIFIER=ollama): {self.duel.reason}"
        return f"{'LLM' if self.duel.llm_wins else 'built-in model'}: {self.duel.reason}"

    def _decided(self) -> bool:
        return self.duel is not None

    async def wait_decided(self) -> Duel | None:
        await self._wait_decided()
        return self.duel

    async def _decide(self) -> None:
        data = self.dev.read_bytes()
        size = self.settings.llm_eval_examples
        path = (
            self.settings.data_dir
            / "models"
            / (f"llm-duel-{duel_key(self.llm_model, self.prompt_version, data, size)}.json")
        )
        duel = load_cached(path, Duel)
        if duel is None:
            if not await self.llm.ready():
                self._retry_later()
                log.info("%s is not ready; the built-in model answers meanwhile", self.llm_model)
                return
            log.info("measuring %s against the built-in model on %d dev rows", self.llm_model, size)
            try:
                duel = await run_duel(
                    self.llm,
                    self.builtin,
                    dev_slice(read_examples(self.dev), size),
                    llm_model=self.llm_model,
                    prompt_version=self.prompt_version,
                    concurrency=self.settings.llm_concurrency,
                )
            except Exception:
                log.exception("the dev duel failed")
                duel = None
            if duel is None:
                self._retry_later()
                log.info("%s answered no dev row; built-in model meanwhile, retry later", self.llm_model)
                return
            save_cached(duel, path)
        self.duel = duel
        level = logging.INFO if duel.llm_wins or self.force_llm else logging.WARNING
        log.log(level, "classifier choice: %s", self.status)

    async def classify(self, text: str) -> Classification:
        self.start()
        if not self.uses_llm:
            return await self.builtin.classify(text)
        result = await self.chain.classify(text)
        if not result.model.startswith(self.llm_model):
            return result  # the fallback answered: its confidence is already the built-in model's
        reference = await self.builtin.classify(text)
        return result.model_copy(update={"confidence": self._derived_confidence(result, reference)})

    async def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """The built-in model's one vectorised call while it answers; else `classify` per text (the LLM
        chain, concurrently: one text that fails raises here, and `classify_each` then asks one by one)."""
        self.start()
        if not self.uses_llm:
            return await classify_all(self.builtin, texts)
        return list(await asyncio.gather(*(self.classify(text) for text in texts)))

    def _derived_confidence(self, result: Classification, reference: Classification) -> float:
        agree = result.category is reference.category
        duel = self.duel
        measured = None
        if duel is not None:
            measured = duel.llm_accuracy_when_agreeing if agree else duel.llm_accuracy_when_disagreeing
        if not agree:
            # A disagreement always goes to a person: capped below the review threshold.
            return min(measured or 0.0, self.settings.review_threshold * 0.99)
        return measured if measured is not None else reference.confidence

    async def ready(self) -> bool:
        self.start()
        return await self.builtin.ready()

    async def aclose(self) -> None:
        self._stop_deciding()
        close = getattr(self.chain, "aclose", None)
        if close is not None:
            await close()
