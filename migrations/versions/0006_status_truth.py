"""status truth: fulfilment records, qualitative milestones, recurrence, subject parties, reasons everywhere

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'fulfilments',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('commitment_id', sa.Uuid(), nullable=False),
        sa.Column('period_key', sa.String(length=10), nullable=False),
        sa.Column(
            'kind',
            sa.Enum('fulfilled', 'partially_fulfilled', name='fulfilmentkind', native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('recorded_by', sa.String(length=200), nullable=True),
        sa.Column(
            'review_decision',
            sa.Enum('accepted', 'rejected', name='reviewdecision', native_enum=False, length=30),
            nullable=True,
        ),
        sa.Column('review_note', sa.Text(), nullable=True),
        sa.Column('reviewed_by', sa.String(length=200), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['commitment_id'],
            ['commitments.id'],
            name=op.f('fk_fulfilments_commitment_id_commitments'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfilments')),
        sa.UniqueConstraint(
            'commitment_id', 'period_key', name=op.f('uq_fulfilments_commitment_id_period_key')
        ),
    )
    with op.batch_alter_table('fulfilments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fulfilments_commitment_id'), ['commitment_id'], unique=False)

    op.create_table(
        'commitment_subject_parties',
        sa.Column('commitment_id', sa.Uuid(), nullable=False),
        sa.Column('party_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ['commitment_id'],
            ['commitments.id'],
            name=op.f('fk_commitment_subject_parties_commitment_id_commitments'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['party_id'],
            ['parties.id'],
            name=op.f('fk_commitment_subject_parties_party_id_parties'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('commitment_id', 'party_id', name=op.f('pk_commitment_subject_parties')),
    )
    with op.batch_alter_table('commitment_subject_parties', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_commitment_subject_parties_party_id'), ['party_id'], unique=False
        )

    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'recurrence_unit',
                sa.Enum('month', 'quarter', 'year', name='recurrence', native_enum=False, length=10),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column('recurrence_start', sa.Date(), nullable=True))

    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reached_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reasons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reasons_digest', sa.String(length=64), nullable=True))

    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reasons', sa.JSON(), nullable=True))

    op.create_table(
        'job_checkpoints',
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_job_checkpoints')),
    )


def downgrade() -> None:
    op.drop_table('job_checkpoints')
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.drop_column('reasons')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_column('reasons_digest')
        batch_op.drop_column('reasons')
        batch_op.drop_column('evidence')
        batch_op.drop_column('reached_on')
    with op.batch_alter_table('commitments', schema=None) as batch_op:
        batch_op.drop_column('recurrence_start')
        batch_op.drop_column('recurrence_unit')
    op.drop_table('commitment_subject_parties')
    op.drop_table('fulfilments')
