"""The terms a fitted TfidfVectorizer counts, without scikit-learn at prediction time.

The built-in model is trained with scikit-learn, but a process that only loads it needs no more than
the vocabulary, the idf weights and the analyser that cuts a text into terms. Importing scikit-learn
(which imports scipy.stats) was ~1 s of CPU and ~40% of `tasktracker run`'s start, and a pickled
vectoriser makes the unpickling import it. `Terms` is the analyser of the two configurations the model
uses (`char_wb` and `word`, no lower-casing, accent stripping or stop words — the text is normalised
before), written as scikit-learn's `_char_wb_ngrams` and `_word_ngrams` are; `tests/ai/test_ngrams.py`
checks they give the same terms on every bundled row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

_WHITE_SPACES = re.compile(r"\s\s+")


class UnsupportedVectoriser(ValueError):
    """A vectoriser option `Terms` does not reproduce (it would cut texts differently)."""


@dataclass(frozen=True, slots=True)
class Terms:
    """One fitted vectoriser's analyser, vocabulary (term -> column) and idf weights."""

    analyzer: str  # "char_wb" | "word"
    ngram_range: tuple[int, int]
    tokens: re.Pattern[str] | None  # the word tokenizer's pattern
    vocabulary: dict[str, int]
    idf: np.ndarray  # float32, one per column

    @classmethod
    def of(cls, vectoriser: TfidfVectorizer) -> Terms:
        """The analyser of a fitted vectoriser; refuses options whose terms would differ."""
        params: dict[str, Any] = vectoriser.get_params()
        defaults = {
            "input": "content",
            "lowercase": False,
            "strip_accents": None,
            "preprocessor": None,
            "tokenizer": None,
            "stop_words": None,
        }
        differing = {name: params[name] for name, value in defaults.items() if params[name] != value}
        if differing or params["analyzer"] not in ("char_wb", "word"):
            raise UnsupportedVectoriser(f"analyzer {params['analyzer']!r} with {differing}")
        tokens = None
        if params["analyzer"] == "word":
            tokens = re.compile(params["token_pattern"])
            if tokens.groups > 1:
                raise UnsupportedVectoriser("more than one capturing group in the token pattern")
        return cls(
            analyzer=params["analyzer"],
            ngram_range=tuple(params["ngram_range"]),
            tokens=tokens,
            vocabulary=dict(vectoriser.vocabulary_),
            idf=vectoriser.idf_.astype(np.float32),
        )

    def __call__(self, text: str) -> list[str]:
        """The terms of `text`, repeats included, in scikit-learn's order."""
        if self.tokens is not None:
            return _word_ngrams(self.tokens.findall(text), self.ngram_range)
        return _char_wb_ngrams(text, self.ngram_range)


def _word_ngrams(tokens: list[str], ngram_range: tuple[int, int]) -> list[str]:
    min_n, max_n = ngram_range
    if max_n == 1:
        return tokens
    terms = list(tokens) if min_n == 1 else []
    min_n = max(min_n, 2)
    for n in range(min_n, min(max_n + 1, len(tokens) + 1)):
        for i in range(len(tokens) - n + 1):
            terms.append(" ".join(tokens[i : i + n]))
    return terms


def _char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    min_n, max_n = ngram_range
    terms: list[str] = []
    append = terms.append
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(min_n, max_n + 1):
            offset = 0
            append(padded[offset : offset + n])
            while offset + n < length:
                offset += 1
                append(padded[offset : offset + n])
            if offset == 0:  # a short word (shorter than n) counts once
                break
    return terms
