"""connections and sync: installation, connections, oauth states, entries, log, workers

Issues 4 and 5: calendar connections (tokens sealed, one active per person via a partial unique index, lease and
due columns for the work queue), one-time OAuth states, the last-synced leg per (connection, event) with its
unique pair, a bounded per-connection log, worker heartbeats, and the installation's stable id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('installation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('installation_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_installation')),
    sa.UniqueConstraint('installation_id', name=op.f('uq_installation_installation_id'))
    )
    op.create_table('workers',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('host', sa.String(length=200), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )
    op.create_table('connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.Enum('google', 'microsoft', name='provider', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('account_email', sa.String(length=320), nullable=False),
    sa.Column('account_id', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('connected', 'error', 'disconnected', name='connection_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('error_reason', sa.Text(), nullable=True),
    sa.Column('error_detail', sa.Text(), nullable=True),
    sa.Column('need_full_sync', sa.Boolean(), nullable=False),
    sa.Column('need_full_sync_reason', sa.String(length=200), nullable=True),
    sa.Column('resync_requested', sa.Boolean(), nullable=False),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disconnected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('target_calendar_id', sa.String(length=1024), nullable=True),
    sa.Column('target_calendar_name', sa.String(length=300), nullable=True),
    sa.Column('dedicated_calendar', sa.Boolean(), nullable=False),
    sa.Column('access_token_enc', sa.Text(), nullable=True),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cursor', sa.Text(), nullable=True),
    sa.Column('channel_id', sa.String(length=200), nullable=True),
    sa.Column('channel_resource_id', sa.String(length=200), nullable=True),
    sa.Column('channel_secret_hash', sa.String(length=64), nullable=True),
    sa.Column('channel_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pull_requested', sa.Boolean(), nullable=False),
    sa.Column('work_seq', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_connections_organization_id_organizations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_connections_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connections'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connections_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_connections_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_connections_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_connections_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_connections_active_person', ['person_id'], unique=True, sqlite_where=sa.text("status != 'disconnected'"), postgresql_where=sa.text("status != 'disconnected'"))

    op.create_table('oauth_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.Enum('google', 'microsoft', name='provider', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('binding_hash', sa.String(length=64), nullable=False),
    sa.Column('flow_secret_enc', sa.Text(), nullable=False),
    sa.Column('redirect_uri', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_oauth_states_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_states')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_oauth_states_state_hash'))
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_person_id'), ['person_id'], unique=False)

    op.create_table('connection_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_connection_log_connection_id_connections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_log'))
    )
    with op.batch_alter_table('connection_log', schema=None) as batch_op:
        batch_op.create_index('ix_connection_log_connection_at', ['connection_id', 'at'], unique=False)

    op.create_table('entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=1024), nullable=True),
    sa.Column('calendar_id', sa.String(length=1024), nullable=True),
    sa.Column('etag', sa.String(length=200), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('response', sa.Enum('needs_action', 'accepted', 'tentative', 'declined', name='rsvp_status', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('rsvp_version', sa.Integer(), nullable=True),
    sa.Column('tombstone', sa.Boolean(), nullable=False),
    sa.Column('create_pending', sa.Boolean(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('dirty', sa.Boolean(), nullable=False),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name=op.f('fk_entries_connection_id_connections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_entries_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries')),
    sa.UniqueConstraint('connection_id', 'event_id', name=op.f('uq_entries_connection_id_event_id'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_connection_dirty', ['connection_id', 'dirty'], unique=False)
        batch_op.create_index('ix_entries_connection_provider_id', ['connection_id', 'provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_event_id'), ['event_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_event_id'))
        batch_op.drop_index('ix_entries_connection_provider_id')
        batch_op.drop_index('ix_entries_connection_dirty')

    op.drop_table('entries')
    with op.batch_alter_table('connection_log', schema=None) as batch_op:
        batch_op.drop_index('ix_connection_log_connection_at')

    op.drop_table('connection_log')
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_person_id'))

    op.drop_table('oauth_states')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index('uq_connections_active_person', sqlite_where=sa.text("status != 'disconnected'"), postgresql_where=sa.text("status != 'disconnected'"))
        batch_op.drop_index(batch_op.f('ix_connections_person_id'))
        batch_op.drop_index(batch_op.f('ix_connections_organization_id'))
        batch_op.drop_index('ix_connections_due')
        batch_op.drop_index(batch_op.f('ix_connections_channel_id'))

    op.drop_table('connections')
    op.drop_table('workers')
    op.drop_table('installation')
