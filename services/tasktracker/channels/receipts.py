"""SQL for processed deliveries: claim a (source, key) once, forget old ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from tasktracker.db import execute_dml, insert_ignoring_conflicts, table_of, utcnow
from tasktracker.models import ProcessedUpdate


async def claim(session: AsyncSession, source: str, key: str) -> bool:
    """Record a delivery in the caller's transaction. False when it was recorded before (a retry).

    On PostgreSQL a concurrent claim of the same key waits for the first transaction: if that one
    commits this returns False, if it rolls back this one gets the claim.
    """
    stmt = insert_ignoring_conflicts(
        session.bind.dialect.name,
        table_of(ProcessedUpdate),
        {"source": source, "key": key[:200], "created_at": utcnow()},
        ["source", "key"],
    )
    return bool((await execute_dml(session, stmt)).rowcount)


async def prune(session: AsyncSession, older_than: datetime) -> int:
    result = await execute_dml(
        session, delete(ProcessedUpdate).where(col(ProcessedUpdate.created_at) < older_than)
    )
    return int(result.rowcount or 0)
