"""The raw asyncpg list path (shared/pg.py) returns exactly what the SQLAlchemy session path returns."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import bindparam, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.commitments.models import Commitment
from shared.commitments.repository import CommitmentRepository
from shared.commitments.schemas import CommitmentFilters
from shared.commitments.service import CommitmentService
from shared.pg import JoinedConnection, ShapeCache, bound_values
from tests.factories import create_commitment, create_party, create_theme


def _json(rows: list[dict[str, Any]]) -> Any:
    return orjson.loads(orjson.dumps(rows, default=str, option=orjson.OPT_UTC_Z))


async def _pages(source: Any, params: dict[str, Any]) -> list[Any]:
    """Every page of the listing, following cursors, as JSON."""
    pages, cursor = [], None
    while True:
        filters = CommitmentFilters(**params, limit=2, cursor=cursor)
        rows, cursor = await CommitmentRepository.list_page(
            source,
            CommitmentService.conditions(filters),
            sort=filters.sort,
            cursor=filters.cursor,
            limit=filters.limit,
        )
        pages.append(_json(rows))
        if cursor is None:
            return pages
        assert len(pages) < 50


@pytest.mark.postgres_only
async def test_raw_path_equals_session_path_for_every_filter_and_sort(
    client: Any, writer: dict, admin: dict, session: Any, connection: AsyncConnection
) -> None:
    for key in ("bejegening", "communicatie"):
        await create_theme(client, admin, key)
    owner = await create_party(client, admin, name="Fokus", kind="provider")
    rec = (await client.post("/v1/recommendations", json={"title": "r", "text": "t"}, headers=writer)).json()
    made = []
    for i in range(9):
        body: dict[str, Any] = {
            "title": f"Toezegging {i} {'zzp' if i % 2 else 'locatie'} \"cliënt\" \\ ✓",
            "themes": [["bejegening"], ["communicatie"], ["bejegening", "communicatie"]][i % 3],
        }
        if i % 3:
            body["due_date"] = f"2026-0{i % 4 + 1}-15"
        if i % 4 == 0:
            body["owner_party_id"] = owner["id"]
            body["recommendation_ids"] = [rec["id"]]
        if i == 5:
            body["tk_toezegging_nummer"] = "TZ202511-041"
        if i == 6:
            body["source_quote"] = "Uit het citaat: mantelzorg ondersteunen"
        made.append(await create_commitment(client, writer, **body))
    # Whole seconds, microseconds and NULL timestamps; JSON reasons; all must render as the API renders them.
    await connection.execute(
        text(
            "UPDATE commitments SET status = 'at_risk', schedule = 'overdue', "
            "evaluated_at = '2026-11-23 12:00:00+01', rule_version = '1', "
            "reasons = '[{\"rule\": \"deadline\", \"message\": \"te laat ✓\"}]' "
            "WHERE title LIKE '%zzp%'"
        )
    )
    await connection.execute(
        text(
            "UPDATE commitments SET evaluated_at = '2026-11-23 12:00:00.000120+00' "
            "WHERE title LIKE '%Toezegging 0%'"
        )
    )
    # The linked TK toezegging's text is searched too.
    await connection.execute(
        text(
            "INSERT INTO tk_toezeggingen (id, nummer, tekst, bijgewerkt, verwijderd, synced_at, "
            "origin, status_normalised) VALUES (gen_random_uuid(), 'TZ202511-041', "
            "'De minister zegt een brief over wachtlijsten toe', now(), false, now(), 'feed', "
            "'open')"
        )
    )
    raw = JoinedConnection(connection)
    cases: list[dict[str, Any]] = [
        {},
        {"theme": "bejegening"},
        {"theme": "communicatie"},
        {"owner_party_id": owner["id"]},
        {"recommendation_id": rec["id"]},
        {"q": "ZZP"},
        {"q": "locatie"},
        {"q": "50%_"},
        {"due_before": "2026-03-01"},
        {"due_after": "2026-02-01", "due_before": "2026-04-30"},
        {"status": "at_risk"},
        {"schedule": "overdue"},
        {"tk_toezegging_nummer": "TZ202511-041"},
        {"theme": "communicatie", "q": "zzp", "status": "at_risk"},
        {"q": "mantelzorg"},
        {"q": "WACHTLIJST"},
        {"q": "lo"},
        {"origin": "other"},
        {"status": "open", "q": "toe"},
    ]
    for sort in (
        None,
        "-created_at",
        "due_date",
        "-due_date",
        "title",
        "-title",
        "updated_at",
        "-updated_at",
    ):
        for case in cases:
            params = {**case, **({"sort": sort} if sort else {})}
            expected = await _pages(session, params)
            # Twice: the second run takes the cached SQL and must still use this request's values.
            assert await _pages(raw, params) == expected, params
            assert await _pages(raw, params) == expected, params
    # Not vacuous: the quote and the TK text are found.
    assert [r["id"] for p in await _pages(raw, {"q": "mantelzorg"}) for r in p] == [made[6]["id"]]
    assert [r["id"] for p in await _pages(raw, {"q": "WACHTLIJST"}) for r in p] == [made[5]["id"]]
    everything = [row["id"] for page in await _pages(raw, {}) for row in page]
    assert sorted(everything) == sorted(c["id"] for c in made)


def test_bound_values_refuses_anonymous_binds() -> None:
    named = Commitment.title == bindparam("title", "x")
    assert bound_values(named, None) == {"title": "x"}
    with pytest.raises(ValueError, match="anonymous bind"):
        bound_values(Commitment.title == "x")
    with pytest.raises(ValueError, match="anonymous bind"):
        bound_values(Commitment.title == literal("x"))


def test_shape_cache_compiles_once_and_fills_values_by_name() -> None:
    cache, built = ShapeCache(size=2), []

    def build() -> Any:
        built.append(1)
        return (
            select(Commitment.id)
            .where(Commitment.title == bindparam("title", "a"))
            .limit(bindparam("page_limit", 3))
        )

    first = cache.get("k", build)
    again = cache.get("k", build)
    assert first is again and len(built) == 1
    assert "$1" in first.sql and "$2" in first.sql
    assert first.args({"title": "b", "page_limit": 7}) == ["b", 7]
    cache.get("k2", build)
    cache.get("k3", build)  # the oldest shape makes room
    cache.get("k", build)
    assert len(built) == 4
