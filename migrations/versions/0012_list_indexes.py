"""Lists that stay fast at scale: an index for every documented sort and the usual filter + sort, and text
indexes for `q` (issue #12).

Keyset pages read `ORDER BY key, id` from `(key, id) > (:value, :id)` (shared/pagination.py), so one page is
one index range when an index is on (key, id), or on (filter, key, id) for an equality filter. A nullable sort
key is `coalesce(column, <sentinel>)` in the query and, identically, in the index expression here (the
sentinels are shared.pagination.NULL_LAST_SQL; NULLs come last ascending, first descending). Descending sorts
walk the same indexes backwards.

What is not given an index of its own, and why (the planner's alternative is cheap there):
- filters on a foreign key or a near-unique column (owner, source, recommendation, theme, commitment_id,
  action_id, dossier, nummer, AGB code): few rows per value, read by the existing index and sorted in memory;
  the owner of a commitment and the addressee of a recommendation, which can hold thousands, have
  (filter, default sort, id).
- low-cardinality filters with other than the default sort (origin, kind, state, TK status): walking the
  sort's index and skipping the other values finds a page quickly unless a value is very rare.
- date ranges (due_before/after, changed_since, since/until, received_from/to): a range on the sort's own
  key is an index range; with another sort the range is a filter on the walk.
- audit `record_id` searches the JSON list of names as text: a scan bounded by the newest-first walk.

`q` (shared/search.py): PostgreSQL trigram GIN indexes on lower(column) (pg_trgm, a trusted extension the
database owner may create); SQLite FTS5 tables with the trigram tokenizer over the same columns, external
content kept in sync by triggers. They point at SQLite's implicit rowid, which only VACUUM renumbers (the app
never runs it); after a manual VACUUM run `INSERT INTO <table>_search(<table>_search) VALUES ('rebuild')`.

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

DUE = "coalesce(due_date, '9999-12-31')"

# (name, table, key expressions); the same on both backends.
BTREE: tuple[tuple[str, str, str], ...] = (
    # commitments: sorts created_at, updated_at, title (indexed since 0001), due_date; status and schedule
    # with every sort; owner and origin with the default sort.
    ('ix_commitments_due_id', 'commitments', f'{DUE}, id'),
    *(
        (f'ix_commitments_{f}_{s}_id', 'commitments', f'{f}, {e}, id')
        for f in ('status', 'schedule')
        for s, e in (
            ('created_at', 'created_at'),
            ('updated_at', 'updated_at'),
            ('title', 'title'),
            ('due', DUE),
        )
    ),
    ('ix_commitments_owner_created_at_id', 'commitments', 'owner_party_id, created_at, id'),
    ('ix_commitments_origin_created_at_id', 'commitments', 'origin, created_at, id'),
    # actions: created_at (since 0001), title, end_date, last_update_date; state with the default sort
    ('ix_actions_title_id', 'actions', 'title, id'),
    ('ix_actions_end_id', 'actions', "coalesce(end_date, '9999-12-31'), id"),
    ('ix_actions_last_update_id', 'actions', "coalesce(last_update_date, '9999-12-31'), id"),
    ('ix_actions_state_created_at_id', 'actions', 'state, created_at, id'),
    # milestones: due_date (default), created_at, title
    ('ix_milestones_due_date_id', 'milestones', 'due_date, id'),
    ('ix_milestones_created_at_id', 'milestones', 'created_at, id'),
    ('ix_milestones_title_id', 'milestones', 'title, id'),
    # measurements of a milestone by date
    ('ix_measurements_milestone_date_id', 'measurements', 'milestone_id, date, id'),
    # recommendations: created_at (since 0001), title, theme; addressee and theme with the default sort
    ('ix_recommendations_title_id', 'recommendations', 'title, id'),
    ('ix_recommendations_theme_id', 'recommendations', "coalesce(theme_key, '\uffff'), id"),
    ('ix_recommendations_addressee_created_at_id', 'recommendations', 'addressee_party_id, created_at, id'),
    ('ix_recommendations_theme_created_at_id', 'recommendations', 'theme_key, created_at, id'),
    # sources: date (default), title, created_at
    ('ix_sources_date_id', 'sources', "coalesce(date, '9999-12-31'), id"),
    ('ix_sources_title_id', 'sources', 'title, id'),
    ('ix_sources_created_at_id', 'sources', 'created_at, id'),
    # parties: name (since 0001), created_at; kind with the default sort
    ('ix_parties_created_at_id', 'parties', 'created_at, id'),
    ('ix_parties_kind_name_id', 'parties', 'kind, name, id'),
    # audit log: at (newest first); action, resource and key with it
    ('ix_audit_log_at_id', 'audit_log', 'at, id'),
    ('ix_audit_log_action_at_id', 'audit_log', 'action, at, id'),
    ('ix_audit_log_resource_at_id', 'audit_log', 'resource, at, id'),
    ('ix_audit_log_key_at_id', 'audit_log', 'key_id, at, id'),
    # status history of a commitment, newest first
    ('ix_status_history_commitment_evaluated_id', 'status_history', 'commitment_id, evaluated_at, id'),
    # client signals: received_date (default, newest first), created_at, external_id; status with the default
    ('ix_client_signals_received_id', 'client_signals', 'received_date, id'),
    ('ix_client_signals_created_at_id', 'client_signals', 'created_at, id'),
    ('ix_client_signals_external_id_id', 'client_signals', 'external_id, id'),
    ('ix_client_signals_status_received_id', 'client_signals', 'status, received_date, id'),
    ('ix_signal_batches_created_at_id', 'signal_batches', 'created_at, id'),
    # TK mirror: bijgewerkt (default, newest first), nummer, datum(_nakoming); status with the default
    ('ix_tk_toezeggingen_bijgewerkt_id', 'tk_toezeggingen', 'bijgewerkt, id'),
    ('ix_tk_toezeggingen_nummer_id', 'tk_toezeggingen', "coalesce(nummer, '\uffff'), id"),
    ('ix_tk_toezeggingen_nakoming_id', 'tk_toezeggingen', "coalesce(datum_nakoming, '9999-12-31'), id"),
    ('ix_tk_toezeggingen_status_bijgewerkt_id', 'tk_toezeggingen', 'status_normalised, bijgewerkt, id'),
    ('ix_tk_documents_bijgewerkt_id', 'tk_documents', 'bijgewerkt, id'),
    ('ix_tk_documents_nummer_id', 'tk_documents', "coalesce(nummer, '\uffff'), id"),
    ('ix_tk_documents_datum_id', 'tk_documents', "coalesce(datum, '9999-12-31'), id"),
    ('ix_tk_sync_runs_started_at_id', 'tk_sync_runs', 'started_at, id'),
    ('ix_tk_sync_runs_category_id', 'tk_sync_runs', 'category, id'),
    ('ix_tk_quarantine_quarantined_at_id', 'tk_quarantine', 'quarantined_at, id'),
    ('ix_tk_quarantine_skiptoken_id', 'tk_quarantine', 'skiptoken, id'),
)

# The columns `q` searches, per table (the TextIndex definitions beside the models name the same).
SEARCH: dict[str, tuple[str, ...]] = {
    'commitments': ('title', 'description', 'source_quote'),
    'actions': ('title', 'description'),
    'milestones': ('title', 'description'),
    'recommendations': ('title', 'text'),
    'parties': ('name',),
    'sources': ('title',),
    'tk_toezeggingen': ('tekst', 'nummer'),
    'tk_documents': ('titel', 'onderwerp'),
}


def _sqlite_search(table: str, columns: tuple[str, ...]) -> None:
    fts = f'{table}_search'
    cols = ', '.join(columns)
    new = ', '.join(f'new.{c}' for c in columns)
    old = ', '.join(f'old.{c}' for c in columns)
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.rowid, {old});"
    insert = f'INSERT INTO {fts}(rowid, {cols}) VALUES (new.rowid, {new});'
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='rowid', "
        "tokenize='trigram')"
    )
    op.execute(f'CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END')
    op.execute(f'CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END')
    op.execute(f'CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN {delete} {insert} END')
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name, table, keys in BTREE:
        op.execute(f'CREATE INDEX {name} ON {table} ({keys})')
    if postgresql:
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for table, columns in SEARCH.items():
            for column in columns:
                op.execute(
                    f'CREATE INDEX ix_{table}_{column}_trgm ON {table} USING gin (lower({column}) gin_trgm_ops)'
                )
    else:
        for table, columns in SEARCH.items():
            _sqlite_search(table, columns)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table, columns in SEARCH.items():
        if postgresql:
            for column in columns:
                op.execute(f'DROP INDEX ix_{table}_{column}_trgm')
        else:
            for suffix in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER {table}_search_{suffix}')
            op.execute(f'DROP TABLE {table}_search')
    for name, _, _ in BTREE:
        op.execute(f'DROP INDEX {name}')
