"""The built-in model's analysers without scikit-learn: the same terms as the fitted vectorisers, and a
process that loads the cached model never imports scikit-learn or scipy."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from tasktracker.ai import builtin
from tasktracker.ai.builtin import BuiltinClassifier, bundled_data, read_examples
from tasktracker.ai.ngrams import Terms, UnsupportedVectoriser
from tasktracker.ai.text import normalise
from tests.support.snippets import run_snippet

ODD_TEXTS = [
    "",
    " ",
    "a",
    "ab",
    "  two\t\tspaces \n and\u00a0nbsp\u2003em  ",
    "prod is down!!! @anna https://x.io/a?b=1",
    "дякую 🙏 можно добавить экспорт в pdf?",
    "x" * 3 + " " + "y" * 7,
    "don't, won't; can't — «quotes» (brackets) [1] 2.5%",
]


def _texts() -> list[str]:
    rows = [
        row.text
        for name in (*builtin.TRAINING_FILES, "dev.jsonl")
        for row in read_examples(bundled_data(name))
    ]
    return [*ODD_TEXTS, *rows, *(normalise(text) for text in rows)]


@pytest.mark.parametrize(
    "options",
    [
        {"analyzer": "char_wb", "ngram_range": (2, 5)},
        {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": builtin._WORD_TOKENS},
        {"analyzer": "char_wb", "ngram_range": (1, 3)},
        {"analyzer": "word", "ngram_range": (2, 3), "token_pattern": r"(?u)\b\w\w+\b"},
        {"analyzer": "word", "ngram_range": (1, 1), "token_pattern": r"(?u)(\w)\w*"},
    ],
)
def test_the_terms_are_scikit_learns_on_every_bundled_row(options) -> None:
    texts = _texts()
    vectoriser = builtin._tfidf(**options).fit(texts[:400])
    terms, analyse = Terms.of(vectoriser), vectoriser.build_analyzer()
    for text in texts:
        assert terms(text) == analyse(text), text
    assert terms.vocabulary == vectoriser.vocabulary_
    assert terms.idf.tolist() == pytest.approx(vectoriser.idf_.tolist(), rel=1e-6)


@pytest.mark.parametrize(
    "options",
    [
        {"analyzer": "char", "lowercase": False},
        {"analyzer": "char_wb"},  # lower-cases by default
        {"analyzer": "word", "lowercase": False, "strip_accents": "unicode"},
        {"analyzer": "word", "lowercase": False, "stop_words": ["the"]},
        {"analyzer": "word", "lowercase": False, "tokenizer": str.split, "token_pattern": None},
    ],
)
def test_a_vectoriser_whose_terms_would_differ_is_refused(options) -> None:
    vectoriser = TfidfVectorizer(**options).fit(["the login page crashes", "add an export button"])
    with pytest.raises(UnsupportedVectoriser):
        Terms.of(vectoriser)


LOAD_CACHED = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    from tasktracker.ai import builtin

    def no_training(*args, **kwargs):
        raise AssertionError("the cached model should have been loaded")

    builtin.BuiltinModel.fit = no_training
    classifier = builtin.BuiltinClassifier.load_or_train(Path(sys.argv[1]))
    [result] = classifier.classify_batch(["the export button returns 500"])
    heavy = sorted(name for name in ("sklearn", "scipy") if name in sys.modules)
    print(json.dumps({"result": result.model_dump(mode="json", exclude={"latency_ms"}), "heavy": heavy}))
    """
)


def test_loading_the_cached_model_imports_neither_scikit_learn_nor_scipy(tmp_path: Path) -> None:
    trained = BuiltinClassifier.load_or_train(tmp_path)
    [expected] = trained.classify_batch(["the export button returns 500"])
    out = run_snippet(LOAD_CACHED, str(tmp_path))
    assert out["heavy"] == []
    assert out["result"] == expected.model_dump(mode="json", exclude={"latency_ms"})
