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


def tokens(text: str) -> set[str]:
    return {t for t in normalise(text).split() if t not in _STOP and len(t) > 1}


def similarity(a: str, b: str) -> float:
    """0..1: the larger of token-set overlap and character-sequence similarity of normalised texts."""
    na, nb = normalise(a), normalise(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    ta, tb = tokens(a), tokens(b)
    jaccard = len(ta & tb) / len(ta | tb) if ta and tb else 0.0
    ratio = SequenceMatcher(None, na, nb, autojunk=False).ratio()
    return max(jaccard, ratio)


def best_match(text: str, candidates: list[tuple[int, str]], threshold: float) -> tuple[int, float] | None:
    best: tuple[int, float] | None = None
    for candidate_id, candidate_text in candidates:
        score = similarity(text, candidate_text)
        if score >= threshold and (best is None or score > best[1]):
            best = (candidate_id, score)
    return best
