"""Is a new actionable message the same request as an open task? Normalised-text similarity."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

_URL = re.compile(r"https?://\S+")
_MENTION = re.compile(r"@\w+")
_NON_WORD = re.compile(r"[^\w]+")
_STOP = frozenset(
    [
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
        "for",
        "and",
        "or",
        "it",
        "this",
        "that",
        "pls",
        "please",
        "plz",
        "can",
        "could",
        "we",
        "you",
        "i",
        "my",
        "our",
        "і",
        "й",
        "та",
        "в",
        "у",
        "на",
        "до",
        "що",
        "це",
        "як",
        "ми",
        "ви",
        "я",
        "мені",
        "будь",
        "ласка",
        "и",
        "в",
        "во",
        "на",
        "до",
        "что",
        "это",
        "как",
        "мы",
        "вы",
        "я",
        "мне",
        "пожалуйста",
    ]
)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


class Text:
    """A text prepared once for comparisons: normalised form and content tokens."""

    __slots__ = ("norm", "tokens")

    def __init__(self, raw: str) -> None:
        self.norm = normalise(raw)
        self.tokens = {t for t in self.norm.split() if t not in _STOP and len(t) > 1}


def _score(a: Text, b: Text, threshold: float) -> float:
    if not a.norm or not b.norm:
        return 0.0
    if a.norm == b.norm:
        return 1.0
    union = a.tokens | b.tokens
    jaccard = len(a.tokens & b.tokens) / len(union) if union else 0.0
    if jaccard >= threshold:
        return jaccard
    matcher = SequenceMatcher(None, a.norm, b.norm, autojunk=False)
    # Cheap upper bounds first: most candidates are ruled out without the quadratic comparison.
    if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
        return jaccard
    return max(jaccard, matcher.ratio())


def similarity(a: str, b: str) -> float:
    """0..1: the larger of token-set overlap and character-sequence similarity of normalised texts."""
    return _score(Text(a), Text(b), 0.0)


def best_match(text: str, candidates: list[tuple[int, str]], threshold: float) -> tuple[int, float] | None:
    """The most similar candidate scoring at least `threshold`, if any."""
    target = Text(text)
    best: tuple[int, float] | None = None
    for candidate_id, candidate_text in candidates:
        score = _score(target, Text(candidate_text), threshold)
        if score >= threshold and (best is None or score > best[1]):
            best = (candidate_id, score)
    return best
