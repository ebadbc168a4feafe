"""web_sessions (server-side sessions, hashed ids) and sign_in_attempts (the shared sign-in limiter's counts)

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('id_sha256', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['person_id'], ['people.id'], name=op.f('fk_web_sessions_person_id_people'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
        sa.UniqueConstraint('id_sha256', name=op.f('uq_web_sessions_id_sha256')),
    )
    op.create_index(op.f('ix_web_sessions_person_id'), 'web_sessions', ['person_id'], unique=False)
    op.create_index(op.f('ix_web_sessions_last_seen_at'), 'web_sessions', ['last_seen_at'], unique=False)
    op.create_table(
        'sign_in_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts')),
    )
    op.create_index('ix_sign_in_attempts_subject_address', 'sign_in_attempts', ['subject', 'address'], unique=False)
    op.create_index(op.f('ix_sign_in_attempts_address'), 'sign_in_attempts', ['address'], unique=False)
    op.create_index(op.f('ix_sign_in_attempts_attempted_at'), 'sign_in_attempts', ['attempted_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_attempts_attempted_at'), table_name='sign_in_attempts')
    op.drop_index(op.f('ix_sign_in_attempts_address'), table_name='sign_in_attempts')
    op.drop_index('ix_sign_in_attempts_subject_address', table_name='sign_in_attempts')
    op.drop_table('sign_in_attempts')
    op.drop_index(op.f('ix_web_sessions_last_seen_at'), table_name='web_sessions')
    op.drop_index(op.f('ix_web_sessions_person_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
