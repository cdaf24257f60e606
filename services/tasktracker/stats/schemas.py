from datetime import date

from pydantic import BaseModel


class DayCount(BaseModel):
    day: date
    count: int


class Latency(BaseModel):
    p50: float | None
    p95: float | None


class StatsPublic(BaseModel):
    by_category: dict[str, int]
    by_priority: dict[str, int]
    by_status: dict[str, int]
    messages_per_day: list[DayCount]
    models: dict[str, int]
    latency_ms: Latency
    needs_review: int
    total_tasks: int
    total_messages: int
