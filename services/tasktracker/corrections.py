"""The correction loop: people's category/priority changes become training data for the built-in model."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tasktracker.classification.schemas import Category, Priority
from tasktracker.config import Settings
from tasktracker.metrics import RETRAINS
from tasktracker.tasks import service as tasks_service

if TYPE_CHECKING:
    from tasktracker.ai.builtin import LabelledExample
    from tasktracker.ai.factory import SwappableClassifier

log = logging.getLogger(__name__)

CORRECTION_WEIGHT = 3.0  # a person's decision outweighs a row of the shipped training set


async def examples(session: AsyncSession) -> list[LabelledExample]:
    from tasktracker.ai.builtin import LabelledExample

    return [
        LabelledExample(
            text=c.text,
            category=Category(c.category),
            priority=Priority(c.priority),
            actionable=c.actionable,
            weight=CORRECTION_WEIGHT,
        )
        for c in await tasks_service.corrections(session)
    ]


async def load_corrections(settings: Settings) -> list[LabelledExample]:
    """All stored corrections, for `tasktracker retrain`."""
    from tasktracker.db import create_engine, create_sessionmaker

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await examples(session)
    finally:
        await engine.dispose()


class Retrainer:
    """Retrains the built-in model in the background once `retrain_every` new corrections have come in."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], target: SwappableClassifier
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.target = target
        self.trained_on = 0
        self._running: asyncio.Task[None] | None = None

    async def initialise(self) -> None:
        """Bring the model up to date with corrections stored before this process started."""
        async with self.sessions() as session:
            extra = await examples(session)
        if extra:
            await self._retrain(extra)
        self.trained_on = len(extra)

    async def maybe_retrain(self) -> bool:
        """Start a background retrain when enough corrections came in (one COUNT to find out)."""
        every = self.settings.retrain_every
        if every <= 0 or (self._running is not None and not self._running.done()):
            return False
        async with self.sessions() as session:
            count = await tasks_service.count_corrections(session)
        if count - self.trained_on < every:
            return False
        self._running = asyncio.create_task(self._retrain_latest(), name="retrain-builtin")
        return True

    async def wait(self) -> None:
        if self._running is not None:
            await self._running

    async def _retrain_latest(self) -> None:
        try:
            async with self.sessions() as session:
                extra = await examples(session)
            await self._retrain(extra)
            self.trained_on = len(extra)
            RETRAINS.labels("ok").inc()
        except Exception:
            RETRAINS.labels("failed").inc()
            log.exception("retraining the built-in model failed; keeping the current one")

    async def _retrain(self, extra: list[LabelledExample]) -> None:
        from tasktracker.ai.builtin import BuiltinClassifier

        model = await asyncio.to_thread(BuiltinClassifier.load_or_train, self.settings.data_dir, extra)
        self.target.swap(model)
        log.info("built-in model now trained with %d correction(s): %s", len(extra), model.name)
