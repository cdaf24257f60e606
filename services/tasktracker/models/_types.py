"""Column helpers shared by the tables."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from tasktracker.db import UTCDateTime, utcnow


def created_at_field(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kwargs)


def timestamp_field(*, nullable: bool = True, **kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kwargs)


def json_field(default_factory: Any) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


__all__ = ["created_at_field", "datetime", "json_field", "timestamp_field"]
