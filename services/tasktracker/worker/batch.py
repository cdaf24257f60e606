"""Classification jobs in groups: the jobs a worker has in hand at once are claimed, classified and
recorded together, and each job finishes (and is acknowledged) only after its group's commit.

Like the API's `unit_of_work.GroupCommit`, there is no waiting window: a job that comes while no group
is open starts one at once (a lone message goes straight through), and jobs that come while a group is
busy gather and go together in its next turn, so the batch size follows the load; a second group runs
beside it only when a backlog has gathered (a quarter of a full group). Per group:

1. one unit claims every message (one UPDATE; `classification.claim_batch`);
2. outside any transaction, one `classify_each` call classifies the texts (the built-in model in one
   vectorised call; an LLM one call per text, concurrently, as separate jobs would);
3. with the LLM's second opinion on duplicates enabled (`ai/duplicate_judge.py`), one read-only unit
   finds the close calls of the messages the matcher links to nothing (`classification.close_calls`),
   and the LLM judges them outside any transaction, bounded by `duplicate_llm_timeout_s`;
4. one unit records every result (`classification.record_batch`: a handful of statements for the group).

While the built-in model answers (a classifier `in_process`: about a millisecond a text, never waiting
on anything; in `auto` mode also while the LLM has not won its dev duel) and no LLM is asked about
duplicates (none configured, or its gate not passed), steps 1, 2 and 4 are one unit instead: a BEGIN and a
COMMIT less a group, which for the lone messages of a steady low rate is a fifth of a group's work. If
that unit fails, or an LLM was promoted while it ran, it is rolled back whole, claims too, and the group
runs the two-unit way above, so every promise below is kept by the path that already kept it.

Every promise of the one-job path holds: a job's future resolves only after its results are committed,
so its acknowledgement (`WHEN_EXECUTED`) follows the commit; a job that fails leaves its message claimed,
and the sweep sends it again once the claim is stale; exactly-once results come from the same conditional UPDATEs. A failure stays with its own
message: a text the classifier could not handle fails only its job, and if the group's record unit
fails, each message is recorded again in a unit of its own (the one-job `record`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from tasktracker.ai.base import classify_each
from tasktracker.broker import GROUPS_AT_ONCE
from tasktracker.classification import service as classification
from tasktracker.classification.open_tasks import OpenTasks
from tasktracker.classification.schemas import Classification
from tasktracker.classification.service import Exhausted, Outcome
from tasktracker.messages.service import Claimed
from tasktracker.runtime import Runtime
from tasktracker.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

Job = tuple[int, "asyncio.Future[Outcome]"]


class ClassifyGroups:
    """Gathers the concurrently delivered `messages.classify` jobs of a process into groups."""

    def __init__(self, runtime: Runtime, *, max_batch: int, max_groups: int = GROUPS_AT_ONCE) -> None:
        self.runtime = runtime
        self.max_batch = max_batch
        self.max_groups = max_groups
        self.open_tasks = OpenTasks()
        self._queue: list[Job] = []
        self._groups = 0
        self.sizes: list[int] = []  # the size of each group run (tests, the benchmark's log)

    async def warm_up(self) -> None:
        """Before the first job, what a fresh process's first groups would pay while jobs wait behind
        them: a database connection, the claim and the candidate listing compiled and prepared (on
        no rows: nothing is claimed or changed), the model's first call (only one that answers in
        process: never an LLM) and the candidate sets' first stacking (scipy's import)."""
        from tasktracker.classification.duplicate_index import CandidateSet, Prepared

        runtime, settings = self.runtime, self.runtime.settings
        async with unit_of_work(runtime) as uow:
            await classification.claim_batch(uow.session, settings, [0])  # ids start at 1: claims nothing
            await self.open_tasks.matcher(uow.session, settings, 0)  # nor is there a channel 0
        self.open_tasks.forget()
        if getattr(runtime.classifier, "in_process", False):
            await classify_each(runtime.classifier, ["warming up: the export page crashes on save"])
        CandidateSet([(0, Prepared.of("warming up"))])

    async def submit(self, message_id: int) -> Outcome:
        """Classify one message with whatever else is in hand; returns once its results are committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((message_id, future))
        self._start()
        return await future

    def _start(self) -> None:
        # A group beside a running one only for a backlog (its round trips then overlap the other's
        # CPU): a few jobs wait for the running group's next turn, which costs less than a second
        # group's fixed work in the same process (bench e2e at 200 msg/s, docs/benchmarks.md).
        busy = self._groups > 0 and len(self._queue) < self.max_batch // 4
        if self._queue and self._groups < self.max_groups and not busy:
            self._groups += 1
            asyncio.get_running_loop().create_task(self._drain(), name="classify-group")

    async def _drain(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                try:
                    await self._run(group)
                except BaseException as exc:
                    for _, future in group:
                        _fail(future, exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
        finally:
            self._groups -= 1
            self._start()

    async def _run(self, group: list[Job]) -> None:
        self.sizes.append(len(group))
        if self._in_one_unit():
            try:
                await self._run_in_one_unit(group)
                return
            except _NoLongerInProcess:  # rolled back, claims too
                log.info("an LLM answers from now on; a group of %d goes the two-unit way", len(group))
            except Exception:  # nothing of it was committed: the group goes the two-unit way
                log.warning(
                    "a group of %d failed in one unit; claiming and recording it apart",
                    len(group),
                    exc_info=True,
                )
        await self._run_in_two_units(group)

    def _in_one_unit(self) -> bool:
        """Whether a group is claimed, classified and recorded in one unit: when the classifier answers
        from this process's CPU (the built-in model: about a millisecond a text, never waiting on
        anything; in `auto` mode, also while the LLM has not won its duel) and no LLM is asked about
        duplicates (none configured, or its gate not passed). A unit and its round trips less a group;
        an LLM is never waited on inside a transaction."""
        runtime = self.runtime
        judge = runtime.duplicate_judge
        if judge is not None:
            judge.start()  # its gate decides in the background, as `second_opinions` would start it
            if judge.enabled:
                return False
        return bool(getattr(runtime.classifier, "in_process", False))

    async def _run_in_one_unit(self, group: list[Job]) -> None:
        """Claim, classify and record in one unit. Futures resolve only after its commit; if it fails,
        it is rolled back whole (claims too) and the caller runs the group in two units instead."""
        settings = self.runtime.settings
        resolved: list[tuple[asyncio.Future[Outcome], Outcome]] = []
        failed: list[tuple[asyncio.Future[Outcome], Exception]] = []
        async with unit_of_work(self.runtime) as uow:
            rows: dict[int, Claimed] = {}
            claims = await classification.claim_batch(uow.session, settings, [m for m, _ in group], rows)
            todo = _taken(group, claims, resolved)
            if todo and not self._in_one_unit():  # a duel or a gate decided meanwhile: an LLM may answer
                raise _NoLongerInProcess
            runs = await _classified(self.runtime, todo, failed) if todo else []
            if runs:
                outcomes = await classification.record_batch(
                    uow, settings, [(m, r) for m, _, r in runs], self.open_tasks, {}, claimed=rows
                )
                resolved += [
                    (future, outcome) for (_, future, _), outcome in zip(runs, outcomes, strict=True)
                ]
        for future, outcome in resolved:
            _resolve(future, outcome)
        for future, exc in failed:  # claimed, not recorded: the sweep sends it again
            _fail(future, exc)

    async def _run_in_two_units(self, group: list[Job]) -> None:
        runtime, settings = self.runtime, self.runtime.settings
        async with unit_of_work(runtime) as uow:
            claims = await classification.claim_batch(uow.session, settings, [m for m, _ in group])
        resolved: list[tuple[asyncio.Future[Outcome], Outcome]] = []
        todo = _taken(group, claims, resolved)
        for future, outcome in resolved:
            _resolve(future, outcome)
        if not todo:
            return
        failed: list[tuple[asyncio.Future[Outcome], Exception]] = []
        runs = await _classified(runtime, todo, failed)
        for future, exc in failed:  # its message stays claimed: the sweep sends it again
            _fail(future, exc)
        if not runs:
            return

        opinions = await second_opinions(runtime, self.open_tasks, [(m, r) for m, _, r in runs])
        try:
            async with unit_of_work(runtime) as uow:
                outcomes = await classification.record_batch(
                    uow, settings, [(m, r) for m, _, r in runs], self.open_tasks, opinions
                )
        except Exception:
            log.warning("recording a group of %d failed; recording them one by one", len(runs), exc_info=True)
            await self._record_each(runs, opinions)
            return
        for (_, future, _), outcome in zip(runs, outcomes, strict=True):
            _resolve(future, outcome)

    async def _record_each(
        self,
        runs: list[Run],
        opinions: Mapping[int, tuple[int, float]],
    ) -> None:
        runtime = self.runtime
        for message_id, future, result in runs:
            try:
                async with unit_of_work(runtime) as uow:
                    outcome = await classification.record(
                        uow, runtime.settings, message_id, result, opinions.get(message_id)
                    )
                    if outcome.skipped:  # another delivery finished first: keep nothing of this run
                        uow.discard()
            except Exception as exc:
                _fail(future, exc)
                continue
            _resolve(future, outcome)


async def second_opinions(
    runtime: Runtime, open_tasks: OpenTasks, runs: Sequence[tuple[int, Classification]]
) -> dict[int, tuple[int, float]]:
    """The LLM's duplicate links for `runs` (message id -> open task, score), {} when it is not enabled.
    Never raises: a failure here costs only the links, never the job."""
    judge = runtime.duplicate_judge
    if judge is None:
        return {}
    judge.start()
    if not judge.enabled:
        return {}
    try:
        async with unit_of_work(runtime) as uow:  # read-only; the LLM is asked after it ends
            calls = await classification.close_calls(uow.session, runtime.settings, open_tasks, runs)
        return await judge.review(calls)
    except Exception:
        log.warning("duplicate second opinion failed; matching without it", exc_info=True)
        return {}


Run = tuple[int, "asyncio.Future[Outcome]", Classification]


class _NoLongerInProcess(Exception):
    """An LLM was promoted (the classifier's duel, the duplicate judge's gate) between a one-unit
    group's start and its classification: its unit is rolled back and it goes the two-unit way."""


def _taken(
    group: list[Job],
    claims: dict[int, str | Exhausted | None],
    resolved: list[tuple[asyncio.Future[Outcome], Outcome]],
) -> list[tuple[int, asyncio.Future[Outcome], str]]:
    """The claimed jobs of a group, with their texts; the others' outcomes go to `resolved`."""
    todo: list[tuple[int, asyncio.Future[Outcome], str]] = []
    for message_id, future in group:
        content = claims.pop(message_id, None)  # a second delivery in the group finds it taken
        if isinstance(content, Exhausted):
            resolved.append((future, Outcome(message_id, skipped=True, failed=True)))
        elif content is None:
            resolved.append((future, Outcome(message_id, skipped=True)))
        else:
            todo.append((message_id, future, content))
    return todo


async def _classified(
    runtime: Runtime,
    todo: list[tuple[int, asyncio.Future[Outcome], str]],
    failed: list[tuple[asyncio.Future[Outcome], Exception]],
) -> list[Run]:
    """One `classify_each` call for the texts; a text the classifier could not handle goes to `failed`."""
    results = await classify_each(runtime.classifier, [content for _, _, content in todo])
    runs: list[Run] = []
    for (message_id, future, _), result in zip(todo, results, strict=True):
        if isinstance(result, Exception):
            failed.append((future, result))
        else:
            runs.append((message_id, future, result))
    return runs


def _resolve(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():  # the job went away (cancelled); its results are stored all the same
        future.set_result(outcome)


def _fail(future: asyncio.Future[Outcome], exc: BaseException) -> None:
    if not future.done():  # the job went away (cancelled)
        future.set_exception(exc)
