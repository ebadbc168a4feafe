"""sync lag: when an entry became dirty, and each round's longest wait from a change to the calendar

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('connection_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lag_ms', sa.Integer(), nullable=True))

    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dirty_since', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('dirty_since')

    with op.batch_alter_table('connection_log', schema=None) as batch_op:
        batch_op.drop_column('lag_ms')

