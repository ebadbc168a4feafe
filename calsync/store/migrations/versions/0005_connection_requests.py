"""connections: request counters (a round clears only the requests it consumed), and what diagnose reads as columns

``full_sync_seq``, ``resync_seq`` and ``pull_seq`` grow with every full-sync request, Resync and pull request; a
round clears ``need_full_sync``, ``resync_requested`` and ``pull_requested`` only where the counter still has the
value it read (a request that arrived while it ran stays for the next round). ``last_full_reconcile_at`` and
``auth_error_code`` are what diagnose used to parse out of log lines and ``need_full_sync_reason``; both are
backfilled from there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STORED_CODE = re.compile(r"authorization failed \((?P<code>[^)]*)\)")
"""How ``mark_auth_error`` wrote the provider's code into ``need_full_sync_reason`` before this revision."""


def upgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_sync_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('resync_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pull_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_full_reconcile_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auth_error_code', sa.String(length=200), nullable=True))

    connections = sa.table(
        'connections',
        sa.column('id', sa.Integer()),
        sa.column('status', sa.String()),
        sa.column('need_full_sync_reason', sa.String()),
        sa.column('last_full_reconcile_at', sa.DateTime(timezone=True)),
        sa.column('auth_error_code', sa.String()),
    )
    log = sa.table(
        'connection_log',
        sa.column('connection_id', sa.Integer()),
        sa.column('at', sa.DateTime(timezone=True)),
        sa.column('action', sa.String()),
        sa.column('message', sa.String()),
    )
    # The engine logged every full round as a "sync" line starting "full round" (the log keeps the last 200).
    last_full = (
        sa.select(sa.func.max(log.c.at))
        .where(
            log.c.connection_id == connections.c.id,
            log.c.action == 'sync',
            log.c.message.like('full round%'),
        )
        .scalar_subquery()
    )
    bind = op.get_bind()
    bind.execute(sa.update(connections).values(last_full_reconcile_at=last_full))
    in_error = bind.execute(
        sa.select(connections.c.id, connections.c.need_full_sync_reason).where(
            connections.c.status == 'error', connections.c.need_full_sync_reason.like('authorization failed (%')
        )
    ).all()
    for connection_id, reason in in_error:
        match = _STORED_CODE.search(reason or '')
        code = match.group('code') if match else None
        if code and code != 'refused':  # "refused" was written when the provider gave neither code nor status
            bind.execute(
                sa.update(connections).where(connections.c.id == connection_id).values(auth_error_code=code[:200])
            )


def downgrade() -> None:
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('auth_error_code')
        batch_op.drop_column('last_full_reconcile_at')
        batch_op.drop_column('pull_seq')
        batch_op.drop_column('resync_seq')
        batch_op.drop_column('full_sync_seq')
