"""tk truth and resilience: origin of every mirrored entity, every fulfilment letter, raw relations, material
change counters, quarantine of unreadable entities, thin document index and documents wanted by id.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

MIRROR = ('tk_toezeggingen', 'tk_documents', 'tk_zaken', 'tk_activiteiten', 'tk_kamerstukdossiers')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')

# (table, GUID, skiptoken) of every entry of the bundled snapshot (shared/tk/snapshot): rows still holding
# that version were loaded from the illustrative sample, not from the parliament's feed.
SAMPLE_ENTRIES = {
    'tk_activiteiten': [('6f5e4d3c-2b1a-4098-8765-4321fedcba98', 30110455)],
    'tk_documents': [
        ('3d7e9f10-2a4b-4c6d-8e0f-1a2b3c4d5e6f', 20988110),
        ('9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b', 20988111),
        ('2b3c4d5e-6f70-4a1b-9c2d-3e4f5a6b7c8d', 20988190),
    ],
    'tk_kamerstukdossiers': [
        ('1f031e16-cb3b-45b5-b3c9-a8abd27c913a', 53457),
        ('0b9c7d2e-41f6-4c1a-8a5e-6c3b2d1e0f24', 9120311),
        ('5c0a2a3e-9a53-4b8e-9d42-2f1d0f3b7a10', 9188420),
    ],
    'tk_toezeggingen': [
        ('a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', 1844310),
        ('b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e', 1830022),
        ('c3d4e5f6-a7b8-4c9d-0e1f-2a3b4c5d6e7f', 1830023),
        ('d4e5f6a7-b8c9-4d0e-1f2a-3b4c5d6e7f80', 1830090),
    ],
    'tk_zaken': [
        ('8a1d3c55-0e2b-4f6a-9c7d-3b2a1e0f9d88', 44100201),
        ('c4e2f1a0-7b3d-4e5f-8a9b-1c2d3e4f5a6b', 44512877),
    ],
}
CATEGORY_OF = {
    'tk_toezeggingen': 'Toezegging',
    'tk_documents': 'Document',
    'tk_zaken': 'Zaak',
    'tk_activiteiten': 'Activiteit',
    'tk_kamerstukdossiers': 'Kamerstukdossier',
}


def upgrade() -> None:
    for table in MIRROR:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column('origin', sa.String(length=10), server_default='feed', nullable=False)
            )
            batch_op.add_column(sa.Column('relations', JSON, nullable=True))
    with op.batch_alter_table('tk_toezeggingen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kamerbrieven_nakoming', JSON, nullable=True))
    op.create_table(
        'tk_toezegging_brieven',
        sa.Column('toezegging_id', sa.Uuid(), nullable=False),
        sa.Column('nummer', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ['toezegging_id'],
            ['tk_toezeggingen.id'],
            name=op.f('fk_tk_toezegging_brieven_toezegging_id_tk_toezeggingen'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('toezegging_id', 'nummer', name=op.f('pk_tk_toezegging_brieven')),
    )
    with op.batch_alter_table('tk_toezegging_brieven', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tk_toezegging_brieven_nummer'), ['nummer'], unique=False)

    for table, kind in (('tk_sync_state', sa.BigInteger()), ('tk_sync_runs', sa.Integer())):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ('unchanged', 'quarantined', 'fetched'):
                batch_op.add_column(sa.Column(name, kind, server_default='0', nullable=False))
    with op.batch_alter_table('tk_sync_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('has_samples', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        'tk_quarantine',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('skiptoken', sa.BigInteger(), nullable=False),
        sa.Column('entity_id', sa.String(length=100), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.Column('origin', sa.String(length=10), nullable=False),
        sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tk_quarantine')),
        sa.UniqueConstraint('category', 'skiptoken', name=op.f('uq_tk_quarantine_category')),
    )
    with op.batch_alter_table('tk_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tk_quarantine_quarantined_at'), ['quarantined_at'], unique=False)

    op.create_table(
        'tk_document_index',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('nummer', sa.String(length=40), nullable=True),
        sa.Column('kamerstukdossier_id', sa.Uuid(), nullable=True),
        sa.Column('bijgewerkt', sa.DateTime(timezone=True), nullable=False),
        sa.Column('verwijderd', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tk_document_index')),
    )
    with op.batch_alter_table('tk_document_index', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tk_document_index_nummer'), ['nummer'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_tk_document_index_kamerstukdossier_id'), ['kamerstukdossier_id'], unique=False
        )
    op.create_table(
        'tk_document_index_zaken',
        sa.Column('document_id', sa.Uuid(), nullable=False),
        sa.Column('zaak_id', sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ['document_id'],
            ['tk_document_index.id'],
            name=op.f('fk_tk_document_index_zaken_document_id_tk_document_index'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('document_id', 'zaak_id', name=op.f('pk_tk_document_index_zaken')),
    )
    with op.batch_alter_table('tk_document_index_zaken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tk_document_index_zaken_zaak_id'), ['zaak_id'], unique=False)
    op.create_table(
        'tk_document_fetches',
        sa.Column('document_id', sa.Uuid(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('document_id', name=op.f('pk_tk_document_fetches')),
    )
    _backfill()


def _backfill() -> None:
    """Existing mirrors: letters and the index from what is held; sample rows labelled; a checkpoint that only
    the bundled snapshot ever moved goes back to the start (its tokens are illustrative, not the feed's)."""
    op.execute(
        "INSERT INTO tk_toezegging_brieven (toezegging_id, nummer) SELECT id, kamerbrief_nakoming "
        "FROM tk_toezeggingen WHERE kamerbrief_nakoming IS NOT NULL"
    )
    bind = op.get_bind()
    toezeggingen = sa.table(
        'tk_toezeggingen',
        sa.column('id', sa.Uuid()),
        sa.column('kamerbrief_nakoming'),
        sa.column('kamerbrieven_nakoming', JSON),
    )
    for row_id, nummer in bind.execute(
        sa.select(toezeggingen.c.id, toezeggingen.c.kamerbrief_nakoming).where(
            toezeggingen.c.kamerbrief_nakoming.is_not(None)
        )
    ).all():
        bind.execute(
            toezeggingen.update().where(toezeggingen.c.id == row_id).values(kamerbrieven_nakoming=[nummer])
        )
    op.execute(
        "INSERT INTO tk_document_index (id, nummer, kamerstukdossier_id, bijgewerkt, verwijderd) "
        "SELECT id, nummer, kamerstukdossier_id, bijgewerkt, verwijderd FROM tk_documents"
    )
    state = sa.table(
        'tk_sync_state',
        sa.column('category'),
        sa.column('skiptoken'),
        sa.column('last_success_at'),
        sa.column('has_samples'),
    )
    runs = sa.table('tk_sync_runs', sa.column('category'), sa.column('trigger'), sa.column('status'))
    for name, entries in SAMPLE_ENTRIES.items():
        table = sa.table(name, sa.column('id', sa.Uuid()), sa.column('skiptoken'), sa.column('origin'))
        marked = 0
        for guid, token in entries:
            marked += (
                bind.execute(
                    table.update()
                    .where(table.c.id == uuid.UUID(guid), table.c.skiptoken == token)
                    .values(origin='sample')
                ).rowcount
                or 0
            )
        category = CATEGORY_OF[name]
        if marked:
            bind.execute(state.update().where(state.c.category == category).values(has_samples=True))
        live = bind.execute(
            sa.select(sa.func.count())
            .select_from(runs)
            .where(runs.c.category == category, runs.c.status == 'succeeded', runs.c.trigger != 'snapshot')
        ).scalar()
        if not live:
            bind.execute(
                state.update()
                .where(state.c.category == category)
                .values(skiptoken=None, last_success_at=None)
            )


def downgrade() -> None:
    op.drop_table('tk_document_fetches')
    op.drop_table('tk_document_index_zaken')
    op.drop_table('tk_document_index')
    op.drop_table('tk_quarantine')
    with op.batch_alter_table('tk_sync_state', schema=None) as batch_op:
        batch_op.drop_column('has_samples')
    for table in ('tk_sync_state', 'tk_sync_runs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in ('fetched', 'quarantined', 'unchanged'):
                batch_op.drop_column(name)
    op.drop_table('tk_toezegging_brieven')
    with op.batch_alter_table('tk_toezeggingen', schema=None) as batch_op:
        batch_op.drop_column('kamerbrieven_nakoming')
    for table in MIRROR:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('relations')
            batch_op.drop_column('origin')
