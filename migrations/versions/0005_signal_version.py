"""client signals: version (ETag / If-Match for PATCH /v1/signals/{id})

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default: bulk loads (COPY) and the one-statement intake leave the column out.
    with op.batch_alter_table('client_signals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('client_signals', schema=None) as batch_op:
        batch_op.drop_column('version')
