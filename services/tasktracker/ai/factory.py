"""Build the configured classifier chain: the built-in model, with Ollama in front when configured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tasktracker.ai.base import Classifier
from tasktracker.classification.schemas import Classification
from tasktracker.config import Settings

if TYPE_CHECKING:
    from tasktracker.ai.builtin import LabelledExample


class SwappableClassifier:
    """Delegates to a classifier that can be replaced at run time (the built-in model after a retrain)."""

    def __init__(self, inner: Classifier) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    async def classify(self, text: str) -> Classification:
        return await self.inner.classify(text)

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
    from tasktracker.ai.chain import build_classifier as build_chain

    builtin = SwappableClassifier(
        BuiltinClassifier.load_or_train(settings.data_dir, extra, settings.builtin_model_seed_dir)
    )
    return ClassifierSet(chain=build_chain(settings, builtin), builtin=builtin)


def build_classifier(settings: Settings) -> Classifier:
    return build_classifiers(settings).chain
