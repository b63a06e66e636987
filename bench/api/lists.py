"""bench/api lists: every documented sort and filter of the lists at 100,000 commitments (issue #12).

    python3 -m uv run python bench/api/lists.py [--requests 100] [--duration 5] [--skip-seed]

Seeds PostgreSQL at BENCH_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/bench_lists;
recreated and migrated by the code being measured) with 100,000 commitments (Dutch titles, descriptions and
quotes, every status and schedule, 20% without a due date, 10% following a TK toezegging), 100,000 actions and
milestones, 10,000 recommendations and sources, 20,000 TK toezeggingen and documents. Then, against one uvicorn
process:
- single requests, one at a time, warm: p50 and p95 of `--requests` pages of 50 for each list and each
  documented sort and filter (target p95 <= 20 ms);
- throughput under load (wrk as in bench/api/run.py: 2 threads, 50 connections) of the commitment list with each sort and filter,
  against the unfiltered list in the same run (target: within 20%).
The same script measures `main` when run from a checkout of main (`--label main`); needs Debian's `wrk`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.api.run import api_command, free_port, start, wrk  # noqa: E402
from bench.common import fresh_database, machine  # noqa: E402

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_lists")
N = 100_000
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
WORDS = [
    "zorg",
    "wachtlijst",
    "personeel",
    "mantelzorg",
    "wijkverpleging",
    "ouderenzorg",
    "jeugdzorg",
    "huisarts",
    "verpleeghuis",
    "bekostiging",
    "tarief",
    "indicatie",
    "toegang",
    "regio",
    "gemeente",
    "zorgkantoor",
    "cliënt",
    "kwaliteit",
    "toezicht",
    "arbeidsmarkt",
    "opleiding",
    "innovatie",
    "digitalisering",
    "informatie",
    "gegevens",
    "privacy",
    "inkoop",
    "contract",
    "verantwoording",
    "monitor",
    "onderzoek",
    "evaluatie",
    "wetgeving",
    "brief",
    "kamer",
    "minister",
    "staatssecretaris",
]
STATUSES = (
    ["open"] * 30
    + ["on_track"] * 30
    + ["at_risk"] * 12
    + ["off_track"] * 6
    + ["fulfilled"] * 15
    + ["partially_fulfilled"] * 3
    + ["lapsed"] * 2
    + ["unknown"] * 2
)
ORIGINS = (
    ["letter"] * 40
    + ["plan"] * 25
    + ["tk_toezegging"] * 10
    + ["report_response"] * 15
    + ["programme"] * 5
    + ["other"] * 5
)


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


async def seed(url: str, rng: random.Random) -> dict[str, str]:
    """The dataset; returns ids the filters use (a party, a recommendation, ...)."""
    await (await fresh_database(url)).dispose()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    themes = [f"thema-{i:02d}" for i in range(20)]
    await conn.copy_records_to_table(
        "themes",
        columns=["key", "label_nl", "label_en", "created_at", "updated_at"],
        records=[(t, t, t, NOW, NOW) for t in themes],
    )
    parties = [_id(rng) for _ in range(500)]
    kinds = ["provider", "zorgkantoor", "municipality", "ministry"]
    await conn.copy_records_to_table(
        "parties",
        columns=["id", "name", "kind", "version", "created_at", "updated_at"],
        records=[
            (p, f"Partij {_sentence(rng, 2)} {i}", kinds[i % 4], 1, NOW - dt.timedelta(hours=i), NOW)
            for i, p in enumerate(parties)
        ],
    )
    sources = [_id(rng) for _ in range(10_000)]
    await conn.copy_records_to_table(
        "sources",
        columns=["id", "kind", "title", "date", "publisher_party_id", "version", "created_at", "updated_at"],
        records=[
            (
                s,
                rng.choice(["report", "letter", "kamerbrief"]),
                _sentence(rng, 6),
                NOW.date() - dt.timedelta(days=rng.randint(0, 2000)) if rng.random() < 0.9 else None,
                rng.choice(parties),
                1,
                NOW - dt.timedelta(minutes=i),
                NOW,
            )
            for i, s in enumerate(sources)
        ],
    )
    recommendations = [_id(rng) for _ in range(10_000)]
    await conn.copy_records_to_table(
        "recommendations",
        columns=[
            "id",
            "title",
            "text",
            "theme_key",
            "addressee_party_id",
            "source_id",
            "version",
            "created_at",
            "updated_at",
        ],
        records=[
            (
                r,
                _sentence(rng, 6),
                _sentence(rng, 40),
                rng.choice(themes) if rng.random() < 0.8 else None,
                rng.choice(parties),
                rng.choice(sources),
                1,
                NOW - dt.timedelta(minutes=i),
                NOW,
            )
            for i, r in enumerate(recommendations)
        ],
    )
    toezeggingen = [f"TZ{202000 + i // 1000:06d}-{i % 1000:03d}" for i in range(20_000)]
    await conn.copy_records_to_table(
        "tk_toezeggingen",
        columns=[
            "id",
            "nummer",
            "tekst",
            "status_normalised",
            "datum_nakoming",
            "ministerie",
            "bijgewerkt",
            "verwijderd",
            "synced_at",
            "origin",
        ],
        records=[
            (
                _id(rng),
                n,
                _sentence(rng, 30),
                rng.choice(["open", "fulfilled", "partially_fulfilled", "lapsed"]),
                NOW.date() + dt.timedelta(days=rng.randint(-500, 500)) if rng.random() < 0.7 else None,
                rng.choice(["VWS", "BZK", "SZW"]),
                NOW - dt.timedelta(minutes=i),
                False,
                NOW,
                "feed",
            )
            for i, n in enumerate(toezeggingen)
        ],
    )
    await conn.copy_records_to_table(
        "tk_documents",
        columns=[
            "id",
            "nummer",
            "titel",
            "onderwerp",
            "datum",
            "bijgewerkt",
            "verwijderd",
            "synced_at",
            "origin",
        ],
        records=[
            (
                _id(rng),
                f"2026D{i:05d}",
                _sentence(rng, 8),
                _sentence(rng, 12),
                NOW.date() - dt.timedelta(days=rng.randint(0, 2000)),
                NOW - dt.timedelta(minutes=i),
                False,
                NOW,
                "feed",
            )
            for i in range(20_000)
        ],
    )
    commitments = [_id(rng) for _ in range(N)]
    linked = iter(rng.sample(toezeggingen, N // 10))
    rows = []
    for i, c in enumerate(commitments):
        due = NOW.date() + dt.timedelta(days=rng.randint(-400, 700)) if rng.random() < 0.8 else None
        schedule = "no_deadline" if due is None else rng.choice(["on_time", "on_time", "due_soon", "overdue"])
        rows.append(
            (
                c,
                f"{_sentence(rng, 5)} ({i})",
                _sentence(rng, 30),
                _sentence(rng, 15) if i % 2 else None,
                rng.choice(ORIGINS),
                1,
                NOW - dt.timedelta(seconds=i * 30),
                NOW - dt.timedelta(seconds=rng.randint(0, 10**7)),
                due,
                rng.choice(parties) if rng.random() < 0.6 else None,
                rng.choice(STATUSES),
                schedule,
                next(linked) if i % 10 == 0 else None,
                rng.choice(sources) if rng.random() < 0.5 else None,
            )
        )
    await conn.copy_records_to_table(
        "commitments",
        columns=[
            "id",
            "title",
            "description",
            "source_quote",
            "origin",
            "version",
            "created_at",
            "updated_at",
            "due_date",
            "owner_party_id",
            "status",
            "schedule",
            "tk_toezegging_nummer",
            "source_id",
        ],
        records=rows,
    )
    await conn.copy_records_to_table(
        "commitment_themes",
        columns=["commitment_id", "theme_key"],
        records=[(c, t) for c in commitments for t in rng.sample(themes, rng.randint(1, 2))],
    )
    await conn.copy_records_to_table(
        "commitment_recommendations",
        columns=["commitment_id", "recommendation_id"],
        records=[(c, rng.choice(recommendations)) for c in commitments[::3]],
    )
    await conn.copy_records_to_table(
        "actions",
        columns=[
            "id",
            "title",
            "description",
            "commitment_id",
            "state",
            "end_date",
            "last_update_date",
            "version",
            "created_at",
            "updated_at",
        ],
        records=[
            (
                _id(rng),
                _sentence(rng, 5),
                _sentence(rng, 20),
                c,
                rng.choice(["planned", "in_progress", "in_progress", "done", "blocked", "cancelled"]),
                NOW.date() + dt.timedelta(days=rng.randint(-300, 300)) if rng.random() < 0.7 else None,
                NOW.date() - dt.timedelta(days=rng.randint(0, 300)) if rng.random() < 0.7 else None,
                1,
                NOW - dt.timedelta(seconds=i * 30),
                NOW,
            )
            for i, c in enumerate(commitments)
        ],
    )
    await conn.copy_records_to_table(
        "milestones",
        columns=[
            "id",
            "title",
            "description",
            "commitment_id",
            "due_date",
            "version",
            "created_at",
            "updated_at",
        ],
        records=[
            (
                _id(rng),
                _sentence(rng, 5),
                _sentence(rng, 20),
                c,
                NOW.date() + dt.timedelta(days=rng.randint(-300, 500)),
                1,
                NOW - dt.timedelta(seconds=i * 30),
                NOW,
            )
            for i, c in enumerate(commitments)
        ],
    )
    await conn.execute("VACUUM ANALYZE")
    ids = {
        "party": str(parties[7]),
        "recommendation": str(recommendations[3]),
        "source": str(sources[5]),
        "commitment": str(commitments[11]),
    }
    await conn.close()
    return ids


def cases(ids: dict[str, str]) -> dict[str, list[str]]:
    """Per list: the unfiltered page first, then each documented sort (both ways) and filter."""
    from shared.actions.repository import ActionRepository
    from shared.commitments.repository import CommitmentRepository
    from shared.milestones.repository import MilestoneRepository
    from shared.parties.repository import PartyRepository
    from shared.recommendations.repository import RecommendationRepository
    from shared.sources.repository import SourceRepository
    from shared.tk.repository import DocumentRepository, ToezeggingRepository

    def sorts(repo: object) -> list[str]:
        return [f"sort={d}{name}" for name in repo.sorting.fields for d in ("", "-")]  # type: ignore[attr-defined]

    return {
        "/v1/commitments": [
            "",
            *sorts(CommitmentRepository),
            "status=at_risk",
            "status=lapsed",
            "status=at_risk&sort=-due_date",
            "schedule=overdue",
            "schedule=overdue&sort=title",
            "origin=programme",
            f"owner_party_id={ids['party']}",
            "theme=thema-03",
            f"recommendation_id={ids['recommendation']}",
            f"source_id={ids['source']}",
            "due_before=2026-06-01",
            "due_after=2027-06-01&sort=due_date",
            "q=zorg",
            "q=wachtlijst&sort=-due_date",
            "q=ouderenzorg%20huisarts",
            "q=zzz-geen-treffer",
            "tk_toezegging_nummer=TZ202003-100",
        ],
        "/v1/actions": [
            "",
            *sorts(ActionRepository),
            "state=blocked",
            f"commitment_id={ids['commitment']}",
            "q=mantelzorg",
        ],
        "/v1/milestones": [
            "",
            *sorts(MilestoneRepository),
            f"commitment_id={ids['commitment']}",
            "due_before=2026-01-01",
            "q=toezicht",
        ],
        "/v1/recommendations": [
            "",
            *sorts(RecommendationRepository),
            "theme=thema-04",
            f"addressee_party_id={ids['party']}",
            "q=regio",
        ],
        "/v1/sources": [
            "",
            *sorts(SourceRepository),
            "kind=report",
            f"publisher_party_id={ids['party']}",
            "q=brief",
        ],
        "/v1/parties": ["", *sorts(PartyRepository), "kind=provider", "q=zorg"],
        "/v1/tk/toezeggingen": [
            "",
            *sorts(ToezeggingRepository),
            "status=open",
            "q=gemeente",
            "ministerie=vws",
        ],
        "/v1/tk/documents": ["", *sorts(DocumentRepository), "q=kwaliteit"],
    }


def single(base: str, path: str, query: str, n: int) -> tuple[float, float]:
    url = f"{base}{path}?limit=50" + (f"&{query}" if query else "")
    timings = []
    with httpx.Client(timeout=30) as client:
        for i in range(n + 10):
            start_ = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - start_) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
            if i >= 10:  # warm-up
                timings.append(elapsed)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


async def explain(url: str, queries: list[str], repeat: int = 5) -> dict[str, tuple[str, float]]:
    """The commitment list's own SQL (as the raw PostgreSQL path runs it) under EXPLAIN ANALYZE: how the first
    page is read, and PostgreSQL's median execution time. Free of HTTP and of the load on the app."""
    from urllib.parse import parse_qsl

    from sqlalchemy import Integer, literal_column

    from shared.commitments.repository import CommitmentRepository as Repo
    from shared.commitments.schemas import CommitmentFilters
    from shared.commitments.service import CommitmentService
    from shared.pg import ShapeCache, bound_values

    def nodes(plan: dict) -> list[dict]:
        return [plan, *(n for child in plan.get("Plans", []) for n in nodes(child))]

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    out = {}
    for query in queries:
        filters = CommitmentFilters(**dict(parse_qsl(query)), limit=50)
        conditions = CommitmentService.conditions(filters)
        statement = Repo.sorting.apply(Repo._list_statement().where(*conditions), filters.sort, None, 50)[0]
        page = statement.limit(literal_column("51", Integer))
        shape = ShapeCache().get(query, lambda page=page: page)
        args = shape.args(bound_values(*conditions))
        times, how = [], ""
        for _ in range(repeat):
            result = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {shape.sql}", *args))[0]
            times.append(result["Execution Time"])
            main_nodes = [
                n
                for n in nodes(result["Plan"])
                if n.get("Relation Name") == "commitments" or n["Node Type"] in ("Sort", "Incremental Sort")
            ]
            how = ", ".join(
                sorted(
                    {
                        f"{n['Node Type']}" + (f" {n['Index Name']}" if "Index Name" in n else "")
                        for n in main_nodes
                    }
                )
            )
        out[query or "(unfiltered)"] = (how, statistics.median(times))
    await conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument(
        "--label",
        default=subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    )
    parser.add_argument(
        "--skip-seed", action="store_true", help="reuse the seeded database (ids from BENCH_IDS)"
    )
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument(
        "--explain-only", action="store_true", help="only the EXPLAIN ANALYZE figures (no seeding)"
    )
    parser.add_argument("--out", type=Path, help="write the figures as JSON here too")
    args = parser.parse_args()
    rng = random.Random(12)
    if args.explain_only:
        ids = json.loads(os.environ["BENCH_IDS"])
        for query, (how, ms) in asyncio.run(explain(DB_URL, cases(ids)["/v1/commitments"])).items():
            print(f"explain | {query} | {ms:.2f} ms | {how}", flush=True)
        return
    started = time.time()
    ids = asyncio.run(seed(DB_URL, rng)) if not args.skip_seed else json.loads(os.environ["BENCH_IDS"])
    print(f"seeded in {time.time() - started:.0f} s; ids {json.dumps(ids)}", flush=True)
    if args.seed_only:
        return
    port = free_port()
    env = {
        "NAKOMING_DATABASE_URL": DB_URL,
        "NAKOMING_JOB_BACKEND": "inprocess",
        "NAKOMING_LOG_LEVEL": "WARNING",
        "NAKOMING_ENVIRONMENT": "development",
    }
    api = start(
        api_command(port),
        env,
        port,
    )
    base = f"http://127.0.0.1:{port}"
    out: dict[str, object] = {"label": args.label, "load_before": os.getloadavg(), "single": {}, "load": {}}
    try:
        for path, queries in cases(ids).items():
            for query in queries:
                p50, p95 = single(base, path, query, args.requests)
                out["single"][f"{path}?{query}"] = (p50, p95)  # type: ignore[index]
                print(
                    f"single | {path}?{query or '(unfiltered)'} | p50 {p50:.1f} ms | p95 {p95:.1f} ms",
                    flush=True,
                )
        unfiltered = None
        for query in cases(ids)["/v1/commitments"]:
            url = f"{base}/v1/commitments?limit=50" + (f"&{query}" if query else "")
            rps, p99 = wrk(url, args.duration)
            unfiltered = unfiltered or rps
            out["load"][query or "(unfiltered)"] = (rps, p99, rps / unfiltered)  # type: ignore[index]
            print(
                f"load | {query or '(unfiltered)'} | {rps:.0f} req/s | p99 {p99:.1f} ms | "
                f"{rps / unfiltered:.2f} of unfiltered",
                flush=True,
            )
    finally:
        api.terminate()
    out["load_after"] = os.getloadavg()
    out["machine"] = f"{machine()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    print(json.dumps(out))
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
