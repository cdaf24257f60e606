"""Build the configured classifier chain: the built-in model, with Ollama in front when configured."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasktracker.ai.base import Classifier, classify_all
from tasktracker.classification.schemas import Classification
from tasktracker.config import ClassifierMode, Settings

if TYPE_CHECKING:
    from tasktracker.ai.builtin import LabelledExample


class SwappableClassifier:
    """Delegates to a classifier that can be replaced at run time (the built-in model after a retrain)."""

    def __init__(self, inner: Classifier) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def in_process(self) -> bool:
        """Whether the classifier answers from this process's CPU alone (`BuiltinClassifier`)."""
        return bool(getattr(self.inner, "in_process", False))

    async def classify(self, text: str) -> Classification:
        return await self.inner.classify(text)

    async def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        return await classify_all(self.inner, texts)

    async def ready(self) -> bool:
        return await self.inner.ready()

    def swap(self, inner: Classifier) -> None:
        self.inner = inner


@dataclass
class ClassifierSet:
    chain: Classifier
    builtin: SwappableClassifier


def build_classifiers(settings: Settings, extra: Sequence[LabelledExample] = ()) -> ClassifierSet:
    from tasktracker.ai.builtin import BuiltinClassifier

    builtin = SwappableClassifier(
        BuiltinClassifier.load_or_train(settings.data_dir, extra, settings.builtin_model_seed_dir)
    )
    if settings.classifier is ClassifierMode.builtin:  # no LLM client to import (pydantic-ai: ~40 MB)
        return ClassifierSet(chain=builtin, builtin=builtin)
    from tasktracker.ai.chain import build_classifier as build_chain

    return ClassifierSet(chain=build_chain(settings, builtin), builtin=builtin)


def build_classifier(settings: Settings) -> Classifier:
    return build_classifiers(settings).chain


class DeferredClassifier:
    """The API process's classifier: nothing is loaded until the first `POST /api/classify`.

    The API stores messages; workers classify them. Loading the built-in model (scikit-learn, ~100 MB
    resident) and the LLM client (pydantic-ai) in every API replica for an endpoint few call is what
    made an idle API weigh 276 MB (issue 13). Until then it names the configured mode and reports ready:
    readiness is about what the API does, and the first call loads (from the model cache) in about a
    second.
    """

    def __init__(self, settings: Settings, load: Callable[[], Awaitable[Classifier]]) -> None:
        self.settings = settings
        self._load = load
        self._inner: Classifier | None = None
        self._loading: asyncio.Lock = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    @property
    def name(self) -> str:
        return self._inner.name if self._inner is not None else self.settings.classifier.value

    @property
    def status(self) -> str | None:
        if self._inner is None:
            return "not loaded in the API process (workers classify; loaded by the first /api/classify)"
        return getattr(self._inner, "status", None)

    async def classify(self, text: str) -> Classification:
        return await (await self._get()).classify(text)

    async def _get(self) -> Classifier:
        if self._inner is None:
            async with self._loading:
                if self._inner is None:
                    self._inner = await self._load()
        return self._inner

    async def ready(self) -> bool:
        return True if self._inner is None else await self._inner.ready()

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()
