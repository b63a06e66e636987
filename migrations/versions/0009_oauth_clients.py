"""OAuth2 clients, generated token signing keys, the revocation epoch, and who-wrote columns in the audit log.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'oauth_clients',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('client_id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=True),
        sa.Column('jwks', sa.JSON(), nullable=True),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('party_id', sa.Uuid(), nullable=True),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['party_id'], ['parties.id'], name=op.f('fk_oauth_clients_party_id_parties'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_clients')),
        sa.UniqueConstraint('client_id', name=op.f('uq_oauth_clients_client_id')),
    )
    op.create_index(op.f('ix_oauth_clients_party_id'), 'oauth_clients', ['party_id'], unique=False)
    op.create_table(
        'oauth_signing_keys',
        sa.Column('kid', sa.String(length=100), nullable=False),
        sa.Column('private_jwk', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kid', name=op.f('pk_oauth_signing_keys')),
    )
    epoch = op.create_table(
        'auth_epoch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_epoch')),
    )
    op.bulk_insert(epoch, [{'id': 1, 'value': 0}])
    # Plain ADD COLUMN (not batch mode): SQLite's batch mode would copy the table and lose its append-only
    # triggers; both databases add a nullable column in place.
    op.add_column('audit_log', sa.Column('client_id', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('subject', sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column('audit_log', 'subject')
    op.drop_column('audit_log', 'client_id')
    op.drop_table('auth_epoch')
    op.drop_table('oauth_signing_keys')
    op.drop_index(op.f('ix_oauth_clients_party_id'), table_name='oauth_clients')
    op.drop_table('oauth_clients')
