"""Indexes for the task and message lists at a million rows: one per filter along the default sort, the
priority sort, and full-text search (PostgreSQL GIN over `to_tsvector('simple', ...)`)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:30:00

The composite (filter, created_at, id) indexes replace the single-column ones on the same filter column,
which they serve as well. On PostgreSQL the index builds hold a write lock on their table for as long as
they take (about a minute for all of them at a million tasks and messages on a small machine).
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TASK_FILTERS = ('category', 'priority', 'assignee', 'channel_id', 'needs_review')
PRIORITY_RANK = (
    "(CASE WHEN (priority = 'low') THEN 0 WHEN (priority = 'medium') THEN 1"
    " WHEN (priority = 'high') THEN 2 WHEN (priority = 'urgent') THEN 3 ELSE -1 END)"
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for column in TASK_FILTERS:
        op.drop_index(f'ix_tasks_{column}', table_name='tasks')
        op.create_index(f'ix_tasks_{column}_created_at_id', 'tasks', [column, 'created_at', 'id'])
    op.execute(f'CREATE INDEX ix_tasks_priority_rank_id ON tasks ({PRIORITY_RANK}, id)')
    op.drop_index('ix_messages_channel_id', table_name='messages')
    op.create_index('ix_messages_channel_id_received_at_id', 'messages', ['channel_id', 'received_at', 'id'])
    op.create_index('ix_messages_status_received_at_id', 'messages', ['status', 'received_at', 'id'])
    if postgresql:
        op.execute(
            "CREATE INDEX ix_tasks_search ON tasks"
            " USING gin (to_tsvector('simple'::regconfig, title || ' ' || description))"
        )
        op.execute(
            "CREATE INDEX ix_messages_search ON messages USING gin (to_tsvector('simple'::regconfig, content))"
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.drop_index('ix_messages_search', table_name='messages')
        op.drop_index('ix_tasks_search', table_name='tasks')
    op.drop_index('ix_messages_status_received_at_id', table_name='messages')
    op.drop_index('ix_messages_channel_id_received_at_id', table_name='messages')
    op.create_index('ix_messages_channel_id', 'messages', ['channel_id'])
    op.drop_index('ix_tasks_priority_rank_id', table_name='tasks')
    for column in TASK_FILTERS:
        op.drop_index(f'ix_tasks_{column}_created_at_id', table_name='tasks')
        op.create_index(f'ix_tasks_{column}', 'tasks', [column])
