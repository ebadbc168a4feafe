"""connections: what the calendar shows of each event (full details, title and time, or busy only); entries:
when and how each was last synced (push, poll or resync)

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display', sa.String(length=20), nullable=False, server_default='full'))
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('synced_via', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('synced_via')
        batch_op.drop_column('synced_at')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('display')
