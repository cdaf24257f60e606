"""The classifier the worker uses: the LLM first, the built-in model when the LLM cannot answer.

`FallbackClassifier` retries a transient LLM failure (timeout, 5xx) with a short exponential backoff,
then answers with the fallback classifier and marks the result: its `model` becomes
`"<fallback model>+fallback"` (e.g. `builtin-ab12+fallback`), and the reason is logged and kept in
`last_fallback_reason`/`fallbacks`.

A circuit breaker keeps a dead Ollama from adding latency to every message: after `breaker_threshold`
consecutive failures (at once when the server refuses connections or lacks the model) the LLM is skipped
for `breaker_cooldown_s`. Then one message probes: a cheap `ready()` check, and if that passes, one real
LLM call (no retries) that closes the breaker on success or reopens it on failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from enum import StrEnum

from tasktracker import telemetry
from tasktracker.ai.base import FALLBACK_SUFFIX, Classifier
from tasktracker.ai.llm import LLMError, LLMInvalidOutput, OllamaClassifier
from tasktracker.classification.schemas import Classification
from tasktracker.config import ClassifierMode, Settings

log = logging.getLogger(__name__)

__all__ = ["FALLBACK_SUFFIX", "BreakerState", "CircuitBreaker", "FallbackClassifier", "build_classifier"]


class BreakerState(StrEnum):
    closed = "closed"  # use the LLM
    open = "open"  # skip the LLM until the cool-down ends
    half_open = "half_open"  # one probe is in flight; everyone else uses the fallback


class CircuitBreaker:
    """Counts consecutive LLM failures and says whether the next message may use the LLM."""

    def __init__(
        self,
        *,
        threshold: int = 3,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        start_open: bool = False,
        quiet: bool = False,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.failures = 0
        self.state = BreakerState.closed
        # Auto mode: an absent LLM is expected, so opening is worth an info line, not a warning.
        self._open_level = logging.INFO if quiet else logging.WARNING
        # Opened "a cool-down ago": the first message probes at once instead of waiting.
        self._opened_at = clock() - cooldown_s if start_open else 0.0
        if start_open:
            self.state = BreakerState.open

    def acquire(self) -> BreakerState:
        """`closed`: call the LLM; `half_open`: this caller probes; `open`: skip the LLM."""
        if self.state is BreakerState.closed:
            return BreakerState.closed
        if self.state is BreakerState.open and self._clock() - self._opened_at >= self.cooldown_s:
            self.state = BreakerState.half_open
            return BreakerState.half_open
        return BreakerState.open

    def record_success(self) -> None:
        if self.state is not BreakerState.closed:
            log.info("LLM answered again; circuit breaker closed")
        self.failures = 0
        self.state = BreakerState.closed

    def record_failure(self, *, trip: bool = False) -> None:
        self.failures += 1
        if trip or self.state is BreakerState.half_open or self.failures >= self.threshold:
            self.open()

    def open(self) -> None:
        if self.state is not BreakerState.open:
            log.log(self._open_level, "circuit breaker open: skipping the LLM for %.0f s", self.cooldown_s)
        self.state = BreakerState.open
        self._opened_at = self._clock()

    def release_probe(self) -> None:
        """A probe ended without a verdict (e.g. cancelled): let a later message probe again."""
        if self.state is BreakerState.half_open:
            self.state = BreakerState.open
            self._opened_at = self._clock() - self.cooldown_s


class FallbackClassifier:
    """`primary` (the LLM) with retries and a circuit breaker, falling back to `fallback`."""

    def __init__(
        self,
        primary: Classifier,
        fallback: Classifier,
        *,
        retries: int = 1,
        backoff_s: float = 0.25,
        backoff_max_s: float = 2.0,
        timeout_s: float | None = None,
        probe_timeout_s: float = 2.0,
        breaker: CircuitBreaker | None = None,
        mark_fallback: bool = True,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = f"{primary.name}>{fallback.name}"
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.timeout_s = timeout_s
        self.probe_timeout_s = probe_timeout_s
        self.breaker = breaker or CircuitBreaker()
        self.last_fallback_reason: str | None = None
        self.fallbacks: Counter[str] = Counter()
        # In auto mode the built-in model is a normal answer, not a degraded one: leave its name as is.
        self.mark_fallback = mark_fallback

    async def classify(self, text: str) -> Classification:
        started = time.perf_counter()
        state = self.breaker.acquire()
        if state is BreakerState.open:
            return await self._fall_back(text, "breaker open", started)
        if state is BreakerState.half_open:
            try:
                probe_ok = await asyncio.wait_for(self.primary.ready(), self.probe_timeout_s)
            except asyncio.CancelledError:
                self.breaker.release_probe()
                raise
            except Exception:
                probe_ok = False
            if not probe_ok:
                self.breaker.open()
                return await self._fall_back(text, "not ready", started)
        attempts = 1 if state is BreakerState.half_open else 1 + self.retries
        try:
            result, reason = await self._try_primary(text, attempts)
        except asyncio.CancelledError:
            self.breaker.release_probe()
            raise
        if result is not None:
            return result
        return await self._fall_back(text, reason, started)

    async def _try_primary(self, text: str, attempts: int) -> tuple[Classification | None, str]:
        reason = "error"
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)))
            transient = False
            try:
                with telemetry.span(
                    "classifier.llm",
                    {"classifier.model": self.primary.name, "classifier.attempt": attempt + 1},
                ):
                    if self.timeout_s is None:
                        result = await self.primary.classify(text)
                    else:
                        result = await asyncio.wait_for(self.primary.classify(text), self.timeout_s)
            except LLMInvalidOutput as exc:
                # The server answered; the answer was unusable. Not an availability problem, and the
                # agent has already retried, so fall back for this message only.
                log.warning("LLM gave no valid classification: %s", exc)
                self.breaker.record_success()
                return None, exc.reason
            except LLMError as exc:
                reason, transient = exc.reason, exc.transient
                log.warning("LLM attempt %d/%d failed (%s): %s", attempt + 1, attempts, reason, exc)
                self.breaker.record_failure(trip=exc.trips_breaker)
            except TimeoutError:
                reason, transient = "timeout", True
                log.warning("LLM attempt %d/%d timed out after %s s", attempt + 1, attempts, self.timeout_s)
                self.breaker.record_failure()
            except Exception:
                reason = "error"
                log.exception("LLM attempt %d/%d failed unexpectedly", attempt + 1, attempts)
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
                return result, ""
            if not transient or self.breaker.state is BreakerState.open:
                break
        return None, reason

    async def _fall_back(self, text: str, reason: str, started: float) -> Classification:
        self.last_fallback_reason = reason
        self.fallbacks[reason] += 1
        telemetry.annotate({"classifier.fallback_reason": reason})
        result = await self.fallback.classify(text)
        return result.model_copy(
            update={
                "model": result.model + FALLBACK_SUFFIX if self.mark_fallback else result.model,
                "latency_ms": (time.perf_counter() - started) * 1000,
            }
        )

    async def ready(self) -> bool:
        """The chain can answer whenever the fallback can."""
        return await self.fallback.ready()

    async def aclose(self) -> None:
        for classifier in (self.primary, self.fallback):
            close = getattr(classifier, "aclose", None)
            if close is not None:
                await close()


def build_llm_classifier(settings: Settings) -> OllamaClassifier:
    """The LLM classifier alone (for `tasktracker eval --model ollama`)."""
    return OllamaClassifier(settings)


def build_classifier(settings: Settings, builtin: Classifier) -> Classifier:
    """The configured classifier: `builtin`, or the LLM chain behind the champion/challenger gate
    (`champion.ChampionClassifier`: in auto mode the LLM answers only once it has beaten `builtin` on
    dev; in ollama mode it always answers; both derive its confidence from agreement with `builtin`)."""
    if settings.classifier is ClassifierMode.builtin:
        return builtin
    from tasktracker.ai.champion import ChampionClassifier

    chain = build_fallback_chain(settings, builtin)
    return ChampionClassifier(
        chain,
        chain.primary,
        builtin,
        settings,
        force_llm=settings.classifier is ClassifierMode.ollama,
    )


def build_fallback_chain(settings: Settings, builtin: Classifier) -> FallbackClassifier:
    """The LLM with `builtin` as fallback; does no I/O (the first message probes Ollama in auto mode).

    - ollama: breaker closed (the LLM is expected to work);
    - auto: the same, but the breaker starts open with its cool-down over, so the first message makes
      the cheap `ready()` check (a refused connection costs a millisecond) and, without Ollama, the
      LLM is skipped until the next probe a cool-down later.
    """
    primary = build_llm_classifier(settings)
    auto = settings.classifier is ClassifierMode.auto
    breaker = CircuitBreaker(start_open=auto, quiet=auto)
    return FallbackClassifier(
        primary,
        builtin,
        timeout_s=settings.llm_wait_timeout_s,
        breaker=breaker,
        mark_fallback=settings.classifier is ClassifierMode.ollama,
    )
