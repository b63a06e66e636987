"""Mirror of the Tweede Kamer SyncFeed (Toezegging, Document, Zaak, Activiteit, Kamerstukdossier).

models      tables of the mirror (each entity with its origin: feed or sample), per-category checkpoint
            (tk_sync_state) and runs (tk_sync_runs), quarantine, thin document index, documents wanted by id
parse       streaming Atom/tkData parser by namespace URI (unreadable entities come back as Quarantined);
            values: timestamps, dates, status quirks
client      httpx client: URLs from the configured base + skiptoken (and Entiteiten/<guid>), retries with
            backoff and Retry-After
ingest      one page into the mirror (newest version wins, material change only, relevance of documents,
            the thin index, relations, commitments)
service     SyncRunner: page after page, each page and its checkpoint in one transaction
repository  every query; queries: the read side for the API; schemas: API shapes
events      sync requests as jobs (one job id per category); offline/snapshot: the embedded default
testing     fake feed (entry builders + loopback server with fault injection) for tests and bench
"""
