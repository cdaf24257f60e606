"""channels.secret: encrypted at rest (room for the Fernet token; existing plain-text secrets encrypted)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 14:30:00

The key comes from the settings the migration runs with (`TASKTRACKER_SECRET_KEY`): the same the
processes use, so they can read what this wrote. Downgrading decrypts again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import context, op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

channels = sa.table('channels', sa.column('id', sa.Integer()), sa.column('secret', sa.String()))


def _box():  # noqa: ANN202 - imported here: a migration module must not pull the app in at import
    from tasktracker.config import load_settings
    from tasktracker.crypto import SecretBox

    settings = context.config.attributes.get("settings") or load_settings()
    return SecretBox.from_settings(settings)


def upgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.alter_column(
            'secret',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=500),
            type_=sqlmodel.sql.sqltypes.AutoString(length=1000),
            existing_nullable=True,
        )
    connection = op.get_bind()
    rows = connection.execute(sa.select(channels.c.id, channels.c.secret).where(channels.c.secret.is_not(None)))
    box = None
    for row_id, secret in rows.all():
        if secret.startswith("enc:"):
            continue
        box = box or _box()
        connection.execute(channels.update().where(channels.c.id == row_id).values(secret=box.seal(secret)))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(channels.c.id, channels.c.secret).where(channels.c.secret.is_not(None)))
    box = None
    for row_id, secret in rows.all():
        if not secret.startswith("enc:"):
            continue
        box = box or _box()
        connection.execute(channels.update().where(channels.c.id == row_id).values(secret=box.open(secret)))
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.alter_column(
            'secret',
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=1000),
            type_=sqlmodel.sql.sqltypes.AutoString(length=500),
            existing_nullable=True,
        )
