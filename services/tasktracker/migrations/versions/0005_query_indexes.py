"""Lists and statistics at a million rows: an index per list filter along the default sort, the
priority sort and full-text search (PostgreSQL GIN over `to_tsvector('simple', ...)`); messages keep
their category; task and message counts kept by triggers for the statistics

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 16:30:00

The composite (filter, created_at, id) indexes replace the single-column ones on the same filter column,
which they serve as well. On PostgreSQL, `search_vector` (a stored generated column) rewrites `tasks`
and `messages`, and the index builds and the messages' category backfill hold a write lock on their
table while they run: several minutes at a million tasks and messages on a small machine.

`task_counts`, `message_day_counts` and `issue_day_counts` are filled from the tables, then kept by triggers in the writing
transaction. On PostgreSQL a count is spread over `SHARDS` rows by the writing backend's pid, so that
concurrent writers seldom wait on one row lock; each trigger writes its rows in key order, so two
writers cannot deadlock on them. Message and issue inserts are counted per statement (one upsert per
batch). SQLite's batch mode recreates a table to alter it, which drops its triggers: a later migration
that batch-alters `tasks`, `messages` or `issues` on SQLite must create them again (SQLITE_TRIGGERS).
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TASK_FILTERS = ('category', 'priority', 'assignee', 'channel_id', 'needs_review')
PRIORITY_RANK = (
    "(CASE WHEN (priority = 'low') THEN 0 WHEN (priority = 'medium') THEN 1"
    " WHEN (priority = 'high') THEN 2 WHEN (priority = 'urgent') THEN 3 ELSE -1 END)"
)


SHARDS = 8
TASK_KEY = ('category', 'priority', 'status', 'needs_review')
TASK_CHANGED = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in TASK_KEY)
SQLITE_TASK_CHANGED = ' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in TASK_KEY)

POSTGRES_TRIGGERS = f"""
CREATE FUNCTION tt_count_task() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    writer_shard smallint := pg_backend_pid() % {SHARDS};
BEGIN
    INSERT INTO task_counts AS c (category, priority, status, needs_review, shard, n)
    SELECT category, priority, status, needs_review, writer_shard, delta FROM (
        SELECT OLD.category, OLD.priority, OLD.status, OLD.needs_review, -1 WHERE TG_OP <> 'INSERT'
        UNION ALL
        SELECT NEW.category, NEW.priority, NEW.status, NEW.needs_review, 1 WHERE TG_OP <> 'DELETE'
    ) AS change (category, priority, status, needs_review, delta)
    ORDER BY category, priority, status, needs_review
    ON CONFLICT (category, priority, status, needs_review, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END $$;

CREATE TRIGGER tt_count_task_insert AFTER INSERT ON tasks
    FOR EACH ROW EXECUTE FUNCTION tt_count_task();
CREATE TRIGGER tt_count_task_delete AFTER DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tt_count_task();
CREATE TRIGGER tt_count_task_update AFTER UPDATE OF {', '.join(TASK_KEY)} ON tasks
    FOR EACH ROW WHEN ({TASK_CHANGED}) EXECUTE FUNCTION tt_count_task();

CREATE FUNCTION tt_count_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_day_counts AS c (day, shard, n)
        SELECT (received_at AT TIME ZONE 'UTC')::date, pg_backend_pid() % {SHARDS}, count(*)
        FROM new_rows GROUP BY 1 ORDER BY 1
        ON CONFLICT (day, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO message_day_counts AS c (day, shard, n)
        SELECT (received_at AT TIME ZONE 'UTC')::date, pg_backend_pid() % {SHARDS}, -count(*)
        FROM old_rows GROUP BY 1 ORDER BY 1
        ON CONFLICT (day, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tt_count_messages_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_count_messages();
CREATE TRIGGER tt_count_messages_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_count_messages();

CREATE FUNCTION tt_count_issues() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO issue_day_counts AS c (day, model, shard, n)
        SELECT (created_at AT TIME ZONE 'UTC')::date, model, pg_backend_pid() % {SHARDS}, count(*)
        FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (day, model, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO issue_day_counts AS c (day, model, shard, n)
        SELECT (created_at AT TIME ZONE 'UTC')::date, model, pg_backend_pid() % {SHARDS}, -count(*)
        FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (day, model, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tt_count_issues_insert AFTER INSERT ON issues
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_count_issues();
CREATE TRIGGER tt_count_issues_delete AFTER DELETE ON issues
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tt_count_issues();
"""


def _sqlite_task_upsert(row: str, delta: str) -> str:
    return (
        'INSERT INTO task_counts (category, priority, status, needs_review, shard, n)'
        f' VALUES ({row}.category, {row}.priority, {row}.status, {row}.needs_review, 0, {delta})'
        f' ON CONFLICT (category, priority, status, needs_review, shard) DO UPDATE SET n = n + {delta};'
    )


def _sqlite_day_upsert(row: str, delta: str) -> str:
    return (
        f'INSERT INTO message_day_counts (day, shard, n) VALUES (date({row}.received_at), 0, {delta})'
        f' ON CONFLICT (day, shard) DO UPDATE SET n = n + {delta};'
    )


def _sqlite_issue_upsert(row: str, delta: str) -> str:
    return (
        'INSERT INTO issue_day_counts (day, model, shard, n)'
        f' VALUES (date({row}.created_at), {row}.model, 0, {delta})'
        f' ON CONFLICT (day, model, shard) DO UPDATE SET n = n + {delta};'
    )


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER tt_count_task_insert AFTER INSERT ON tasks BEGIN {_sqlite_task_upsert('NEW', '1')} END",
    f"CREATE TRIGGER tt_count_task_delete AFTER DELETE ON tasks BEGIN {_sqlite_task_upsert('OLD', '-1')} END",
    f"CREATE TRIGGER tt_count_task_update AFTER UPDATE OF {', '.join(TASK_KEY)} ON tasks"
    f" WHEN {SQLITE_TASK_CHANGED}"
    f" BEGIN {_sqlite_task_upsert('OLD', '-1')} {_sqlite_task_upsert('NEW', '1')} END",
    f"CREATE TRIGGER tt_count_messages_insert AFTER INSERT ON messages BEGIN {_sqlite_day_upsert('NEW', '1')} END",
    f"CREATE TRIGGER tt_count_messages_delete AFTER DELETE ON messages BEGIN {_sqlite_day_upsert('OLD', '-1')} END",
    f"CREATE TRIGGER tt_count_issues_insert AFTER INSERT ON issues BEGIN {_sqlite_issue_upsert('NEW', '1')} END",
    f"CREATE TRIGGER tt_count_issues_delete AFTER DELETE ON issues BEGIN {_sqlite_issue_upsert('OLD', '-1')} END",
]
TRIGGERS = ('tt_count_task_insert', 'tt_count_task_delete', 'tt_count_task_update')
MESSAGE_TRIGGERS = ('tt_count_messages_insert', 'tt_count_messages_delete')
ISSUE_TRIGGERS = ('tt_count_issues_insert', 'tt_count_issues_delete')


def _create_counts(postgresql: bool) -> None:
    op.create_table(
        'task_counts',
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('priority', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('needs_review', sa.Boolean(), nullable=False),
        sa.Column('shard', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('category', 'priority', 'status', 'needs_review', 'shard'),
    )
    op.create_table(
        'message_day_counts',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('shard', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'shard'),
    )
    op.create_table(
        'issue_day_counts',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('shard', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('n', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'model', 'shard'),
    )
    # Counted under a share lock: no write can slip between the count and the trigger that counts it.
    if postgresql:
        op.execute('LOCK TABLE tasks, messages, issues IN SHARE MODE')
    op.execute(
        'INSERT INTO task_counts (category, priority, status, needs_review, shard, n)'
        ' SELECT category, priority, status, needs_review, 0, count(*) FROM tasks'
        ' GROUP BY category, priority, status, needs_review'
    )
    day = "(received_at AT TIME ZONE 'UTC')::date" if postgresql else 'date(received_at)'
    op.execute(
        f'INSERT INTO message_day_counts (day, shard, n) SELECT {day}, 0, count(*) FROM messages GROUP BY 1'
    )
    day = "(created_at AT TIME ZONE 'UTC')::date" if postgresql else 'date(created_at)'
    op.execute(
        f'INSERT INTO issue_day_counts (day, model, shard, n)'
        f' SELECT {day}, model, 0, count(*) FROM issues GROUP BY 1, 2'
    )
    if postgresql:
        for statement in re.split(r';\s*\n(?=CREATE )', POSTGRES_TRIGGERS.strip()):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def _drop_counts(postgresql: bool) -> None:
    for name in TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (' ON tasks' if postgresql else ''))
    for name in MESSAGE_TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (' ON messages' if postgresql else ''))
    for name in ISSUE_TRIGGERS:
        op.execute(f'DROP TRIGGER IF EXISTS {name}' + (' ON issues' if postgresql else ''))
    if postgresql:
        op.execute('DROP FUNCTION IF EXISTS tt_count_task()')
        op.execute('DROP FUNCTION IF EXISTS tt_count_messages()')
        op.execute('DROP FUNCTION IF EXISTS tt_count_issues()')
    op.drop_table('issue_day_counts')
    op.drop_table('message_day_counts')
    op.drop_table('task_counts')


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for column in TASK_FILTERS:
        op.drop_index(f'ix_tasks_{column}', table_name='tasks')
        op.create_index(f'ix_tasks_{column}_created_at_id', 'tasks', [column, 'created_at', 'id'])
    op.execute(f'CREATE INDEX ix_tasks_priority_rank_id ON tasks ({PRIORITY_RANK}, id)')
    op.create_index(
        'ix_tasks_review_status_created_at_id',
        'tasks',
        ['status', 'created_at', 'id'],
        postgresql_where=sa.text('needs_review'),
        sqlite_where=sa.text('needs_review'),
    )
    op.drop_index('ix_messages_channel_id', table_name='messages')
    op.create_index('ix_messages_channel_id_received_at_id', 'messages', ['channel_id', 'received_at', 'id'])
    op.create_index('ix_messages_status_received_at_id', 'messages', ['status', 'received_at', 'id'])
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=20), nullable=True))
    # Each classified message takes the category of its latest classification run.
    op.execute(
        'UPDATE messages SET category = (SELECT issues.category FROM issues'
        ' WHERE issues.message_id = messages.id ORDER BY issues.id DESC LIMIT 1)'
        " WHERE status = 'classified'"
    )
    op.create_index('ix_messages_category_received_at_id', 'messages', ['category', 'received_at', 'id'])
    if postgresql:  # see tasktracker.models.DATABASE_ONLY and tasktracker.db.search
        for table, document in (('tasks', "title || ' ' || description"), ('messages', 'content')):
            op.execute(
                f'ALTER TABLE {table} ADD COLUMN search_vector tsvector'
                f" GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {document})) STORED"
            )
            op.execute(f'CREATE INDEX ix_{table}_search ON {table} USING gin (search_vector)')
    _create_counts(postgresql)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    _drop_counts(postgresql)
    if postgresql:
        for table in ('messages', 'tasks'):
            op.drop_index(f'ix_{table}_search', table_name=table)
            op.drop_column(table, 'search_vector')
    op.drop_index('ix_messages_status_received_at_id', table_name='messages')
    op.drop_index('ix_messages_category_received_at_id', table_name='messages')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('category')
    op.drop_index('ix_messages_channel_id_received_at_id', table_name='messages')
    op.create_index('ix_messages_channel_id', 'messages', ['channel_id'])
    op.drop_index('ix_tasks_priority_rank_id', table_name='tasks')
    op.drop_index('ix_tasks_review_status_created_at_id', table_name='tasks')
    for column in TASK_FILTERS:
        op.drop_index(f'ix_tasks_{column}_created_at_id', table_name='tasks')
        op.create_index(f'ix_tasks_{column}', 'tasks', [column])
