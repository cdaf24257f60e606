"""Is a new actionable message the same request as an open task? Normalised-text similarity.

Two signals, combined in `_score`:

1. **Character n-grams** (3–5, within words, sublinear counts, cosine) over the content words
   transliterated to Latin letters, so rewordings that keep the key words, inflections, typos and
   transliteration (`не работает экспорт` / `ne rabotaet eksport`) score high. Chat filler and request
   phrasing (`pls`, `need`, `можно`, `додайте`) is dropped first.
2. **Slot conflicts** veto that score: the same sentence with another value in one slot is another
   request (`#503` / `#507`, `staging` / `prod`, `CSV` / `PDF`, `test_a` / `test_b`, add / remove).
   A conflict is different numbers or identifiers on both sides, opposite actions, or a short
   substitution inside otherwise aligned texts.

The score is the larger of the n-gram cosine and the token overlap below (the earlier matcher), halved
when there is a conflict.

The token overlap:

Both texts are reduced to content tokens: casefolded, links and punctuation dropped, chat filler
("pls", "+1 same here", "fwd", "пінг", "срочно") and function words removed, words cut to a 5-letter
stem so that inflections (`календарем` / `календаря`, `deploys` / `deployed`) meet. Numbers and
identifiers (`503`, `test_payments_refund`) and @mentioned names are kept whole: they are often what
tells two requests apart.
A word that is one typo away from an unmatched word of the other text counts as shared.

The score is the larger of the Jaccard overlap and the share of the shorter text's tokens found in the
longer one, with one token of slack (so that "login is broken" is not contained in every message that
mentions a login). Word order does not matter. A character-sequence ratio is deliberately not used: it
rates "login fails on Safari" against "login fails on Android" at 0.84, above a typical real repeat.
`docs/classification.md` has the measurements.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from tasktracker.classification import concepts

_URL = re.compile(r"https?://\S+")
_PLUS_ONE = re.compile(r"(?<!\w)\+1(?!\d)")
_APOSTROPHE = re.compile(r"(?<=\w)['’ʼ`](?=\w)")
_NON_WORD = re.compile(r"[^\w]+")
_STEM = 5
_TYPO_MIN = 5  # shorter words are too easily one edit apart ("prod" / "prom")
_STOP = frozenset(
    [
        # English function words and chat filler
        "a",
        "an",
        "the",
        "is",
        "are",
        "be",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "and",
        "or",
        "it",
        "this",
        "that",
        "can",
        "could",
        "would",
        "we",
        "you",
        "i",
        "me",
        "my",
        "our",
        "please",
        "pls",
        "plz",
        "someone",
        "somebody",
        "anyone",
        "same",
        "here",
        "too",
        "also",
        "either",
        "again",
        "still",
        "up",
        "ping",
        "reminder",
        "hey",
        "hi",
        "fwd",
        "fw",
        "forwarded",
        "message",
        "urgent",
        "asap",
        # Ukrainian
        "і",
        "й",
        "та",
        "в",
        "у",
        "на",
        "до",
        "з",
        "із",
        "зі",
        "від",
        "по",
        "для",
        "що",
        "це",
        "як",
        "ми",
        "ви",
        "я",
        "мені",
        "мене",
        "теж",
        "також",
        "ще",
        "раз",
        "знову",
        "будь",
        "ласка",
        "плз",
        "пж",
        "пінг",
        "ап",
        "терміново",
        "переслано",
        # Russian (words shared with Ukrainian are listed above)
        "и",
        "во",
        "с",
        "со",
        "из",
        "от",
        "к",
        "что",
        "это",
        "как",
        "мы",
        "вы",
        "мне",
        "меня",
        "тоже",
        "также",
        "еще",
        "опять",
        "пожалуйста",
        "пинг",
        "срочно",
    ]
)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    text = _URL.sub(" ", text)
    text = _PLUS_ONE.sub(" ", text)
    # don't / п'ятниця / обовʼязково: one word, however the apostrophe is typed
    text = _APOSTROPHE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def _stem(word: str) -> str:
    return word[:_STEM] if word.isalpha() else word


# Request phrasing and filler that rewordings add or drop ("we need X" / "plz add X" / "можна X?").
_FILLER = frozenset(
    [
        "need",
        "needs",
        "needed",
        "add",
        "please",
        "plz",
        "pls",
        "hey",
        "can",
        "you",
        "look",
        "would",
        "nice",
        "great",
        "able",
        "be",
        "should",
        "must",
        "have",
        "has",
        "get",
        "got",
        "it",
        "its",
        "is",
        "are",
        "was",
        "were",
        "just",
        "really",
        "super",
        "also",
        "some",
        "somebody",
        "someone",
        "anyone",
        "one",
        "there",
        "their",
        "them",
        "they",
        "do",
        "does",
        "did",
        "done",
        "doing",
        "let",
        "lets",
        "we",
        "us",
        "our",
        "i",
        "me",
        "my",
        "your",
        "old",
        "new",
        "all",
        "any",
        "треба",
        "потрібно",
        "потрібен",
        "потрібна",
        "зробіть",
        "додайте",
        "можна",
        "можете",
        "будь",
        "ласка",
        "взагалі",
        "просто",
        "дуже",
        "хтось",
        "хто",
        "давайте",
        "надо",
        "нужно",
        "нужен",
        "нужна",
        "сделайте",
        "добавьте",
        "можно",
        "пожалуйста",
        "вообще",
        "очень",
        "кто",
        "нибудь",
        "work",
        "works",
        "working",
        "працює",
        "работает",
    ]
)
_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e", "ж": "zh",
        "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
        "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "sch", "ь": "", "ю": "yu", "я": "ya", "ы": "y", "э": "e", "ъ": "",
    }
)  # fmt: skip
_IDENTIFIER = re.compile(r"[_.]|error$|^[@#/]")
_NUMBER = re.compile(r"\d+")
# Negations, in Latin letters (so a transliterated "ne rabotaet" counts too).
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "nothing",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "cannot",
        "wont",
        "isnt",
        "arent",
        "ne",
        "ni",
        "net",
        "nichego",
        "nichogo",
    ]
)
_OPPOSITES = (("add", "remov"), ("enabl", "disab"), ("give", "remov"), ("dai", "zaber"), ("dodai", "pribe"),
              ("dobav", "uber"), ("vkl", "vikl"), ("grant", "revok"))  # fmt: skip
_NGRAMS = (3, 5)
_CONFLICT_FACTOR = 0.5
_ALIGNED = 0.6  # share of the longer text that must align for a short substitution to be a conflict


def latin(word: str) -> str:
    """`word` in Latin letters, with the common transliteration variants made equal."""
    return concepts.fold_variants(word.translate(_LATIN))


def _char_ngrams(words: list[str]) -> dict[str, float]:
    """L2-normalised, sublinear counts of each word's character 3–5-grams (the word padded by spaces)."""
    grams: list[str] = []  # all of them first, then one count: a quarter faster than Counter.update per n
    for word in words:
        padded = f" {word} "
        size = len(padded)
        for n in range(_NGRAMS[0], _NGRAMS[1] + 1):
            if size < n:
                grams.append(padded)
                break
            grams.extend([padded[i : i + n] for i in range(size - n + 1)])
    log = math.log
    weights = {gram: 1.0 + log(count) if count > 1 else 1.0 for gram, count in Counter(grams).items()}
    norm = math.sqrt(sum([w * w for w in weights.values()])) or 1.0
    return {gram: w / norm for gram, w in weights.items()}


class Text:
    """A text prepared once for comparisons: normalised form, content words and their stems."""

    __slots__ = (
        "concepts",
        "content",
        "identifiers",
        "latin_words",
        "negated",
        "ngrams",
        "norm",
        "numbers",
        "tokens",
        "typo_stems",
        "words",
    )

    def __init__(self, raw: str) -> None:
        self.norm = normalise(raw)
        ordered = [w for w in self.norm.split() if w not in _STOP and (len(w) > 1 or w.isdigit())]
        self.words = frozenset(ordered)
        self.tokens = frozenset(_stem(w) for w in self.words)
        # Stems of the words long enough to carry a typo (see `_unmatched`).
        self.typo_stems = frozenset(_stem(w) for w in self.words if len(w) >= _TYPO_MIN and w.isalpha())
        self.latin_words = frozenset(latin(w) for w in ordered)
        # Negations are compared on their own (`negated`), not as words that could be substituted.
        kept = [latin(w) for w in ordered if w not in _FILLER]
        self.content = [_stem(w) for w in kept if w not in _NEGATIONS]
        self.concepts = concepts.concept_tokens(w for w in kept if w not in _NEGATIONS)
        self.ngrams = _char_ngrams(kept)
        self.identifiers = frozenset(w for w in ordered if _IDENTIFIER.search(w))
        self.numbers = frozenset(_NUMBER.findall(" ".join(self.content)))
        self.negated = not _NEGATIONS.isdisjoint(self.latin_words)


def _cosine(a: Text, b: Text) -> float:
    small, large = (a.ngrams, b.ngrams) if len(a.ngrams) <= len(b.ngrams) else (b.ngrams, a.ngrams)
    # Over the shared grams only (a set intersection in C): half the time of a lookup per gram.
    return min(1.0, sum([small[gram] * large[gram] for gram in small.keys() & large.keys()]))


def _differ_on_both_sides(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a - b) and bool(b - a)


def _opposite_actions(a: Text, b: Text) -> bool:
    for first, second in _OPPOSITES:
        a_first = any(w.startswith(first) for w in a.latin_words)
        a_second = any(w.startswith(second) for w in a.latin_words)
        b_first = any(w.startswith(first) for w in b.latin_words)
        b_second = any(w.startswith(second) for w in b.latin_words)
        if (a_first and b_second and not a_second) or (a_second and b_first and not b_second):
            return True
    return False


def _substitution(a: Text, b: Text) -> bool:
    """Mostly the same words in the same order, with a short run of different words in one place, or
    with a negation on one side only ("doesn't render" / "renders with the wrong colours")."""
    matcher = difflib.SequenceMatcher(a=a.content, b=b.content, autojunk=False)
    aligned = sum(block.size for block in matcher.get_matching_blocks())
    if aligned < _ALIGNED * max(len(a.content), len(b.content)):
        return False
    if a.negated != b.negated:
        return True
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace" or i2 - i1 > 3 or j2 - j1 > 3:
            continue
        ours, theirs = a.content[i1:i2], b.content[j1:j2]
        if not any(_one_edit_apart(x, y) or x[:4] == y[:4] for x in ours for y in theirs):
            return True
    return False


def conflict(a: Text, b: Text) -> bool:
    """Another value in the same slot, or the opposite action: another request however similar."""
    return plain_conflict(a, b) or _substitution(a, b)


def plain_conflict(a: Text, b: Text) -> bool:
    """The parts of `conflict` that need no alignment of the two texts: when one holds, so does
    `conflict`, for a few set operations."""
    return (
        concepts.slot_conflict(a.concepts, b.concepts)
        or _differ_on_both_sides(a.identifiers, b.identifiers)
        or _differ_on_both_sides(a.numbers, b.numbers)
        or _opposite_actions(a, b)
    )


def cannot_match(a: Text, b: Text, threshold: float) -> bool:
    """True only when `_score(a, b, threshold) < threshold` for certain, found without scoring: the two
    are in conflict (`plain_conflict`), which halves any score `_score` checks for one, and the threshold
    is above what a halved score can reach, and neither of the two ways `_score` skips that check
    (the same text; every token shared) is open to them."""
    if threshold <= _CONFLICT_FACTOR or a.norm == b.norm or not a.tokens or not b.tokens:
        return False
    na, nb = len(a.tokens), len(b.tokens)
    # `_overlap` reaches 1.0 only when both have the same number of tokens and all are shared (typos
    # included): the same bound `_overlap` itself uses before its typo search.
    if na == nb and _most_shared(a, b, len(a.tokens & b.tokens)) >= na:
        return False
    return plain_conflict(a, b)


@lru_cache(maxsize=1024)  # ~15 KB a text (its n-grams): 1024 is ~15 MB, 4096 was ~60 MB of a worker
def prepared(raw: str) -> Text:
    """`Text(raw)`, cached: the same open tasks are compared with every new message of a channel (the
    worker keeps its own per task, `open_tasks.OpenTasks`; here a message is prepared once for both the
    matcher and the close calls)."""
    return Text(raw)


def _one_edit_apart(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of neighbouring letters turns `a` into `b`."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i + 1 :] or (
        i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    )


def _unmatched(text: Text, other: Text) -> list[str]:
    """Words of `text` long enough to carry a typo whose stem `other` lacks, in a stable order."""
    return sorted(
        w for w in text.words if len(w) >= _TYPO_MIN and w.isalpha() and _stem(w) not in other.tokens
    )


def _typos(a: Text, b: Text) -> int:
    """How many unshared stems of `a` are one typo away from a distinct unshared stem of `b`."""
    a_only = _unmatched(a, b)
    if not a_only:
        return 0
    b_only = _unmatched(b, a)
    used_a: set[str] = set()
    used_b: set[str] = set()
    for word in a_only:
        for other in b_only:
            # Same first letter: typos rarely hit it, and it keeps `install` / `uninstall` apart.
            if (
                _stem(word) not in used_a
                and _stem(other) not in used_b
                and word[0] == other[0]
                and _one_edit_apart(word, other)
            ):
                used_a.add(_stem(word))
                used_b.add(_stem(other))
                break
    return len(used_a)


def _ratio(shared: int, a: int, b: int) -> float:
    return max(shared / (a + b - shared), shared / (min(a, b) + 1))


def _score(a: Text, b: Text, threshold: float) -> float:
    if not a.norm or not b.norm:
        return 0.0
    if a.norm == b.norm:
        return 1.0
    if not a.tokens or not b.tokens:
        return 0.0
    overlap = _overlap(a, b, threshold)
    if overlap >= 1.0:
        return overlap
    score = max(overlap, _cosine(a, b), _concept_overlap(a, b))
    if score < threshold:
        return score  # a conflict could only lower it; skip the alignment (`best_match` speed)
    # A slot conflict halves the score: near-identical texts that differ in the one thing that matters
    # stay below any useful threshold, and the sweep still ranks them.
    return score * _CONFLICT_FACTOR if conflict(a, b) else score


def _most_shared(a: Text, b: Text, shared: int) -> int:
    """An upper bound of the tokens `_overlap` counts as shared: typos can only turn unshared
    typo-length stems into shared ones, one of each side per typo."""
    return shared + min(len(a.typo_stems - b.tokens), len(b.typo_stems - a.tokens))


def _overlap(a: Text, b: Text, threshold: float) -> float:
    na, nb = len(a.tokens), len(b.tokens)
    shared = len(a.tokens & b.tokens)
    # Skip the typo search when even its best cannot reach the threshold.
    most = _most_shared(a, b, shared)
    if most > shared and _ratio(most, na, nb) >= threshold:
        shared += _typos(a, b)
    return _ratio(shared, na, nb)


def _concept_overlap(a: Text, b: Text) -> float:
    """The token overlap with each word replaced by its concept (`concepts.py`), so a restatement in
    other words or another language meets; texts with fewer than two tokens are not compared."""
    if len(a.concepts) < 2 or len(b.concepts) < 2:
        return 0.0
    return _ratio(len(a.concepts & b.concepts), len(a.concepts), len(b.concepts))


def similarity(a: str, b: str) -> float:
    """0..1: how much `a` and `b` look like the same request (see the module docstring)."""
    return _score(Text(a), Text(b), 0.0)


def best_match(text: str, candidates: list[tuple[int, str]], threshold: float) -> tuple[int, float] | None:
    """The most similar candidate scoring at least `threshold`, if any."""
    target = Text(text)
    best: tuple[int, float] | None = None
    for candidate_id, candidate_text in candidates:
        score = _score(target, prepared(candidate_text), threshold)
        if score >= threshold and (best is None or score > best[1]):
            best = (candidate_id, score)
    return best


@dataclass(frozen=True, slots=True)
class CloseCall:
    """An open task a new message comes near (`close_call`), with the task's text and the score."""

    task_id: int
    text: str
    score: float


def close_call(a: Text, b: Text, low: float, threshold: float) -> float | None:
    """The score of a pair the matcher does not link but that comes near: at least `low`, below
    `threshold`, and without a slot conflict (a conflict says "another request" however close the
    words). Such a pair is worth a second opinion (`ai/duplicate_judge.py`); None for any other pair."""
    if not a.norm or not b.norm or a.norm == b.norm or not a.tokens or not b.tokens:
        return None
    score = max(_overlap(a, b, low), _cosine(a, b), _concept_overlap(a, b))
    if not low <= score < threshold or conflict(a, b):
        return None
    return score


def close_calls(
    text: str, candidates: list[tuple[int, str]], low: float, threshold: float, limit: int
) -> list[tuple[int, float]]:
    """Up to `limit` candidates that are close calls for `text` (see `close_call`), best-scored first.
    Meant for a message that `best_match` links to nothing."""
    target = Text(text)
    found = [
        (candidate_id, score)
        for candidate_id, candidate_text in candidates
        if (score := close_call(target, prepared(candidate_text), low, threshold)) is not None
    ]
    return sorted(found, key=lambda item: -item[1])[:limit]
