"""Check what a language model answered against allow-lists before anything is stored.

A model's answer is untrusted: a small local model (or a message that tries to steer it) can return a
category outside the enum, a confidence of 7, an empty title or a title full of markup. `guard_output`
maps the common spellings to the enums (case-insensitive: "Bug report" -> bug, "critical" -> urgent,
"normal" -> medium), rejects anything else with `OutputRejected` (the agent turns that into a retry),
clips the confidence to [0, 1], strips control characters and markup from the title and summary, falls
back to the message's first sentence for an empty title, and applies the labelling rules no model may
break: noise is low and never actionable, a question is never urgent (it becomes high).
"""

from __future__ import annotations

import math
import re
import unicodedata

from pydantic import BaseModel, ConfigDict, Field

from tasktracker.classification.schemas import (
    SUMMARY_MAX,
    TITLE_MAX,
    Category,
    ClassificationOutput,
    Priority,
    clip_chars,
)


class OutputRejected(ValueError):
    """The model's answer is outside the allow-lists; the message says what to fix."""


# The shape a model is asked to produce, validated leniently so the guard can judge it. The JSON schema
# sent to the model carries the enums and bounds of `ClassificationOutput` (so a schema-enforcing server
# such as Ollama >= 0.5 constrains generation to them); validation here only checks the types, and
# `guard_output` decides what is acceptable. (No docstring: it would be sent to the model as the
# schema's description.)
class ModelAnswer(BaseModel):
    model_config = ConfigDict(title="Classification")

    category: str = Field(
        description="One of: " + ", ".join(c.value for c in Category),
        json_schema_extra={"enum": [c.value for c in Category]},
    )
    priority: str = Field(
        description="One of: " + ", ".join(p.value for p in Priority),
        json_schema_extra={"enum": [p.value for p in Priority]},
    )
    actionable: bool = Field(description="True when someone has to do something about the message")
    title: str = Field(
        description="A short title in the language of the message", json_schema_extra={"maxLength": TITLE_MAX}
    )
    summary: str = Field(
        default="",
        description="One or two sentences in the language of the message",
        json_schema_extra={"maxLength": SUMMARY_MAX},
    )
    confidence: float = Field(
        description="How sure you are, from 0 to 1", json_schema_extra={"minimum": 0, "maximum": 1}
    )


def _key(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).casefold()
    value = re.sub(r"[\s_\-/.]+", " ", value)
    return value.strip(" \"'`*:;,!?()[]{}<>")


CATEGORY_SYNONYMS: dict[str, Category] = {
    **{c.value: c for c in Category},
    # bug
    "bugs": Category.bug,
    "bug report": Category.bug,
    "bugreport": Category.bug,
    "defect": Category.bug,
    "error": Category.bug,
    "crash": Category.bug,
    "regression": Category.bug,
    "incident": Category.bug,
    "баг": Category.bug,
    "ошибка": Category.bug,
    "помилка": Category.bug,
    "дефект": Category.bug,
    # feature
    "feature request": Category.feature,
    "features": Category.feature,
    "enhancement": Category.feature,
    "improvement": Category.feature,
    "suggestion": Category.feature,
    "idea": Category.feature,
    "request": Category.feature,
    "фича": Category.feature,
    "функция": Category.feature,
    "функція": Category.feature,
    "пожелание": Category.feature,
    "побажання": Category.feature,
    # question
    "questions": Category.question,
    "query": Category.question,
    "inquiry": Category.question,
    "help": Category.question,
    "support": Category.question,
    "вопрос": Category.question,
    "питання": Category.question,
    # task
    "tasks": Category.task,
    "todo": Category.task,
    "to do": Category.task,
    "chore": Category.task,
    "action item": Category.task,
    "work item": Category.task,
    "задача": Category.task,
    "задание": Category.task,
    "завдання": Category.task,
    # noise
    "chit chat": Category.noise,
    "chitchat": Category.noise,
    "chatter": Category.noise,
    "small talk": Category.noise,
    "smalltalk": Category.noise,
    "off topic": Category.noise,
    "offtopic": Category.noise,
    "spam": Category.noise,
    "other": Category.noise,
    "none": Category.noise,
    "n a": Category.noise,
    "шум": Category.noise,
    "флуд": Category.noise,
}

PRIORITY_SYNONYMS: dict[str, Priority] = {
    **{p.value: p for p in Priority},
    # low
    "lowest": Priority.low,
    "minor": Priority.low,
    "trivial": Priority.low,
    "p3": Priority.low,
    "p4": Priority.low,
    "низкий": Priority.low,
    "низький": Priority.low,
    # medium
    "normal": Priority.medium,
    "moderate": Priority.medium,
    "mid": Priority.medium,
    "med": Priority.medium,
    "average": Priority.medium,
    "default": Priority.medium,
    "p2": Priority.medium,
    "средний": Priority.medium,
    "середній": Priority.medium,
    # high
    "important": Priority.high,
    "major": Priority.high,
    "p1": Priority.high,
    "высокий": Priority.high,
    "високий": Priority.high,
    # urgent
    "critical": Priority.urgent,
    "crit": Priority.urgent,
    "blocker": Priority.urgent,
    "emergency": Priority.urgent,
    "asap": Priority.urgent,
    "highest": Priority.urgent,
    "p0": Priority.urgent,
    "срочно": Priority.urgent,
    "срочный": Priority.urgent,
    "критический": Priority.urgent,
    "терміново": Priority.urgent,
    "терміновий": Priority.urgent,
    "критичний": Priority.urgent,
}


def normalise_category(value: object) -> Category:
    """The category a model meant, or `OutputRejected` when it is not an allowed one."""
    if isinstance(value, str) and (found := CATEGORY_SYNONYMS.get(_key(value))):
        return found
    allowed = ", ".join(c.value for c in Category)
    raise OutputRejected(f"category {str(value)[:40]!r} is not allowed; use one of: {allowed}")


def normalise_priority(value: object) -> Priority:
    """The priority a model meant, or `OutputRejected` when it is not an allowed one."""
    if isinstance(value, str) and (found := PRIORITY_SYNONYMS.get(_key(value))):
        return found
    allowed = ", ".join(p.value for p in Priority)
    raise OutputRejected(f"priority {str(value)[:40]!r} is not allowed; use one of: {allowed}")


_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")
_TAG = re.compile(r"</?[A-Za-z!?/][^<>]{0,200}>")
_MD_LINK = re.compile(r"!?\[([^\]]{0,200})\]\([^)]{0,500}\)")
_MD_MARKS = re.compile(r"(\*\*|__|~~|`+|^#{1,6}\s+|^>\s+)", re.MULTILINE)


def clean_text(value: str) -> str:
    """`value` without control/format characters, terminal escapes, HTML-like tags and markdown marks, on one line."""
    value = unicodedata.normalize("NFKC", value)
    value = _ANSI.sub("", value)
    value = _TAG.sub(" ", value)
    value = _MD_LINK.sub(r"\1", value)
    value = _MD_MARKS.sub("", value)
    chars = []
    for ch in value:
        kind = unicodedata.category(ch)
        if ch in "\t\n\r" or kind in ("Zl", "Zp"):
            chars.append(" ")
        elif kind not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            chars.append(ch)
    return " ".join("".join(chars).split())


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s|\n")


def first_sentence(message: str) -> str:
    """The first sentence (or line) of a message, cleaned and clipped to a title's length."""
    for part in _SENTENCE_END.split(message.strip()):
        if cleaned := clean_text(part):
            return clip_chars(cleaned, TITLE_MAX)
    return ""


def guard_output(answer: ModelAnswer, message: str) -> ClassificationOutput:
    """Normalise `answer` to a `ClassificationOutput`, or raise `OutputRejected` saying what to fix."""
    category = normalise_category(answer.category)
    priority = normalise_priority(answer.priority)
    if math.isnan(answer.confidence):
        raise OutputRejected("confidence must be a number from 0 to 1")
    confidence = min(1.0, max(0.0, answer.confidence))
    title = clip_chars(clean_text(answer.title), TITLE_MAX) or first_sentence(message)
    if not title:
        raise OutputRejected("title must not be empty")
    summary = clip_chars(clean_text(answer.summary), SUMMARY_MAX)
    actionable = answer.actionable and category is not Category.noise
    if category is Category.noise:
        priority = Priority.low  # labelling rule: noise is always low
    elif category is Category.question and priority is Priority.urgent:
        priority = Priority.high  # labelling rule: a question is never urgent
    return ClassificationOutput(
        category=category,
        priority=priority,
        actionable=actionable,
        title=title,
        summary=summary,
        confidence=confidence,
    )
