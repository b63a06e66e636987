from __future__ import annotations

from collections import Counter

import httpx

from shared.status.vocabulary import Schedule, Status
from tests.factories import create_commitment, create_milestone, create_theme


async def test_create_get_list_commitment(client: httpx.AsyncClient, writer: dict, admin: dict) -> None:
    await create_theme(client, admin, "inzet-zzp-flex")
    created = await create_commitment(
        client, writer, title="Geen zzp'ers meer", due_date="2026-07-01", themes=["inzet-zzp-flex"]
    )
    assert created["themes"] == ["inzet-zzp-flex"]
    got = await client.get(f"/v1/commitments/{created['id']}")
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    listed = (await client.get("/v1/commitments", params={"theme": "inzet-zzp-flex"})).json()
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert listed["next_cursor"] is None


async def test_pagination_is_stable_and_complete(client: httpx.AsyncClient, writer: dict) -> None:
    ids = set()
    for i in range(7):
        ids.add(
            (
                await create_commitment(
                    client, writer, title=f"T{i}", due_date=f"2026-0{i % 3 + 1}-01" if i % 2 else None
                )
            )["id"]
        )
    for sort in ("due_date", "-due_date", "title", "-created_at"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, "sort": sort, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/commitments", params=params)).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 7, sort
        assert set(seen) == ids


async def test_bad_input_gets_problem_details(client: httpx.AsyncClient, writer: dict) -> None:
    r = await client.post(
        "/v1/commitments", content=b"{not json", headers={**writer, "content-type": "application/json"}
    )
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"
    r = await client.post("/v1/commitments", json={"title": "x", "colour": "red"}, headers=writer)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "colour"]
    r = await client.post("/v1/commitments", json={"title": "x", "due_date": "2026-02-30"}, headers=writer)
    assert r.status_code == 422 and r.json()["type"].endswith("/validation")
    r = await client.get("/v1/commitments", params={"limit": 0})
    assert r.status_code == 422
    r = await client.get("/v1/commitments", params={"cursor": "garbage!"})
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-cursor")
    r = await client.post("/v1/commitments", json={"title": "x" * 501}, headers=writer)
    assert r.status_code == 422
    r = await client.post("/v1/commitments", json={"title": "x", "themes": ["bestaat-niet"]}, headers=writer)
    assert r.status_code == 422 and "bestaat-niet" in r.json()["detail"]
    assert (await client.get("/v1/commitments")).json()["items"] == []  # nothing half-written


async def test_auth_and_if_match(client: httpx.AsyncClient, writer: dict, make_key) -> None:
    assert (await client.post("/v1/commitments", json={"title": "x"})).status_code == 401
    reader = await make_key(["read"])
    assert (await client.post("/v1/commitments", json={"title": "x"}, headers=reader)).status_code == 403
    c = await create_commitment(client, writer)
    r = await client.patch(
        f"/v1/commitments/{c['id']}", json={"title": "nieuw"}, headers={**writer, "If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    r = await client.patch(
        f"/v1/commitments/{c['id']}", json={"title": "ouder"}, headers={**writer, "If-Match": '"1"'}
    )
    assert r.status_code == 412
    assert (await client.get(f"/v1/commitments/{c['id']}")).json()["title"] == "nieuw"


async def test_duplicate_natural_key_is_409(client: httpx.AsyncClient, writer: dict) -> None:
    await create_commitment(client, writer, tk_toezegging_nummer="TZ202511-041")
    r = await client.post(
        "/v1/commitments", json={"title": "y", "tk_toezegging_nummer": "TZ202511-041"}, headers=writer
    )
    assert r.status_code == 409 and "existing_id" in r.json()


async def test_milestone_with_measurements(client: httpx.AsyncClient, writer: dict) -> None:
    c = await create_commitment(client, writer)
    m = await create_milestone(client, writer, c["id"], indicator={"unit": "percent", "target_value": 100})
    r = await client.post(
        f"/v1/milestones/{m['id']}/measurements", json={"date": "2026-03-01", "value": 70}, headers=writer
    )
    assert r.status_code == 201
    r = await client.post(
        f"/v1/milestones/{m['id']}/measurements", json={"date": "2026-03-01", "value": 71}, headers=writer
    )
    assert r.status_code == 409
    got = (await client.get(f"/v1/milestones/{m['id']}")).json()
    assert [x["value"] for x in got["measurements"]] == [70]
    assert got["indicator"]["direction"] == "increase"


async def test_milestone_list_items_equal_get_bodies(client: httpx.AsyncClient, writer: dict) -> None:
    """The list reads measurements as plain rows beside the milestones, GET through the relationship."""
    c = await create_commitment(client, writer)
    numeric = await create_milestone(
        client,
        writer,
        c["id"],
        title="Cijfer",
        due_date="2026-09-01",
        indicator={
            "unit": "procent",
            "target_value": 90,
            "baseline_value": 20,
            "baseline_date": "2025-01-01",
        },
    )
    for day, value in (("2026-03-01", 70), ("2025-06-01", 40.5), ("2026-01-15", 61)):
        body = {"date": day, "value": value, "note": f"meting {day}", "source_section": "p. 3"}
        assert (
            await client.post(f"/v1/milestones/{numeric['id']}/measurements", json=body, headers=writer)
        ).status_code == 201
    await create_milestone(client, writer, c["id"], title="Zonder meting", due_date="2026-08-01")
    for params in (
        {"commitment_id": c["id"]},
        {"commitment_id": c["id"], "limit": 1},
        {"has_indicator": "true"},
    ):
        listed = (await client.get("/v1/milestones", params=params)).json()["items"]
        assert listed
        for item in listed:
            assert item == (await client.get(f"/v1/milestones/{item['id']}")).json()
    got = (await client.get(f"/v1/milestones/{numeric['id']}")).json()
    assert [m["date"] for m in got["measurements"]] == ["2025-06-01", "2026-01-15", "2026-03-01"]


async def test_list_items_equal_get_bodies(client: httpx.AsyncClient, writer: dict, admin: dict) -> None:
    await create_theme(client, admin, "bejegening")
    await create_theme(client, admin, "communicatie")
    recs = [
        (
            await client.post("/v1/recommendations", json={"title": f"r{i}", "text": "t"}, headers=writer)
        ).json()
        for i in range(3)
    ]
    c = await create_commitment(
        client,
        writer,
        title="Vorm",
        due_date="2026-07-01",
        themes=["communicatie", "bejegening"],
        recommendation_ids=[r["id"] for r in recs],
        description="d",
        source_section="§1",
    )
    await create_commitment(client, writer, title="Leeg")
    listed = {item["id"]: item for item in (await client.get("/v1/commitments")).json()["items"]}
    for cid in listed:
        assert listed[cid] == (await client.get(f"/v1/commitments/{cid}")).json()
    assert listed[c["id"]]["themes"] == ["bejegening", "communicatie"]
    assert listed[c["id"]]["recommendation_ids"] == sorted(r["id"] for r in recs)


async def test_create_with_idempotency_key_replays(client: httpx.AsyncClient, writer: dict) -> None:
    headers = {**writer, "Idempotency-Key": "c-1"}
    first = await client.post("/v1/commitments", json={"title": "Eenmalig"}, headers=headers)
    again = await client.post("/v1/commitments", json={"title": "Eenmalig"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.headers["location"] == first.headers["location"]
    other = await client.post("/v1/commitments", json={"title": "Anders"}, headers=headers)
    assert other.status_code == 422
    listed = (await client.get("/v1/commitments", params={"q": "Eenmalig"})).json()["items"]
    assert len(listed) == 1
    failed = await client.post(
        "/v1/commitments",
        json={"title": "x", "themes": ["nee"]},
        headers={**writer, "Idempotency-Key": "c-2"},
    )
    assert failed.status_code == 422
    retry = await client.post(
        "/v1/commitments", json={"title": "x"}, headers={**writer, "Idempotency-Key": "c-2"}
    )
    assert retry.status_code == 201, (
        retry.text
    )  # a failed request released its key: the corrected retry goes through


async def test_counts_per_status_and_schedule_agree_with_the_list(
    client: httpx.AsyncClient, writer: dict, admin: dict
) -> None:
    await create_theme(client, admin, "inzet-zzp-flex")
    for i, due in enumerate(["2020-01-01", "2099-01-01", None, "2020-06-01", None]):
        c = await create_commitment(
            client, writer, title=f"T{i}", due_date=due, themes=["inzet-zzp-flex"] if i % 2 else []
        )
        if due:  # evaluated: overdue and on time beside the unevaluated ones
            assert (
                await client.post(f"/v1/commitments/{c['id']}/recalculate", headers=writer)
            ).status_code == 200
    for filters in (
        {},
        {"theme": "inzet-zzp-flex"},
        {"due_before": "2021-01-01"},
        {"q": "T4"},
        {"schedule": "overdue"},
        {"status": "open", "schedule": "no_deadline"},
    ):
        listed = (await client.get("/v1/commitments", params={"limit": 500, **filters})).json()["items"]
        counts = await client.get("/v1/commitments/counts", params=filters)
        assert counts.status_code == 200, counts.text
        body = counts.json()
        assert body["total"] == len(listed) > 0, filters
        assert body["by_status"] == {str(s): sum(c["status"] == s for c in listed) for s in Status}
        assert body["by_schedule"] == {str(s): sum(c["schedule"] == s for c in listed) for s in Schedule}
        assert sorted((c["status"], c["schedule"], c["count"]) for c in body["cells"]) == sorted(
            (st, sc, n) for (st, sc), n in Counter((c["status"], c["schedule"]) for c in listed).items()
        )
    assert len((await client.get("/v1/commitments/counts")).json()["cells"]) >= 3
    # The list's filters only: no paging, and refused values are named, not echoed.
    for bad in ({"limit": "5"}, {"due_after": "1-2-2026x"}, {"status": "nope"}):
        refused = await client.get("/v1/commitments/counts", params=bad)
        assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["query", *bad]
