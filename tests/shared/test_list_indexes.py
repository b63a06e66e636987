"""Every documented sort of every list, and the filter + sort combinations migration 0012 indexes, can be read
from an index in keyset order (PostgreSQL), and `q` is answered by text indexes on both backends.

The PostgreSQL checks plan each page with sequential scans and sorts priced out: a plan that still sorts or
scans the table has no index for that order. (The test tables are tiny, so without this the planner would
rightly prefer a scan; bench/api/lists.py shows the plans and timings at 100,000 commitments.)
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.actions.repository import ActionRepository
from shared.audit.repository import AuditRepository
from shared.commitments.models import Commitment
from shared.commitments.repository import CommitmentRepository
from shared.crud import Repository, date_range
from shared.milestones.models import Measurement
from shared.milestones.repository import MeasurementRepository, MilestoneRepository
from shared.pagination import encode_cursor
from shared.parties.repository import PartyRepository
from shared.recommendations.repository import RecommendationRepository
from shared.signals.repository import SignalRepository
from shared.sources.repository import SourceRepository
from shared.status.models import StatusHistory
from shared.status.repository import StatusHistoryRepository
from shared.themes.repository import ThemeRepository
from shared.tk.models import TkToezegging
from shared.tk.repository import (
    DocumentRepository,
    QuarantineRepository,
    SyncRunRepository,
    ToezeggingRepository,
)
from tests.factories import create_commitment

ANY_ID = uuid.UUID(int=1)

# (repository, the conditions every page of it has, label)
LISTS: list[tuple[type[Repository[Any]], list[Any], str]] = [
    (CommitmentRepository, [], "commitments"),
    (ActionRepository, [], "actions"),
    (MilestoneRepository, [], "milestones"),
    (MeasurementRepository, [Measurement.milestone_id == ANY_ID], "measurements of a milestone"),
    (RecommendationRepository, [], "recommendations"),
    (SourceRepository, [], "sources"),
    (PartyRepository, [], "parties"),
    (ThemeRepository, [], "themes"),
    (AuditRepository, [], "audit"),
    (StatusHistoryRepository, [StatusHistory.commitment_id == ANY_ID], "status history of a commitment"),
    (SignalRepository, [], "signals"),
    (ToezeggingRepository, [], "tk toezeggingen"),
    (DocumentRepository, [], "tk documents"),
    (SyncRunRepository, [], "tk sync runs"),
    (QuarantineRepository, [], "tk quarantine"),
]


def _filtered() -> list[tuple[type[Repository[Any]], list[Any], str, list[str]]]:
    """Filter + sort combinations with an index of their own (the rest: the migration's docstring)."""
    from shared.actions.models import Action
    from shared.audit.models import AuditEntry
    from shared.parties.models import Party
    from shared.recommendations.models import Recommendation
    from shared.signals.models import ClientSignal

    every = list(CommitmentRepository.sorting.fields)
    due = CommitmentRepository.sorting.fields["due_date"]
    return [
        (CommitmentRepository, [Commitment.status == "at_risk"], "status", every),
        (CommitmentRepository, [Commitment.schedule == "overdue"], "schedule", every),
        (CommitmentRepository, [Commitment.owner_party_id == ANY_ID], "owner", ["created_at"]),
        (CommitmentRepository, [Commitment.origin == "letter"], "origin", ["created_at"]),
        (
            CommitmentRepository,
            date_range(due, dt.date(2026, 1, 1), dt.date(2025, 1, 1)),
            "due range",
            ["due_date"],
        ),
        (ActionRepository, [Action.state == "planned"], "state", ["created_at"]),
        (
            RecommendationRepository,
            [Recommendation.addressee_party_id == ANY_ID],
            "addressee",
            ["created_at"],
        ),
        (RecommendationRepository, [Recommendation.theme_key == "x"], "theme", ["created_at"]),
        (PartyRepository, [Party.kind == "provider"], "kind", ["name"]),
        (AuditRepository, [AuditEntry.action == "commitments.create"], "action", ["at"]),
        (AuditRepository, [AuditEntry.resource == "commitments"], "resource", ["at"]),
        (AuditRepository, [AuditEntry.key_id == ANY_ID], "key", ["at"]),
        (SignalRepository, [ClientSignal.status == "ontvangen"], "status", ["received_date"]),
        (ToezeggingRepository, [TkToezegging.status_normalised == "open"], "status", ["bijgewerkt"]),
    ]


async def _plan(
    connection: AsyncConnection,
    stmt: Any,
    off: tuple[str, ...] = ("enable_seqscan", "enable_sort", "enable_incremental_sort"),
) -> str:
    sql = str(stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    # SET LOCAL: until the test's transaction is rolled back.
    for setting in off:
        await connection.execute(text(f"SET LOCAL {setting} = off"))
    return "\n".join((await connection.execute(text(f"EXPLAIN {sql}"))).scalars())


def _statement(repo: type[Repository[Any]], conditions: list[Any], sort: str, cursor: bool) -> Any:
    base = CommitmentRepository._list_statement() if repo is CommitmentRepository else select(repo.model)
    field = repo.sorting.fields[sort.lstrip("-")]
    value = (
        "2026-01-01T00:00:00+00:00"
        if field.kind == "datetime"
        else "2026-01-01"
        if field.kind == "date"
        else 1
        if field.kind == "int"
        else "m"
    )
    after = encode_cursor(sort, value, ANY_ID if repo.sorting.id_kind == "uuid" else "m") if cursor else None
    return repo.sorting.apply(base.where(*conditions), sort, after, 50)[0]


def _unordered(plan: str, table: str, what: str) -> list[str]:
    """What keeps this plan from reading one page in index order: a sort or a scan of the table."""
    return [f"{what}:\n{plan}"] if "Sort" in plan or f"Seq Scan on {table}" in plan else []


@pytest.mark.postgres_only
async def test_every_sort_of_every_list_reads_an_index_in_keyset_order(connection: AsyncConnection) -> None:
    failures = []
    for repo, conditions, label in LISTS:
        table = repo.model.__tablename__
        for name in repo.sorting.fields:
            for sort in (name, f"-{name}"):
                for cursor in (False, True):
                    plan = await _plan(connection, _statement(repo, conditions, sort, cursor))
                    failures += _unordered(plan, table, f"{label} sort={sort} cursor={cursor}")
    assert not failures, "\n".join(failures)


@pytest.mark.postgres_only
async def test_indexed_filters_read_an_index_in_keyset_order(connection: AsyncConnection) -> None:
    failures = []
    for repo, conditions, label, sorts in _filtered():
        table = repo.model.__tablename__
        for name in sorts:
            for sort in (name, f"-{name}"):
                plan = await _plan(connection, _statement(repo, conditions, sort, True))
                failures += _unordered(plan, table, f"{label} with sort={sort}")
    assert not failures, "\n".join(failures)


@pytest.mark.postgres_only
async def test_a_due_range_with_sort_due_date_is_an_index_range(connection: AsyncConnection) -> None:
    """Not a walk from the index's start that filters: both bounds are where the index scan starts and stops."""
    due = CommitmentRepository.sorting.fields["due_date"]
    for sort in ("due_date", "-due_date"):
        stmt = _statement(
            CommitmentRepository, date_range(due, dt.date(2026, 1, 1), dt.date(2025, 1, 1)), sort, True
        )
        plan = await _plan(connection, stmt)
        cond = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert "'2025-01-01'::date" in cond and "'2026-01-01'::date" in cond, plan


@pytest.mark.postgres_only
async def test_q_is_answered_from_trigram_indexes(connection: AsyncConnection) -> None:
    from shared.commitments.schemas import CommitmentFilters
    from shared.commitments.service import CommitmentService

    stmt = _statement(
        CommitmentRepository,
        CommitmentService.conditions(CommitmentFilters(q="wachtlijst")),
        "created_at",
        False,
    )
    # No walk along an index in sort order: what is left is collecting the matches from the text indexes.
    plan = await _plan(connection, stmt, off=("enable_seqscan", "enable_indexscan"))
    for index in (
        "ix_commitments_title_trgm",
        "ix_commitments_description_trgm",
        "ix_commitments_source_quote_trgm",
        "uq_commitments_tk_toezegging_nummer",
        "ix_tk_toezeggingen_tekst_trgm",
    ):
        assert index in plan, f"{index} not used\n{plan}"
    assert "Seq Scan on commitments" not in plan, plan


async def test_sqlite_q_reads_the_fts5_index(connection: AsyncConnection, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's plan")
    from sqlalchemy.dialects import sqlite

    from shared.commitments.schemas import CommitmentFilters
    from shared.commitments.service import CommitmentService

    stmt = _statement(
        CommitmentRepository,
        CommitmentService.conditions(CommitmentFilters(q="wachtlijst")),
        "created_at",
        False,
    )
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    plan = " | ".join(str(row[-1]) for row in await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SCAN commitments_search VIRTUAL TABLE INDEX" in plan, plan
    assert "SCAN tk_toezeggingen_search VIRTUAL TABLE INDEX" in plan, plan


async def test_q_follows_writes_quotes_and_tk_texts(client: Any, writer: dict, session: Any) -> None:
    """The text indexes follow inserts, updates and deletes (SQLite's triggers; PostgreSQL's own indexes), and
    `q` on commitments finds the quote and the linked TK toezegging's text."""

    async def found(q: str) -> list[str]:
        response = await client.get("/v1/commitments", params={"q": q})
        assert response.status_code == 200, response.text
        return sorted(item["title"] for item in response.json()["items"])

    one = await create_commitment(
        client, writer, title="Wachtlijsten verkorten", description="In de Wlz-zorg"
    )
    await create_commitment(
        client,
        writer,
        title="Ander onderwerp",
        source_quote="Wij beloven de WACHTLIJST aan te pakken",
        tk_toezegging_nummer="TZ202501-001",
    )
    assert await found("wachtlijst") == ["Ander onderwerp", "Wachtlijsten verkorten"]
    assert await found("wlz-ZORG") == ["Wachtlijsten verkorten"]
    assert await found("lz") == ["Wachtlijsten verkorten"]  # shorter than a trigram: a scan, same answer
    assert await found("50%") == []

    patched = await client.patch(
        f"/v1/commitments/{one['id']}",
        json={"title": "Personeel behouden"},
        headers={**writer, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert await found("wachtlijsten") == []
    assert await found("personeel") == ["Personeel behouden"]

    session.add(
        TkToezegging(
            id=uuid.uuid4(),
            nummer="TZ202501-001",
            bijgewerkt=dt.datetime.now(dt.UTC),
            tekst="De minister stuurt de Kamer een brief over mantelzorg",
            status_normalised="open",
        )
    )
    await session.flush()
    assert await found("mantelzorg") == ["Ander onderwerp"]

    deleted = await client.delete(f"/v1/commitments/{one['id']}", headers=writer)
    assert deleted.status_code == 204, deleted.text
    assert await found("personeel") == []


def test_the_searched_columns_are_the_indexed_ones() -> None:
    """The TextIndex beside each model searches exactly the columns migration 0012 indexes (a column searched
    without an index would be a scan again; one indexed and not searched, a cost for nothing)."""
    import importlib.util
    from pathlib import Path

    from shared.actions.models import ACTION_SEARCH
    from shared.commitments.models import COMMITMENT_SEARCH
    from shared.milestones.models import MILESTONE_SEARCH
    from shared.parties.models import PARTY_SEARCH
    from shared.recommendations.models import RECOMMENDATION_SEARCH
    from shared.sources.models import SOURCE_SEARCH
    from shared.tk.models import DOCUMENT_SEARCH, TOEZEGGING_SEARCH

    path = Path(__file__).resolve().parents[2] / "migrations/versions/0012_list_indexes.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    searches = (
        ACTION_SEARCH,
        COMMITMENT_SEARCH,
        MILESTONE_SEARCH,
        PARTY_SEARCH,
        RECOMMENDATION_SEARCH,
        SOURCE_SEARCH,
        DOCUMENT_SEARCH,
        TOEZEGGING_SEARCH,
    )
    assert {s.model.__tablename__: s.columns for s in searches} == migration.SEARCH
