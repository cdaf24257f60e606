"""The worker's duplicate index answers exactly what `duplicates.best_match` answers (issue 13): the same
task and the same score, for every message against many open tasks, at several thresholds."""

from __future__ import annotations

import json
import random

import pytest

from tasktracker.ai.builtin import bundled_data
from tasktracker.classification import duplicates
from tasktracker.classification.duplicate_index import CandidateSet, CandidateView, Prepared
from tasktracker.classification.open_tasks import CANDIDATES, Matcher


def _texts() -> list[str]:
    pairs = [json.loads(line) for line in bundled_data("duplicates.jsonl").read_text().splitlines() if line]
    dev = [json.loads(line)["text"] for line in bundled_data("dev.jsonl").read_text().splitlines() if line]
    return [p["a"] for p in pairs] + [p["b"] for p in pairs] + dev


@pytest.mark.parametrize("threshold", [0.75, 0.4])
def test_the_index_gives_the_best_match_of_the_plain_matcher(threshold: float) -> None:
    texts = _texts()
    rng = random.Random(13)
    checked = linked = 0
    for _ in range(8):
        # Open tasks drawn from the labelled pairs (so true repeats are among them), some with a number.
        candidates = [
            (i + 1, rng.choice(texts) + (f" #{i}" if rng.random() < 0.3 else "")) for i in range(200)
        ]
        index = CandidateSet([(task_id, Prepared.of(text)) for task_id, text in candidates])
        for message in rng.sample(texts, 20):
            expected = duplicates.best_match(message, candidates, threshold)
            assert index.best_match(message, threshold) == expected, message
            checked += 1
            linked += expected is not None
    assert linked > checked / 10  # the comparison covered many real links, not only "no match"


def test_a_batch_sees_its_own_new_tasks_first_and_keeps_the_window_size() -> None:
    texts = _texts()
    candidates = [(i + 1, text) for i, text in enumerate(texts[:200])]
    matcher = Matcher(
        CandidateView.whole(CandidateSet([(task_id, Prepared.of(text)) for task_id, text in candidates]))
    )
    matcher.add(-1, texts[300])  # a task the batch made: newest, so listed first
    message = texts[300] + " (again)"
    window = [(-1, texts[300]), *candidates[:199]]  # what the listing would give after its INSERT
    assert matcher.best_match(message, 0.75) == duplicates.best_match(message, window, 0.75)
    assert matcher.best_match(message, 0.75) is not None


@pytest.mark.parametrize("threshold", [0.75, 0.4])
def test_a_batch_with_many_new_tasks_gets_the_plain_matchers_answers(threshold: float) -> None:
    """A group's own new tasks (`Matcher.add`), many of them, within the window: the plain matcher's answers."""
    texts = _texts()
    rng = random.Random(31)
    listing = [(i + 1, rng.choice(texts)) for i in range(180)]
    matcher = Matcher(
        CandidateView.whole(CandidateSet([(task_id, Prepared.of(text)) for task_id, text in listing]))
    )
    made: list[tuple[int, str]] = []  # newest first
    matched = 0
    for k, message in enumerate(rng.sample(texts, 120)):
        message = message + (f" #{k}" if rng.random() < 0.3 else "")
        window = [*made[:200], *listing[: max(0, 200 - len(made))]]
        expected = duplicates.best_match(message, window, threshold)
        assert matcher.best_match(message, threshold) == expected, message
        matched += expected is not None and expected[0] < 0
        if expected is None:
            made.insert(0, (-(len(made) + 1), message))
            matcher.add(made[0][0], message)
    assert len(made) > 30 and matched > 0  # the window had many of the batch's own tasks, some matched


@pytest.mark.parametrize("threshold", [0.75, 0.4])
def test_a_listing_seen_through_an_older_set_gets_the_plain_matchers_answers(threshold: float) -> None:
    """Tasks made since a set was built are scored in front of it, tasks that left the listing are
    skipped, and the window keeps its size: every answer (links and close calls) is the plain matcher's
    on the listing itself, with and without tasks the group made."""
    texts = _texts()
    rng = random.Random(7)
    old = [(i + 1, rng.choice(texts) + f" #{i}") for i in range(CANDIDATES)]  # newest first
    prepared = {task_id: Prepared.of(text) for task_id, text in old}
    built = CandidateSet([(task_id, prepared[task_id]) for task_id, _ in old])
    newer = [(1000 + k, rng.choice(texts)) for k in range(12)]  # made since, listed first
    prepared.update((task_id, Prepared.of(text)) for task_id, text in newer)
    gone = set(rng.sample([task_id for task_id, _ in old], 30))  # closed or merged since
    listing = [*newer, *(item for item in old if item[0] not in gone)][:CANDIDATES]
    view = built.view([(task_id, prepared[task_id]) for task_id, _ in listing], front_limit=len(newer))
    assert view is not None and len(view.front) == len(newer)
    assert built.view([(task_id, prepared[task_id]) for task_id, _ in listing], front_limit=5) is None
    linked = 0
    for k, message in enumerate(rng.sample(texts, 60)):
        matcher = Matcher(view)
        made = [(-1, rng.choice(texts))] if k % 3 == 0 else []
        for task_id, text in made:
            matcher.add(task_id, text)
        expected = duplicates.best_match(message, [*made, *listing][:CANDIDATES], threshold)
        assert matcher.best_match(message, threshold) == expected, message
        linked += expected is not None
        assert matcher.close_calls(message, 0.2, threshold, 3) == duplicates.close_calls(
            message, listing, 0.2, threshold, 3
        )
    assert linked > 5
    assert all(matcher.lists(task_id) for task_id, _ in listing)
    assert not any(matcher.lists(task_id) for task_id in gone)


def test_a_listing_in_another_order_or_with_a_task_prepared_anew_builds_a_new_set() -> None:
    texts = _texts()
    items = [(i + 1, Prepared.of(text)) for i, text in enumerate(texts[:20])]
    built = CandidateSet(items)
    assert built.view(items, front_limit=0) is not None  # the same listing: nothing in front
    swapped = [items[1], items[0], *items[2:]]
    assert built.view(swapped, front_limit=8) is None
    edited = [items[0], (items[1][0], Prepared.of(texts[1] + " edited")), *items[2:]]
    assert built.view(edited, front_limit=8) is None  # a changed text in the middle: not in front
    new_first = [(99, Prepared.of(texts[40])), *items]
    assert built.view(new_first, front_limit=1) is not None
    assert built.view([*items, (99, Prepared.of(texts[40]))], front_limit=8) is None  # new, not first


def test_answers_stay_the_same_when_the_feature_numbering_starts_over(monkeypatch) -> None:
    """The numbering of features is bounded: when it starts over, tasks prepared before are prepared
    again, and a set built before answers by scoring every task (never with stale columns)."""
    from tasktracker.classification import duplicate_index

    texts = _texts()
    candidates = [(i + 1, text) for i, text in enumerate(texts[:120])]
    prepared = [(task_id, Prepared.of(text)) for task_id, text in candidates]
    old = CandidateSet(prepared)
    monkeypatch.setattr(duplicate_index, "_VOCABULARY_LIMIT", 10)
    new = CandidateSet(prepared)  # starts the numbering over
    assert not prepared[0][1].current
    # The set built before scores every task rather than read its rows with the new numbering.
    assert old.reachable(duplicates.prepared(texts[100]), 0.5) == list(range(len(candidates)))
    for message in texts[100:130]:
        expected = duplicates.best_match(message, candidates, 0.5)
        assert new.best_match(message, 0.5) == expected
        assert old.best_match(message, 0.5) == expected


def test_a_pair_ruled_out_before_scoring_never_reaches_the_threshold() -> None:
    """`duplicates.cannot_match` is exact: whenever it rules a pair out, scoring it gives less than the
    threshold, on labelled pairs and on look-alikes that differ by a number, an id or a slot value; and
    it does rule many of those look-alikes out (else it would buy nothing)."""
    texts = _texts()
    rng = random.Random(5)
    variants = [" #{i}", " v{i}.2", " on page {i}", " in chrome", " in firefox", " on android", ""]
    ruled_out = 0
    for _ in range(3000):
        base = rng.choice(texts)
        a = duplicates.Text(base + rng.choice(variants).format(i=rng.randrange(100)))
        b = duplicates.Text(
            (base if rng.random() < 0.7 else rng.choice(texts))
            + rng.choice(variants).format(i=rng.randrange(100))
        )
        for threshold in (0.75, 0.6, 0.5, 0.3):
            if duplicates.cannot_match(a, b, threshold):
                ruled_out += 1
                assert duplicates._score(a, b, threshold) < threshold, (a.norm, b.norm, threshold)
    assert ruled_out > 500


def test_a_word_that_starts_with_a_digit_has_no_concept_and_no_place_in_the_cache() -> None:
    from tasktracker.classification import concepts

    before = concepts._concept_of.cache_info().currsize
    assert concepts.concept_of("12345") is None and concepts.concept_of("404") is None
    assert concepts.concept_of("") is None
    assert concepts._concept_of.cache_info().currsize == before
    assert concepts.concept_of("crashes") is not None  # a word of the lexicon still has its concept
