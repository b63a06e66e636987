"""Change feed (the `events` outbox) and webhooks: subscriptions, their deliveries, and the fan-out position.

`events.id` is a bigint identity on PostgreSQL and the rowid (INTEGER PRIMARY KEY, never reused with
AUTOINCREMENT) on SQLite. `events.txid` is the writing transaction's id on PostgreSQL, filled by the database
itself (pg_current_xact_id(): the top-level transaction, also inside savepoints), and 0 on SQLite, where one
writer at a time makes the id order the commit order (shared/events/repository.py).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table(
        'events',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.Identity(), nullable=False),
        sa.Column(
            'txid',
            sa.BigInteger(),
            nullable=False,
            server_default=sa.text('(pg_current_xact_id()::text::bigint)' if postgres else '0'),
        ),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('party_id', sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_events_position', 'events', ['txid', 'id'])
    op.create_index('ix_events_type_position', 'events', ['type', 'txid', 'id'])
    op.create_index('ix_events_at', 'events', ['at'])

    op.create_table(
        'webhooks',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=500), nullable=True),
        sa.Column('party_id', sa.Uuid(), nullable=True),
        sa.Column('signals', sa.Boolean(), nullable=False),
        sa.Column('key_id', sa.Uuid(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['party_id'], ['parties.id'], name=op.f('fk_webhooks_party_id_parties'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    )
    op.create_index('ix_webhooks_party_id', 'webhooks', ['party_id'])

    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('webhook_id', sa.Uuid(), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['webhook_id'],
            ['webhooks.id'],
            name=op.f('fk_webhook_deliveries_webhook_id_webhooks'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    )
    op.create_index(
        'ix_webhook_deliveries_due', 'webhook_deliveries', ['webhook_id', 'status', 'next_attempt_at']
    )
    op.create_index('ix_webhook_deliveries_list', 'webhook_deliveries', ['webhook_id', 'created_at', 'id'])
    op.create_index(
        'ix_webhook_deliveries_pending',
        'webhook_deliveries',
        ['next_attempt_at'],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        'webhook_feed_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('txid', sa.BigInteger(), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_feed_state')),
    )
    op.execute("INSERT INTO webhook_feed_state (id, txid, event_id) VALUES (1, 0, 0)")


def downgrade() -> None:
    op.drop_table('webhook_feed_state')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
    op.drop_table('events')
