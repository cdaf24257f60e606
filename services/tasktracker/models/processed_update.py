from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from tasktracker.models._types import created_at_field


class ProcessedUpdate(SQLModel, table=True):
    """A delivery that was handled once and must not be handled again.

    `source` names the sender (`telegram:<bot id>`, `slack`, `telegram-reply`, ...), `key` the id it
    gave the delivery (update id, event id, task id). Written in the same transaction as what the
    delivery caused, so a retry after a failure runs again and a retry after success does nothing.
    """

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_processed_updates_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    key: str = Field(max_length=200)
    created_at: datetime = created_at_field(index=True)
