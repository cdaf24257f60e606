"""The open tasks a new message may repeat, per channel, kept prepared in the worker between batches.

Duplicate matching compares each actionable message with up to 200 open tasks of its channel. Reading
their texts and preparing them for every message (the single-message path, `service._task_for`) is
most of a classification's cost; here each task is prepared once (`duplicate_index.Prepared`), keyed
by its id and `updated_at` (every change of a task's text, status or merge bumps it), and each batch
asks the database only which tasks are the candidates now: one narrow query per channel per batch
(ids and versions, in `open_candidates`' order), plus the texts of the tasks not seen before or
changed since. Tasks another worker made are read like any other; closed, merged or deleted ones
leave the listing and the cache. The database stays the truth: nothing here is trusted without the
listing of the batch's own transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.classification import duplicates
from tasktracker.classification.duplicate_index import CandidateSet, Prepared
from tasktracker.classification.schemas import Category
from tasktracker.config import Settings
from tasktracker.db import utcnow
from tasktracker.tasks import service as tasks_service

CANDIDATES = 200  # as many as `tasks.repository.open_candidates` gives the single-message path
# Any actionable category: see `service._task_for`.
CATEGORIES = [category.value for category in Category if category is not Category.noise]


@dataclass
class _Channel:
    listing: list[tuple[int, datetime]] = field(default_factory=list)
    prepared: dict[int, tuple[datetime, Prepared]] = field(default_factory=dict)
    candidates: CandidateSet = field(default_factory=lambda: CandidateSet([]))


class OpenTasks:
    """Per process: each channel's open tasks, prepared for matching, refreshed once per batch."""

    def __init__(self) -> None:
        self._channels: dict[int | None, _Channel] = {}
        self.texts_read = 0  # tasks whose text was read (tests, metrics)

    async def matcher(self, session: AsyncSession, settings: Settings, channel_id: int | None) -> Matcher:
        """The candidates of a channel as of now (in the caller's transaction)."""
        since = utcnow() - timedelta(hours=settings.duplicate_window_h)
        listing = await tasks_service.open_candidate_versions(session, channel_id, CATEGORIES, since)
        channel = self._channels.setdefault(channel_id, _Channel())
        if listing != channel.listing:
            stale = [
                task_id
                for task_id, version in listing
                if channel.prepared.get(task_id, (None,))[0] != version
            ]
            texts = await tasks_service.candidate_texts(session, stale)
            self.texts_read += len(texts)
            prepared = {}
            for task_id, version in listing:
                if task_id in texts:
                    prepared[task_id] = (version, Prepared.of(texts[task_id]))
                elif task_id in channel.prepared:
                    prepared[task_id] = channel.prepared[task_id]
            # A task gone between the two reads is left out, as if it had closed a moment earlier.
            ordered = [(task_id, prepared[task_id][1]) for task_id, _ in listing if task_id in prepared]
            channel.listing, channel.prepared = listing, prepared
            channel.candidates = CandidateSet(ordered)
        return Matcher(channel.candidates)

    def made(self, channel_id: int | None, task_id: int, version: datetime, text: str) -> None:
        """A task this process has just made (in a unit not yet committed): prepared now, so the next
        listing that shows it at this version needs no read of its text. Until a listing shows it, it
        is never a candidate, so a unit that rolls back leaves nothing wrong behind."""
        channel = self._channels.setdefault(channel_id, _Channel())
        channel.prepared[task_id] = (version, Prepared.of(text))

    def forget(self) -> None:
        self._channels.clear()


class Matcher:
    """One batch's view of a channel's candidates: the listing, plus the tasks the batch itself made
    (newest first, as `open_candidates` would list them after their INSERTs)."""

    def __init__(self, candidates: CandidateSet) -> None:
        self.candidates = candidates
        self.new: list[tuple[int, duplicates.Text]] = []

    def best_match(self, text: str, threshold: float) -> tuple[int, float] | None:
        rows = max(0, CANDIDATES - len(self.new))
        return self.candidates.best_match(text, threshold, first=self.new[:CANDIDATES], rows=rows)

    def close_calls(self, text: str, low: float, threshold: float, limit: int) -> list[tuple[int, float]]:
        """The open tasks (not this batch's) `text` comes near without reaching `threshold`: see
        `duplicates.close_calls`."""
        return self.candidates.close_calls(text, low, threshold, limit, rows=CANDIDATES)

    def lists(self, task_id: int) -> bool:
        """Whether the task is among this batch's candidates (open, in the window) as of now."""
        return task_id in self.candidates.ids or any(task_id == new_id for new_id, _ in self.new)

    def add(self, task_id: int, text: str) -> None:
        self.new.insert(0, (task_id, duplicates.prepared(text)))
