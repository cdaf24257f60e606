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


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from tasktracker.migrations import alembic_config, script_heads

    assert script_heads() == set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def test_scripts_that_do_not_read_as_expected_leave_the_heads_to_alembic(tmp_path, monkeypatch) -> None:
    from tasktracker import migrations

    versions = tmp_path / "versions"
    versions.mkdir()
    monkeypatch.setattr(migrations, "HERE", tmp_path)
    (versions / "0001_a.py").write_text("revision: str = '0001'\ndown_revision: str | None = None\n")
    (versions / "0002_b.py").write_text("revision = \"0002\"\ndown_revision = '0001'\n")
    (versions / "0003_c.py").write_text("revision = '0003'\ndown_revision = ('0001',)\n")
    (versions / "0004_merge.py").write_text("revision = '0004'\ndown_revision = ('0002', '0003')\n")
    assert migrations.script_heads() == {"0004"}
    (versions / "0005_odd.py").write_text("revision = make_id()\ndown_revision = '0004'\n")
    assert migrations.script_heads() is None
    (versions / "0005_odd.py").write_text("REVISION = '0005'\n")
    assert migrations.script_heads() is None
    (versions / "0005_odd.py").write_text("revision = '0005'\ndown_revision = '0099'\n")  # unknown parent
    assert migrations.script_heads() is None


async def test_an_upgrade_at_head_needs_no_alembic_and_one_behind_is_applied(
    make_settings, monkeypatch
) -> None:
    from alembic import command
    from sqlalchemy import text

    engine = create_engine(make_settings())
    real_upgrade, calls = command.upgrade, []
    monkeypatch.setattr(command, "upgrade", lambda *a, **k: calls.append(a[1:]) or real_upgrade(*a, **k))

    async def current() -> list[str]:
        async with engine.connect() as conn:
            return list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())

    try:
        await upgrade(engine)
        assert calls == []  # the database is at head: nothing to run
        head = await current()
        await downgrade(engine, "-1")
        assert await current() != head
        await upgrade(engine)
        assert calls == [("head",)]
        assert await current() == head
    finally:
        await engine.dispose()
