"""exports: export_targets, export_rules; task_exports gains its target, attempts and sync state

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import tasktracker.db


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('export_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('webhook_secret', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('created_at', tasktracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tasktracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('export_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_targets_kind'), ['kind'], unique=False)

    op.create_table('export_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('priority', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', tasktracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['export_targets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('export_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_rules_target_id'), ['target_id'], unique=False)

    with op.batch_alter_table('task_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', tasktracker.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_until', tasktracker.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('remote_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('checked_at', tasktracker.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint('uq_task_exports_task_tracker', type_='unique')
        batch_op.create_unique_constraint('uq_task_exports_task_target', ['task_id', 'target_id'])
        batch_op.create_unique_constraint('uq_task_exports_target_external_id', ['target_id', 'external_id'])
        batch_op.create_foreign_key(
            'fk_task_exports_target_id_export_targets', 'export_targets', ['target_id'], ['id'], ondelete='CASCADE'
        )
        batch_op.create_index('ix_task_exports_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('task_exports', schema=None) as batch_op:
        batch_op.alter_column('attempts', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('task_exports', schema=None) as batch_op:
        batch_op.drop_index('ix_task_exports_status_next_attempt_at')
        batch_op.drop_constraint('fk_task_exports_target_id_export_targets', type_='foreignkey')
        batch_op.drop_constraint('uq_task_exports_target_external_id', type_='unique')
        batch_op.drop_constraint('uq_task_exports_task_target', type_='unique')
        batch_op.create_unique_constraint('uq_task_exports_task_tracker', ['task_id', 'tracker'])
        batch_op.drop_column('checked_at')
        batch_op.drop_column('remote_state')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('target_id')

    with op.batch_alter_table('export_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_rules_target_id'))
    op.drop_table('export_rules')
    with op.batch_alter_table('export_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_targets_kind'))
    op.drop_table('export_targets')
