"""Migrations go up from empty and down again on both databases, and match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tasktracker.db import create_engine
from tasktracker.migrations import downgrade, upgrade
from tasktracker.models import DATABASE_ONLY, metadata


def _modelled(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Everything is compared but what PostgreSQL keeps beside the models on purpose (DATABASE_ONLY)."""
    table = getattr(obj, "table", None)
    return not (reflected and compare_to is None and (getattr(table, "name", None), name) in DATABASE_ONLY)


@pytest.mark.empty_database
async def test_upgrade_matches_models_and_downgrades(make_settings) -> None:
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"messages", "issues", "task_exports", "channels", "tasks"} <= tables
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"include_object": _modelled}), metadata
                )
            )
            assert diff == [], f"models and migrations differ: {diff}"
        await upgrade(engine)  # idempotent
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert tables <= {"alembic_version"}
    finally:
        await engine.dispose()
