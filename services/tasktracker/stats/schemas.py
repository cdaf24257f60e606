from typing import Any

from pydantic import BaseModel


class StatsPublic(BaseModel):
    by_category: dict[str, int]
    by_priority: dict[str, int]
    by_status: dict[str, int]
    messages_per_day: list[dict[str, Any]]
    models: dict[str, int]
    latency_ms: dict[str, float | None]
    needs_review: int
    total_tasks: int
    total_messages: int
