"""Fulfilment for every kind of commitment, through the API: records and their review, derived fulfilment from
milestones and actions, qualitative milestones, recurring commitments, and deletes that recalculate."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from services.worker.queue import InProcessQueue
from tests.factories import create, create_action, create_commitment, create_milestone, create_party

EVIDENCE = [{"url": "https://www.fokus.nl/nieuws/adl-assistenten-in-loondienst"}]


async def status_of(client: httpx.AsyncClient, commitment_id: str, queue: InProcessQueue) -> dict[str, Any]:
    """What a user sees once the write's recalculation has run."""
    await queue.drain()
    return (await client.get(f"/v1/commitments/{commitment_id}")).json()


async def test_fokus_zzp_commitment_fulfilled_by_its_milestone_and_actions(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    """The Fokus zzp phase-out is no TK toezegging: its milestone at 100 by 30 June 2026 and every action done make
    it fulfilled, after its due date too; one action still open keeps it from that."""
    commitment = await create_commitment(
        client,
        writer,
        title="Alle ADL-assistenten in loondienst; geen zzp'ers meer",
        due_date="2026-07-01",
        origin="report_response",
    )
    milestone = await create_milestone(
        client,
        writer,
        commitment["id"],
        title="Alle ADL-assistenten in loondienst",
        due_date="2026-06-30",
        indicator={
            "unit": "percent",
            "baseline_value": 60,
            "baseline_date": "2025-10-01",
            "target_value": 100,
        },
    )
    for day, value in (("2026-03-01", 80), ("2026-06-15", 100)):
        r = await client.post(
            f"/v1/milestones/{milestone['id']}/measurements",
            json={"date": day, "value": value},
            headers=writer,
        )
        assert r.status_code == 201
    action = await create_action(
        client, writer, commitment["id"], title="Werving in loondienst", state="done"
    )
    still = await create_action(
        client, writer, commitment["id"], title="Laatste contracten", state="in_progress"
    )
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] != "fulfilled"
    assert any(r["code"] == "progress.actions_open" for r in got["reasons"])
    r = await client.patch(f"/v1/actions/{still['id']}", json={"state": "done"}, headers=writer)
    assert r.status_code == 200
    got = await status_of(client, commitment["id"], queue)
    assert (got["status"], got["schedule"]) == ("fulfilled", "on_time")
    first = got["reasons"][0]
    assert first["rule"] == "progress" and first["code"] == "progress.derived"
    ids = {e["id"] for e in first["evidence"]}
    assert {milestone["id"], action["id"], still["id"]} <= ids
    for item in first["evidence"]:
        assert (await client.get(item["path"])).status_code == 200
    assert (await client.get(f"/v1/milestones/{milestone['id']}")).json()["status"] == "met"

    # Deleting the measurement that met the target recalculates: missed now, off track.
    [latest] = [
        m
        for m in (await client.get(f"/v1/milestones/{milestone['id']}")).json()["measurements"]
        if m["date"] == "2026-06-15"
    ]
    r = await client.delete(f"/v1/milestones/{milestone['id']}/measurements/{latest['id']}", headers=writer)
    assert r.status_code == 204
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "off_track"
    assert any(r["code"] == "progress.missed" and r["params"]["missed"] == 1 for r in got["reasons"])

    # Deleting the milestone recalculates too: actions alone never make a commitment fulfilled.
    assert (await client.delete(f"/v1/milestones/{milestone['id']}", headers=writer)).status_code == 204
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "off_track" and got["schedule"] == "overdue"
    assert all(r["rule"] != "milestone" for r in got["reasons"])


async def test_qualitative_milestone_reached(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    commitment = await create_commitment(
        client, writer, title="Transformatieplan vastgesteld", due_date="2026-09-01"
    )
    milestone = await create_milestone(
        client, writer, commitment["id"], title="Plan vastgesteld door bestuur", due_date="2026-06-01"
    )
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "off_track"  # due and not reached
    assert (await client.get(f"/v1/milestones/{milestone['id']}")).json()["status"] == "missed"
    r = await client.patch(
        f"/v1/milestones/{milestone['id']}",
        headers=writer,
        json={
            "reached_on": "2026-05-20",
            "evidence": [{"tk_document_nummer": "2026D07125", "note": "kabinetsreactie"}],
        },
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["reached_on"] == "2026-05-20"
        and r.json()["evidence"][0]["tk_document_nummer"] == "2026D07125"
    )
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "fulfilled"
    saved = (await client.get(f"/v1/milestones/{milestone['id']}")).json()
    assert saved["status"] == "met" and saved["reasons"][0]["code"] == "milestone.reached"
    bad = await client.patch(
        f"/v1/milestones/{milestone['id']}",
        headers=writer,
        json={"evidence": [{"url": "https://x.nl/a", "source_id": commitment["id"]}]},
    )
    assert bad.status_code == 422


async def test_fulfilment_record_and_its_review(
    client: httpx.AsyncClient, writer: dict, admin: dict, make_key: Any, queue: InProcessQueue
) -> None:
    """The promiser records; the party it was made to accepts or rejects; a rejected claim after the due date is
    off track; withdrawing it recalculates."""
    fokus = await create_party(client, writer, name="Stichting Fokus Wonen", kind="provider")
    vws = await create_party(client, writer, name="Ministerie van VWS", kind="ministry")
    other = await create_party(client, writer, name="Zorgkantoor", kind="zorgkantoor")
    commitment = await create_commitment(
        client,
        writer,
        title="Verbeterplan uitgevoerd",
        due_date="2026-07-01",
        owner_party_id=fokus["id"],
        made_to_party_id=vws["id"],
    )
    path = f"/v1/commitments/{commitment['id']}/fulfilment"
    body = {
        "kind": "fulfilled",
        "date": "2026-06-28",
        "summary": "Alle maatregelen uitgevoerd.",
        "evidence": EVIDENCE,
    }
    assert (await client.put(path, json=body)).status_code == 401
    assert (await client.put(path, json={**body, "evidence": []}, headers=writer)).status_code == 422
    assert (
        await client.put(path, json={**body, "period_start": "2026-01-01"}, headers=writer)
    ).status_code == 422
    r = await client.put(path, json=body, headers=writer)
    assert r.status_code == 201, r.text
    assert r.json()["review"] is None and r.headers["etag"]
    assert (await client.put(path, json=body, headers=writer)).status_code == 200  # replaced, not duplicated
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "fulfilled"
    reason = got["reasons"][0]
    assert reason["rule"] == "fulfilment" and "nog niet beoordeeld" in reason["message"]
    evidence = reason["evidence"][0]
    assert evidence["type"] == "fulfilment" and evidence["review"] == "pending"
    assert (await client.get(evidence["path"])).json()["summary"] == body["summary"]

    review = {"decision": "rejected", "note": "De brief dekt de zzp-afbouw niet."}
    assert (
        await client.post(f"{path}/review", json=review, headers=writer)
    ).status_code == 403  # a staff key
    wrong = await make_key(["read", "write"], uuid.UUID(other["id"]))
    forbidden = await client.post(f"{path}/review", json=review, headers=wrong)
    assert forbidden.status_code == 403 and vws["id"] in forbidden.json()["detail"]
    reviewer = await make_key(["read", "write"], uuid.UUID(vws["id"]))
    r = await client.post(f"{path}/review", json=review, headers=reviewer)
    assert r.status_code == 200 and r.json()["review"] == "rejected"
    got = await status_of(client, commitment["id"], queue)
    assert (got["status"], got["schedule"]) == ("off_track", "overdue")
    assert any(r["code"] == "fulfilment.rejected" and r["severity"] == "critical" for r in got["reasons"])

    r = await client.post(f"{path}/review", json={"decision": "accepted"}, headers=admin)
    assert r.status_code == 200
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "fulfilled" and "geaccepteerd" in got["reasons"][0]["message"]
    english = await client.get(f"/v1/commitments/{commitment['id']}", headers={"Accept-Language": "en"})
    assert "accepted by" in english.json()["reasons"][0]["message"]

    assert (await client.delete(path, headers=writer)).status_code == 204
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "off_track" and all(r["rule"] != "fulfilment" for r in got["reasons"])
    assert (await client.get(path)).status_code == 404


async def test_recurring_commitment_missing_one_period(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    """Quarterly quality talks: each quarter its own deadline and record; a past quarter without one is a
    reason (off track), and recording it late repairs that."""
    today = dt.datetime.now(dt.UTC).date()
    start = dt.date(today.year - 1, 1, 1)
    commitment = await create_commitment(
        client,
        writer,
        title="Kwartaalgesprek kwaliteit Wmo Utrecht",
        recurrence={"unit": "quarter", "start": start.isoformat()},
    )
    assert commitment["recurrence"] == {"unit": "quarter", "start": start.isoformat()}
    path = f"/v1/commitments/{commitment['id']}/fulfilment"
    quarters = [dt.date(start.year + (m // 12), m % 12 + 1, 1) for m in range(0, 24, 3)]
    past = [q for q in quarters if dt.date(q.year + (q.month + 2) // 12, (q.month + 2) % 12 + 1, 1) <= today]
    body = {
        "kind": "fulfilled",
        "date": today.isoformat(),
        "summary": "Gesprek gevoerd.",
        "evidence": EVIDENCE,
    }
    assert (await client.put(path, json=body, headers=writer)).status_code == 422  # which period?
    bad = await client.put(
        path, json={**body, "period_start": start.replace(day=2).isoformat()}, headers=writer
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "period_start"]
    for quarter in past[1:]:  # the first quarter is missing
        r = await client.put(path, json={**body, "period_start": quarter.isoformat()}, headers=writer)
        assert r.status_code == 201, r.text
        assert r.json()["period_end"] > quarter.isoformat()
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "off_track"
    [missed] = [r for r in got["reasons"] if r["code"] == "recurrence.missed"]
    assert missed["params"]["count"] == 1 and missed["evidence"][0]["period_start"] == start.isoformat()
    assert got["schedule"] in ("on_time", "due_soon")  # the current quarter's deadline has not passed
    r = await client.put(path, json={**body, "period_start": start.isoformat()}, headers=writer)
    assert r.status_code == 201
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] in ("on_track", "at_risk") and all(
        r["code"] != "recurrence.missed" for r in got["reasons"]
    )
    listed = (await client.get(f"/v1/commitments/{commitment['id']}/fulfilments")).json()["items"]
    assert len(listed) == len(past) and listed[0]["period_start"] > listed[-1]["period_start"]


async def test_fulfilment_beside_a_tk_toezegging_never_over_it(
    client: httpx.AsyncClient, writer: dict, session: Any, queue: InProcessQueue
) -> None:
    from shared.db import utcnow
    from shared.tk.models import TkToezegging

    session.add(
        TkToezegging(id=uuid.uuid4(), nummer="TZ202602-011", status="Openstaand", bijgewerkt=utcnow())
    )
    await session.commit()
    commitment = await create_commitment(
        client, writer, title="Brief over toezicht", tk_toezegging_nummer="TZ202602-011"
    )
    r = await client.put(
        f"/v1/commitments/{commitment['id']}/fulfilment",
        headers=writer,
        json={
            "kind": "fulfilled",
            "date": "2026-10-01",
            "summary": "Brief verstuurd.",
            "evidence": [{"tk_document_nummer": "2026D40001"}],
        },
    )
    assert r.status_code == 201
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "open" and got["source_status"] == "Openstaand"
    [beside] = [r for r in got["reasons"] if r["rule"] == "fulfilment"]
    assert beside["severity"] == "info" and "TZ202602-011" in beside["message"]


async def test_every_commitment_milestone_and_recommendation_has_a_reason(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    recommendation = await create(
        client,
        "/v1/recommendations",
        writer,
        title="Zorg voor vaste teams",
        text="Werk met vaste teams per locatie.",
    )
    commitment = await create_commitment(
        client, writer, title="Nog niets", recommendation_ids=[recommendation["id"]]
    )
    got = await status_of(client, commitment["id"], queue)
    assert got["status"] == "open" and got["reasons"][0]["code"] == "none.nothing_yet"
    rec = (await client.get(f"/v1/recommendations/{recommendation['id']}")).json()
    assert rec["reasons"] and rec["reasons"][0]["code"] == "recommendation.commitments"
    # Unlinking the commitment rolls the recommendation up again at once.
    r = await client.patch(
        f"/v1/commitments/{commitment['id']}", json={"recommendation_ids": []}, headers=writer
    )
    assert r.status_code == 200
    rec = (await client.get(f"/v1/recommendations/{recommendation['id']}")).json()
    assert rec["reasons"][0]["code"] == "recommendation.nothing"
