"""The classification schema used everywhere: the AI output, the API, the `issues` table."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Category(StrEnum):
    bug = "bug"
    feature = "feature"
    question = "question"
    task = "task"
    noise = "noise"


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


PRIORITY_RANK: dict[Priority, int] = {
    Priority.low: 0,
    Priority.medium: 1,
    Priority.high: 2,
    Priority.urgent: 3,
}

TITLE_MAX = 80
SUMMARY_MAX = 500


def clip_chars(value: str, limit: int) -> str:
    """At most `limit` characters: a longer text is cut and ends in "…"."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


class ClassificationOutput(BaseModel):
    """What a classifier decides about one message (the part a model produces)."""

    model_config = ConfigDict(use_enum_values=False)

    category: Category
    priority: Priority
    actionable: bool
    title: str = Field(max_length=TITLE_MAX)
    summary: str = Field(default="", max_length=SUMMARY_MAX)
    confidence: float = Field(ge=0.0, le=1.0)

    @field_validator("title", "summary", mode="before")
    @classmethod
    def _clip(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            value = clip_chars(
                " ".join(value.split()), TITLE_MAX if info.field_name == "title" else SUMMARY_MAX
            )
        return value


class Classification(ClassificationOutput):
    """A classification together with who produced it and how long it took."""

    model: str
    latency_ms: float = Field(ge=0.0)
    prompt_version: str | None = None
    # The probability of the chosen priority, where the classifier has one (the built-in model); it
    # routes uncertain priorities to review and is not stored (excluded from dumps).
    priority_confidence: float | None = Field(default=None, ge=0.0, le=1.0, exclude=True)


def needs_review(result: Classification, threshold: float, priority_threshold: float) -> bool:
    """Whether a person should confirm this classification (the review queue).

    Low confidence in the category (< `threshold`) or in the priority (< `priority_threshold`), and
    every `urgent` (the costliest label to get wrong either way: a missed outage, or people paged for
    nothing).
    """
    if result.priority is Priority.urgent or result.confidence < threshold:
        return True
    return result.priority_confidence is not None and result.priority_confidence < priority_threshold


class ClassifyRequest(BaseModel):
    content: str = Field(min_length=1)
