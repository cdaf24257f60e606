"""Text helpers shared by the classifiers: model input normalisation, task titles and summaries."""

import re
import unicodedata

from tasktracker.classification.schemas import SUMMARY_MAX, TITLE_MAX

_URL = re.compile(r"(?:https?://|www\.)([^\s/?#)>\]]+)[^\s)>\]]*", re.IGNORECASE)
_TRAILING_URLS = re.compile(r"(?:\s*(?:https?://|www\.)\S+)+\s*$", re.IGNORECASE)
_LEADING_MENTIONS = re.compile(r"^(?:@\w+[\s,:;]*)+")
_REPEATS = re.compile(r"(\S)\1{3,}")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "ё": "е"})
# A sentence ends at . ! ? … followed by whitespace (titles are taken from one line at a time).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "напр.", "т.е.", "т.д.", "т.п.")
_REPEATED_PUNCT = re.compile(r"([!?.])\1+")
_EDGE_JUNK = " \t-–—:;,|>*_#`~"


def normalise(text: str) -> str:
    """The form the statistical model sees: case-folded, URLs reduced to their host, runs squeezed."""
    text = unicodedata.normalize("NFC", text).casefold().translate(_APOSTROPHES)
    text = _URL.sub(lambda m: f" url {m.group(1)} ", text)
    text = _REPEATS.sub(r"\1\1\1", text)
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """Collapse whitespace and cut to `limit` characters, at a word boundary when one is near, with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" .,;:-–—") + "…"


def make_summary(text: str) -> str:
    """The message itself, whitespace collapsed, at most SUMMARY_MAX characters."""
    return clip(text, SUMMARY_MAX)


def make_title(text: str) -> str:
    """A short task title: the first meaningful sentence without leading @mentions, links or code fences."""
    for line in text.replace("\r", "\n").split("\n"):
        candidate = _clean_title_line(line)
        if candidate:
            sentence = _first_sentence(candidate)
            title = _REPEATED_PUNCT.sub(r"\1", sentence).strip(_EDGE_JUNK).rstrip(".")
            if title:
                return clip(_capitalise(title), TITLE_MAX)
    # Nothing but links, mentions or punctuation: the raw text is still the best name for it.
    return clip(text, TITLE_MAX)


def _first_sentence(line: str) -> str:
    for match in _SENTENCE_END.finditer(line):
        head = line[: match.start()]
        if not head.casefold().endswith(_ABBREVIATIONS):
            return head
    return line


def _clean_title_line(line: str) -> str:
    line = line.strip().replace("```", " ").replace("`", "")
    line = _LEADING_MENTIONS.sub("", line)
    line = _TRAILING_URLS.sub("", line)
    line = _URL.sub(lambda m: m.group(1).removeprefix("www."), line)
    line = " ".join(line.split())
    return line.strip(_EDGE_JUNK)


def _capitalise(title: str) -> str:
    # Leave words such as "iOS", "macOS" or "API" as they are.
    first = title.split(" ", 1)[0].rstrip(",.:;!?")
    if first.isalpha() and first.islower():
        return title[0].upper() + title[1:]
    return title
