"""The query benchmark's seed and query list stay in step with the schema and the API (no timing here:
`python -m bench queries` measures; this only keeps the harness from rotting)."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from bench import queries, seed
from tasktracker.db import create_engine, create_sessionmaker
from tasktracker.migrations import upgrade


async def test_the_seeded_database_answers_every_benchmarked_query(make_settings, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the benchmark seeds PostgreSQL by COPY")
    engine = create_engine(make_settings())
    try:
        await upgrade(engine)
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await seed.seed(conn, 2_000)
            assert await conn.fetchval("SELECT count(*) FROM tasks") == 2_000
            assert await conn.fetchval("SELECT count(*) FROM messages WHERE category IS NULL") < 100
            counted = await conn.fetchval("SELECT sum(n) FROM task_counts")
            assert counted == 2_000  # the counting triggers saw the COPY
            tail = await conn.fetchval("SELECT assignee FROM tasks WHERE assignee IS NOT NULL LIMIT 1")
        finally:
            await conn.close()
        app = queries._reader_app(create_sessionmaker(engine))
        values = {"tail_assignee": tail, "task_id": 1, "cursor": None}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            first = (await client.get("/api/tasks", params={"limit": 50})).json()
            values["cursor"] = first["next_cursor"]
            assert values["cursor"]
            for path, group in (
                ("/api/tasks", queries.TASK_QUERIES),
                ("/api/messages", queries.MESSAGE_QUERIES),
            ):
                for name, params in group:
                    response = await client.get(path, params={"limit": 50, **queries._fill(params, values)})
                    assert response.status_code == 200, (name, response.text)
                    if name.endswith("default") or "<common word>" in name:
                        assert response.json()["data"], name
    finally:
        await engine.dispose()


def test_figures_carry_ratio_and_target() -> None:
    measured = {
        "by_size": [
            {
                "size": 1_000_000,
                "queries": {
                    "tasks default": {"p50": 4.0, "p99": 12.0, "baseline_p99": 3.0, "baseline_p50": 1.0}
                },
                "stats": {"p50": 20.0, "p99": 40.0},
                "http_floor_p50": 2.0,
            }
        ]
    }
    [tasks] = queries.figures(measured)
    assert (tasks["ratio"], tasks["met"], tasks["target"]) == (4.0, True, "< 30 ms")
    [stats] = queries.stats_figures(measured)
    assert (stats["ratio"], stats["met"]) == (10.0, True)
    assert queries.percentile([float(i) for i in range(1, 101)], 99) == 99.0
