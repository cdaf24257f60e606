from datetime import date

from sqlalchemy import BigInteger, Column, SmallInteger
from sqlmodel import Field, SQLModel

# Counts the dashboard's statistics read instead of counting a million rows on each request. Database
# triggers keep them (migration 0005), so every write path — API, worker, bot, a manual UPDATE — counts,
# in the writer's own transaction: a count can never disagree with the committed rows. PostgreSQL spreads
# each count over a few rows (`shard`, from the writing connection) so that concurrent writers do not
# queue on one row lock; a count is the sum over its shards.


class TaskCount(SQLModel, table=True):
    """How many tasks have this category, priority, status and review flag (summed over shards)."""

    __tablename__ = "task_counts"

    category: str = Field(max_length=20, primary_key=True)
    priority: str = Field(max_length=20, primary_key=True)
    status: str = Field(max_length=20, primary_key=True)
    needs_review: bool = Field(primary_key=True)
    shard: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    n: int = Field(sa_column=Column(BigInteger, nullable=False))


class MessageDayCount(SQLModel, table=True):
    """How many messages were received on this UTC day (summed over shards)."""

    __tablename__ = "message_day_counts"

    day: date = Field(primary_key=True)
    shard: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    n: int = Field(sa_column=Column(BigInteger, nullable=False))


class IssueDayCount(SQLModel, table=True):
    """How many classification runs this model made on this UTC day (summed over shards)."""

    __tablename__ = "issue_day_counts"

    day: date = Field(primary_key=True)
    model: str = Field(max_length=200, primary_key=True)
    shard: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    n: int = Field(sa_column=Column(BigInteger, nullable=False))
