"""The interface every classifier implements."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol, cast, runtime_checkable

from tasktracker.classification.schemas import Classification

# The mark on a result the fallback model gave because the LLM could not answer (ai/chain.py). Here, so
# that code reading results needs no import of the LLM client (pydantic-ai, openai: ~1 s and ~40 MB).
FALLBACK_SUFFIX = "+fallback"

log = logging.getLogger(__name__)


class ClassifierError(Exception):
    """A classifier could not produce a valid classification."""


@runtime_checkable
class Classifier(Protocol):
    """Anything that turns a message text into a :class:`Classification`."""

    @property
    def name(self) -> str: ...

    async def classify(self, text: str) -> Classification: ...

    async def ready(self) -> bool:
        """True when the classifier can answer now (used by readiness checks)."""
        ...


@runtime_checkable
class BatchClassifier(Protocol):
    """A classifier that does many texts at once better than one by one (the built-in model)."""

    async def classify_many(self, texts: Sequence[str]) -> list[Classification]: ...


async def classify_each(classifier: Classifier, texts: Sequence[str]) -> list[Classification | Exception]:
    """Classify many texts; per text its result, or the exception that text alone raised.

    `classify_many` when the classifier has it (one call for all); otherwise, and when that call
    fails, `classify` per text, concurrently (an LLM bounds its own concurrency), so one text that
    cannot be classified costs only itself.
    """
    if not texts:
        return []
    if isinstance(classifier, BatchClassifier):
        try:
            results = await classifier.classify_many(texts)
            if len(results) == len(texts):
                return list(results)
            log.warning("classify_many gave %d results for %d texts; one by one", len(results), len(texts))
        except Exception:
            log.warning("classifying %d texts at once failed; one by one", len(texts), exc_info=True)
    answers = await asyncio.gather(*(classifier.classify(text) for text in texts), return_exceptions=True)
    for answer in answers:
        if isinstance(answer, BaseException) and not isinstance(answer, Exception):
            raise answer  # cancelled: not a failure of one text
    return cast("list[Classification | Exception]", answers)


async def classify_all(classifier: Classifier, texts: Sequence[str]) -> list[Classification]:
    """`classify_many` when the classifier has it, else `classify` per text; raises on any failure."""
    if isinstance(classifier, BatchClassifier):
        return await classifier.classify_many(texts)
    return list(await asyncio.gather(*(classifier.classify(text) for text in texts)))
