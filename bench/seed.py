"""A realistic PostgreSQL database of N tasks and N messages for the query and stats suites, seeded by COPY.

Distributions (what a busy team's year looks like): six channels of unequal traffic; messages from the
labelled sets in ai/data (English, Ukrainian, Russian), one to three sentences each with references and
the odd typo; one task per message, category and priority from the labels, status by age (recent work
open, old work done), a long tail of assignees (Zipf), 8% of open tasks waiting for review; one or two
classification runs per message; timestamps spread over the last year, growing traffic.

Seeded databases are cached by name (`tt_bench_100k`, `tt_bench_1m`, ...), marked with `SEED_VERSION`;
a database whose mark differs is dropped and seeded again. `drop_cached()` removes them all.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

# "3": the query-index migration became 0005 when it landed after accounts (0004), so databases cached
# under "2" carry an alembic revision that now means something else: seed them again.
SEED_VERSION = "3"
DATA = Path(__file__).resolve().parents[1] / "services" / "tasktracker" / "ai" / "data"
CHUNK = 50_000

# (name, kind, share of the traffic)
CHANNELS = [
    ("support", "telegram", 0.35),
    ("dev-team", "slack", 0.25),
    ("api", "api", 0.18),
    ("ops", "telegram", 0.12),
    ("sales", "slack", 0.07),
    ("webhook", "webhook", 0.03),
]
STATUSES_RECENT = (["open"] * 55) + (["in_progress"] * 30) + (["completed"] * 10) + (["closed"] * 5)
STATUSES_OLD = (["open"] * 6) + (["in_progress"] * 4) + (["completed"] * 60) + (["closed"] * 30)
MODELS = ["builtin:v3", "ollama:qwen2.5:3b-instruct"]
# Words the query suite searches for: a rare one (in ~1 of 100,000 rows) and a made-up reference.
RARE_WORD = "zanzibar"


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def database_name(size: int) -> str:
    return f"tt_bench_{label(size)}"


def _corpus() -> list[dict[str, Any]]:
    rows = []
    for name in ("train.jsonl", "dev.jsonl", "check.jsonl"):
        for line in (DATA / name).read_text().splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def _assignees(rng: random.Random) -> list[str]:
    first = ["ann", "bob", "dana", "oleh", "iryna", "max", "li", "sam", "petro", "olga", "kim", "raj"]
    return [f"{rng.choice(first)}.{i}" for i in range(400)]


class Seeder:
    def __init__(self, size: int, seed: int = 13) -> None:
        self.size = size
        self.rng = random.Random(seed)
        self.corpus = _corpus()
        self.actionable = [r for r in self.corpus if r.get("category") != "noise"] or self.corpus
        self.assignees = _assignees(self.rng)
        weights = [1 / (rank + 1) ** 1.1 for rank in range(len(self.assignees))]
        total = sum(weights)
        self.assignee_cdf = [sum(weights[: i + 1]) / total for i in range(len(weights))]
        self.now = datetime.now(UTC).replace(microsecond=0)

    def _assignee(self) -> str | None:
        if self.rng.random() < 0.35:
            return None
        x = self.rng.random()
        lo, hi = 0, len(self.assignee_cdf) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self.assignee_cdf[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return self.assignees[lo]

    def _text(self, row: dict[str, Any]) -> str:
        rng = self.rng
        parts = [row["text"]]
        if rng.random() < 0.3:
            parts.append(rng.choice(self.corpus)["text"])
        if rng.random() < 0.2:
            parts.append(f"(ref {rng.choice(['OPS', 'WEB', 'PAY', 'APP'])}-{rng.randrange(10_000)})")
        if rng.random() < 1e-5 * 10:  # ~10 in a million rows
            parts.append(RARE_WORD)
        return " ".join(parts)

    def _when(self, i: int) -> datetime:
        # Traffic grows over the year: row i of N lands at fraction sqrt(i/N) of the year.
        fraction = ((i + self.rng.random()) / self.size) ** 0.5
        return self.now - timedelta(days=365) + timedelta(seconds=fraction * 365 * 86400 - 60)

    def rows(self, start: int, stop: int) -> tuple[list[tuple[Any, ...]], ...]:
        """Tasks, messages and issues for ids start+1 .. stop (one each per id; a second issue now and then)."""
        rng = self.rng
        tasks, messages, issues = [], [], []
        channel_ids = list(range(1, len(CHANNELS) + 1))
        channel_weights = [c[2] for c in CHANNELS]
        for i in range(start, stop):
            row_id = i + 1
            row = rng.choice(self.actionable)
            text = self._text(row)
            created = self._when(i)
            channel = rng.choices(channel_ids, channel_weights)[0]
            age_days = (self.now - created).days
            status = rng.choice(STATUSES_RECENT if age_days < 30 else STATUSES_OLD)
            open_ = status in ("open", "in_progress")
            updated = created + timedelta(minutes=rng.randrange(0, 60 * 24 * (3 if open_ else 20)))
            updated = min(updated, self.now)
            closed_at = updated if not open_ else None
            needs_review = open_ and rng.random() < 0.08
            category = row.get("category") or "task"
            priority = row.get("priority") or "medium"
            received = created - timedelta(milliseconds=rng.randrange(50, 900))
            meta = "{}"
            message_status = "classified"
            if age_days < 2:
                message_status = rng.choice(["classified"] * 97 + ["failed", "received", "classifying"])
            messages.append(
                (
                    row_id,
                    channel,
                    str(row_id),
                    None,
                    rng.choice(self.assignees) if rng.random() < 0.9 else None,
                    text,
                    received,
                    received,
                    created,
                    message_status,
                    1,
                    row_id,
                    meta,
                )
            )
            runs = 2 if rng.random() < 0.05 else 1
            for run in range(runs):
                issues.append(
                    (
                        row_id,
                        rng.choice(["bug", "task"]) if run < runs - 1 else category,
                        priority,
                        True,
                        text[:200],
                        "",
                        round(rng.uniform(0.35, 0.99), 3),
                        rng.choices(MODELS, [0.7, 0.3])[0],
                        round(rng.lognormvariate(2.5, 0.8), 2),
                        "v2",
                        received + timedelta(milliseconds=rng.randrange(20, 900)),
                    )
                )
            tasks.append(
                (
                    row_id,
                    text[:200],
                    text,
                    category,
                    priority,
                    status,
                    self._assignee() if status != "open" or rng.random() < 0.3 else None,
                    "[]",
                    needs_review,
                    round(rng.uniform(0.35, 0.99), 3),
                    row_id,
                    None,
                    channel,
                    None,
                    1 if rng.random() < 0.9 else rng.randrange(2, 6),
                    created,
                    updated,
                    closed_at,
                )
            )
        return tasks, messages, issues

    def chunks(self) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
        for start in range(0, self.size, CHUNK):
            yield self.rows(start, min(self.size, start + CHUNK))


TASK_COLUMNS = [
    "id", "title", "description", "category", "priority", "status", "assignee", "labels", "needs_review",
    "confidence", "source_message_id", "issue_id", "channel_id", "merged_into_id", "message_count",
    "created_at", "updated_at", "closed_at",
]  # fmt: skip
MESSAGE_COLUMNS = [
    "id", "channel_id", "external_id", "thread_external_id", "author", "content", "sent_at", "received_at",
    "updated_at", "status", "attempts", "task_id", "meta",
]  # fmt: skip
ISSUE_COLUMNS = [
    "message_id", "category", "priority", "actionable", "title", "summary", "confidence", "model",
    "latency_ms", "prompt_version", "created_at",
]  # fmt: skip


async def seed(conn: asyncpg.Connection, size: int) -> None:
    """Fill a migrated, empty database with `size` tasks, messages and their classification runs."""
    await conn.execute("SET session_replication_role = replica")  # no per-row FK checks while loading
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "channels",
        records=[
            (i + 1, kind, name, f"{kind}-{i + 1}", True, None, "{}", now)
            for i, (name, kind, _) in enumerate(CHANNELS)
        ],
        columns=["id", "kind", "name", "external_id", "enabled", "secret", "settings", "created_at"],
    )
    seeder = Seeder(size)
    # Since migration 0005 a classified message keeps its category (that of its latest run).
    with_category = bool(
        await conn.fetchval(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'messages' AND column_name = 'category'"
        )
    )
    message_columns = MESSAGE_COLUMNS + (["category"] if with_category else [])
    for tasks, messages, issues in seeder.chunks():
        if with_category:
            latest = {issue[0]: issue[1] for issue in issues}  # issues come in run order
            messages = [(*m, latest[m[0]] if m[9] == "classified" else None) for m in messages]
        await conn.copy_records_to_table("tasks", records=tasks, columns=TASK_COLUMNS)
        await conn.copy_records_to_table("messages", records=messages, columns=message_columns)
        await conn.copy_records_to_table("issues", records=issues, columns=ISSUE_COLUMNS)
    await conn.execute("SET session_replication_role = DEFAULT")
    if await conn.fetchval("SELECT to_regclass('task_counts') IS NOT NULL"):
        # The counting triggers (migration 0005) do not fire in replica mode: count as the migration does.
        await conn.execute(
            "INSERT INTO task_counts (category, priority, status, needs_review, shard, n)"
            " SELECT category, priority, status, needs_review, 0, count(*) FROM tasks GROUP BY 1, 2, 3, 4"
        )
        await conn.execute(
            "INSERT INTO message_day_counts (day, shard, n)"
            " SELECT (received_at AT TIME ZONE 'UTC')::date, 0, count(*) FROM messages GROUP BY 1"
        )
        await conn.execute(
            "INSERT INTO issue_day_counts (day, model, shard, n)"
            " SELECT (created_at AT TIME ZONE 'UTC')::date, model, 0, count(*) FROM issues GROUP BY 1, 2"
        )
    for table in ("channels", "tasks", "messages", "issues"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    await conn.execute("CREATE TABLE bench_seed (version text, size bigint)")
    await conn.execute("INSERT INTO bench_seed VALUES ($1, $2)", SEED_VERSION, size)
