"""The interface every classifier implements."""

from typing import Protocol, runtime_checkable

from tasktracker.classification.schemas import Classification

# The mark on a result the fallback model gave because the LLM could not answer (ai/chain.py). Here, so
# that code reading results needs no import of the LLM client (pydantic-ai, openai: ~1 s and ~40 MB).
FALLBACK_SUFFIX = "+fallback"


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
