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
from tasktracker.classification.duplicate_index import CandidateSet, CandidateView, Prepared
from tasktracker.classification.schemas import Category
from tasktracker.config import Settings
from tasktracker.db import utcnow
from tasktracker.tasks import service as tasks_service

CANDIDATES = 200  # as many as `tasks.repository.open_candidates` gives the single-message path
# Tasks listed since a channel's `CandidateSet` was built are scored one by one in front of it until
# that costs more than building the set again: ~20 us a task and message against ~6 us a task.
_SCORE_US, _STACK_US, _MOST_IN_FRONT = 20, 6, 32
# Any actionable category: see `service._task_for`.
CATEGORIES = [category.value for category in Category if category is not Category.noise]


@dataclass
class _Channel:
    listing: list[tuple[int, datetime]] = field(default_factory=list)
    prepared: dict[int, tuple[datetime, str, Prepared]] = field(default_factory=dict)  # version, text
    candidates: CandidateSet = field(default_factory=lambda: CandidateSet([]))
    view: CandidateView | None = None


def front_limit(listed: int, uses: int) -> int:
    """How many tasks may be scored in front of a set for `uses` messages before building it anew
    is the cheaper: a group of one keeps the set for many groups, a large group builds it."""
    return min(_MOST_IN_FRONT, listed * _STACK_US // (_SCORE_US * max(uses, 1)))


class OpenTasks:
    """Per process: each channel's open tasks, prepared for matching, refreshed once per batch."""

    def __init__(self) -> None:
        self._channels: dict[int | None, _Channel] = {}
        self.texts_read = 0  # tasks whose text was read (tests, metrics)

    async def matcher(
        self, session: AsyncSession, settings: Settings, channel_id: int | None, uses: int = 1
    ) -> Matcher:
        """The candidates of a channel as of now (in the caller's transaction), for `uses` messages.

        A task whose version changed but not its text (a message linked to it, its status moved within
        the open ones) keeps its preparation, and so its row: most listings differ from the last one
        only by the tasks made since, which are scored in front of the channel's set (`front_limit`)
        rather than stacking all of them again."""
        since = utcnow() - timedelta(hours=settings.duplicate_window_h)
        listing = await tasks_service.open_candidate_versions(session, channel_id, CATEGORIES, since)
        channel = self._channel(channel_id)
        if listing != channel.listing or channel.view is None:
            stale = [
                task_id
                for task_id, version in listing
                if channel.prepared.get(task_id, (None,))[0] != version
            ]
            texts = await tasks_service.candidate_texts(session, stale)
            self.texts_read += len(texts)
            prepared: dict[int, tuple[datetime, str, Prepared]] = {}
            for task_id, version in listing:
                known = channel.prepared.get(task_id)
                if task_id in texts:
                    text = texts[task_id]
                    kept = known[2] if known is not None and known[1] == text else Prepared.of(text)
                    prepared[task_id] = (version, text, kept)
                elif known is not None:
                    prepared[task_id] = known
            # A task gone between the two reads is left out, as if it had closed a moment earlier.
            ordered = [(task_id, prepared[task_id][2]) for task_id, _ in listing if task_id in prepared]
            channel.listing, channel.prepared = listing, prepared
            channel.view = channel.candidates.view(ordered, front_limit(len(ordered), uses))
            if channel.view is None:
                channel.candidates = CandidateSet(ordered)
                channel.view = CandidateView.whole(channel.candidates)
                # The set prepares anew what was numbered before the numbering started over: keep that.
                for task_id, fresh in zip(channel.candidates.ids, channel.candidates.prepared, strict=True):
                    version, text, _ = prepared[task_id]
                    prepared[task_id] = (version, text, fresh)
        return Matcher(channel.view)

    def made(self, channel_id: int | None, task_id: int, version: datetime, text: str) -> None:
        """A task this process has just made (in a unit not yet committed): prepared now, so the next
        listing that shows it at this version needs no read of its text. Until a listing shows it, it
        is never a candidate, so a unit that rolls back leaves nothing wrong behind."""
        channel = self._channel(channel_id)
        channel.prepared[task_id] = (version, text, Prepared.of(text))

    def _channel(self, channel_id: int | None) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:  # not `setdefault`: a `_Channel` (its empty set) is not free to make
            channel = self._channels[channel_id] = _Channel()
        return channel

    def forget(self) -> None:
        self._channels.clear()


class Matcher:
    """One batch's view of a channel's candidates: the listing, plus the tasks the batch itself made
    (newest first, as `open_candidates` would list them after their INSERTs)."""

    def __init__(self, candidates: CandidateView) -> None:
        self.candidates = candidates
        self.new: list[tuple[int, duplicates.Text]] = []

    def best_match(self, text: str, threshold: float) -> tuple[int, float] | None:
        rows = max(0, CANDIDATES - len(self.new))
        return self.candidates.best_match(text, threshold, self.new[:CANDIDATES], rows)

    def close_calls(self, text: str, low: float, threshold: float, limit: int) -> list[tuple[int, float]]:
        """The open tasks (not this batch's) `text` comes near without reaching `threshold`: see
        `duplicates.close_calls`."""
        return self.candidates.close_calls(text, low, threshold, limit, CANDIDATES)

    def lists(self, task_id: int) -> bool:
        """Whether the task is among this batch's candidates (open, in the window) as of now."""
        return task_id in self.candidates.ids or any(task_id == new_id for new_id, _ in self.new)

    def add(self, task_id: int, text: str) -> None:
        self.new.insert(0, (task_id, duplicates.prepared(text)))
