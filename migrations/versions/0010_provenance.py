"""Provenance and people: who created and last changed a record, the person responsible for a commitment, action
or milestone, and the commitment each audit entry belongs to (GET /v1/commitments/{id}/changes).

- created_by_* / updated_by_*: a name and a party id (no foreign key: they record who acted at the time, as the
  audit log does). Null for seed data and for records written before this revision.
- owner_person_*: name, role and party; owner_person_key is the case-folded name `?owner_person=` compares,
  indexed (a Unicode-aware fold done by the application: SQLite's lower() folds ASCII only).
- audit_log.commitment_id: set on entries written from now on. Older entries stay as they are: the log is
  append-only (a trigger refuses UPDATE on PostgreSQL), so it is not back-filled.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

AUTHORED = (
    'commitments',
    'actions',
    'milestones',
    'measurements',
    'fulfilments',
    'recommendations',
    'parties',
    'sources',
)
WITH_PERSON = ('commitments', 'actions', 'milestones')


def upgrade() -> None:
    for table in AUTHORED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('created_by_name', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('created_by_party_id', sa.Uuid(), nullable=True))
            batch_op.add_column(sa.Column('updated_by_name', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('updated_by_party_id', sa.Uuid(), nullable=True))
    for table in WITH_PERSON:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('owner_person_name', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('owner_person_role', sa.String(length=200), nullable=True))
            batch_op.add_column(sa.Column('owner_person_party_id', sa.Uuid(), nullable=True))
            batch_op.add_column(sa.Column('owner_person_key', sa.String(length=200), nullable=True))
            batch_op.create_index(
                batch_op.f(f'ix_{table}_owner_person_key'), ['owner_person_key'], unique=False
            )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commitment_id', sa.Uuid(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_audit_log_commitment_id_at'), ['commitment_id', 'at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_commitment_id_at'))
        batch_op.drop_column('commitment_id')
    for table in WITH_PERSON:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_owner_person_key'))
            for column in (
                'owner_person_key',
                'owner_person_party_id',
                'owner_person_role',
                'owner_person_name',
            ):
                batch_op.drop_column(column)
    for table in AUTHORED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in (
                'updated_by_party_id',
                'updated_by_name',
                'created_by_party_id',
                'created_by_name',
            ):
                batch_op.drop_column(column)
