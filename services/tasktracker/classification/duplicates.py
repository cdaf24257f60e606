"""Is a new actionable message the same request as an open task? Normalised-text similarity.

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

import re
import unicodedata
from functools import lru_cache

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


class Text:
    """A text prepared once for comparisons: normalised form, content words and their stems."""

    __slots__ = ("norm", "tokens", "typo_stems", "words")

    def __init__(self, raw: str) -> None:
        self.norm = normalise(raw)
        self.words = frozenset(w for w in self.norm.split() if w not in _STOP and (len(w) > 1 or w.isdigit()))
        self.tokens = frozenset(_stem(w) for w in self.words)
        # Stems of the words long enough to carry a typo (see `_unmatched`).
        self.typo_stems = frozenset(_stem(w) for w in self.words if len(w) >= _TYPO_MIN and w.isalpha())


@lru_cache(maxsize=4096)
def prepared(raw: str) -> Text:
    """`Text(raw)`, cached: the same open tasks are compared with every new message of a channel."""
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
    na, nb = len(a.tokens), len(b.tokens)
    shared = len(a.tokens & b.tokens)
    # Typos can only turn unshared typo-length stems into shared ones: skip the search when even that
    # cannot reach the threshold.
    most = shared + min(len(a.typo_stems - b.tokens), len(b.typo_stems - a.tokens))
    if most > shared and _ratio(most, na, nb) >= threshold:
        shared += _typos(a, b)
    return _ratio(shared, na, nb)


def similarity(a: str, b: str) -> float:
    """0..1: token overlap of the two normalised texts (see the module docstring)."""
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
