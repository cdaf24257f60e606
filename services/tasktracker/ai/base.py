"""The interface every classifier implements."""

from typing import Protocol, runtime_checkable

from tasktracker.classification.schemas import Classification


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
