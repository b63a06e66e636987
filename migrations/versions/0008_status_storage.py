"""Cheaper status writes on PostgreSQL: reasons compressed with lz4, milestones stored with room for updates.

A full recalculation in which every result changes writes about 100 MB of reasons per 10,000 commitments
(commitments, their history and their milestones; bench/status/RESULTS.md).
- PostgreSQL compresses the larger reasons (TOAST); with lz4 (where the server has it) that costs the server
  about a third less CPU than its default pglz. Only values written from now on are compressed the new way;
  reading either kind needs nothing.
- Milestones carry their reasons (about 1 kB a row) and are rewritten whenever their status changes. With half
  of each page left free (fillfactor 50), the new version of a row fits on its own page, so PostgreSQL updates
  it in place of its indexes (a HOT update) instead of adding an entry to each of the six indexes: about half
  the server CPU and write-ahead log of a milestone write. The table takes twice the pages; existing pages
  are filled that way as rows move or the table is rewritten (VACUUM FULL).
SQLite: nothing to do.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = (
    ('commitments', 'reasons'),
    ('status_history', 'reasons'),
    ('milestones', 'reasons'),
    ('recommendations', 'reasons'),
)


def _lz4_available() -> bool:
    values = (
        op.get_bind()
        .execute(sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
        .scalar()
    )
    return values is not None and 'lz4' in values


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE milestones SET (fillfactor = 50)')
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE milestones RESET (fillfactor)')
    if _lz4_available():
        for table, column in COLUMNS:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default')
