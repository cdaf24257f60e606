"""SQL for processed deliveries: claim a (source, key) once, forget old ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from tasktracker.db import insert_ignoring_conflicts, utcnow
from tasktracker.models import ProcessedUpdate


async def claim(session: AsyncSession, source: str, key: str) -> bool:
    """Record a delivery in the caller's transaction. False when it was recorded before (a retry).

    On PostgreSQL a concurrent claim of the same key waits for the first transaction: if that one
    commits this returns False, if it rolls back this one gets the claim.
    """
    stmt = insert_ignoring_conflicts(
        session.bind.dialect.name,  # type: ignore[union-attr]
        ProcessedUpdate.__table__,  # type: ignore[attr-defined]
        {"source": source, "key": key[:200], "created_at": utcnow()},
        ["source", "key"],
    )
    return bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def prune(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.created_at < older_than))  # type: ignore[arg-type]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
