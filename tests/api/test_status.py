"""The status engine end to end through the API: jobs after writes, as_of, history, overrides, filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from services.worker.queue import InProcessQueue
from shared.commitments.events import RECALCULATE_JOB
from tests.factories import create, create_action, create_commitment, create_milestone

AS_OF = "2026-11-23"


def future(days: int = 30) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


async def fokus(client: httpx.AsyncClient, writer: dict) -> tuple[dict, dict]:
    commitment = await create_commitment(
        client,
        writer,
        title="Alle ADL-assistenten in loondienst; geen zzp'ers meer",
        key="fokus-adl-loondienst",
        origin="report_response",
    )
    milestone = await create_milestone(
        client,
        writer,
        commitment["id"],
        title="All ADL staff employed",
        due_date="2026-07-01",
        indicator={
            "unit": "percent",
            "baseline_value": 60,
            "baseline_date": "2025-10-01",
            "target_value": 100,
        },
    )
    return commitment, milestone


async def test_fokus_milestone_without_measurement_is_not_on_track(
    client: httpx.AsyncClient, writer: dict
) -> None:
    commitment, milestone = await fokus(client, writer)
    r = await client.post(f"/v1/commitments/{commitment['id']}/recalculate", headers=writer)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "off_track" and result["status"] != "on_track"
    assert result["as_of"] == dt.datetime.now(dt.UTC).date().isoformat() and result["rule_version"]
    assert result["milestones"] == [{"id": milestone["id"], "status": "missed"}]
    [reason] = result["reasons"]
    assert reason["rule"] == "milestone" and reason["severity"] == "critical"
    assert reason["code"] == "milestone.missed_unmeasured" and "geen meting" in reason["message"]
    assert reason["evidence"][0] == {
        "type": "milestone",
        "id": milestone["id"],
        "path": f"/v1/milestones/{milestone['id']}",
        "due_date": "2026-07-01",
        "target_value": 100.0,
        "planned_value": None,
        "projected_value": None,
        "reached_on": None,
        "status": None,
        "items": [],
    }
    assert (await client.get(reason["evidence"][0]["path"])).status_code == 200  # evidence links resolve
    # The result is part of the representations, in the reader's language.
    got = (await client.get(f"/v1/commitments/{commitment['id']}")).json()
    assert (got["status"], got["schedule"], got["reasons"]) == ("off_track", "no_deadline", result["reasons"])
    assert got["evaluated_at"] and got["rule_version"] == result["rule_version"]
    english = await client.get(
        f"/v1/commitments/{commitment['id']}", headers={"Accept-Language": "en-GB,nl;q=0.5"}
    )
    assert "has no measurement" in english.json()["reasons"][0]["message"]
    assert "Accept-Language" in english.headers["vary"]
    listed = (
        await client.get("/v1/commitments", params={"q": "ADL"}, headers={"Accept-Language": "en"})
    ).json()
    assert listed["items"][0]["reasons"] == english.json()["reasons"]
    milestone_now = (await client.get(f"/v1/milestones/{milestone['id']}")).json()
    assert (
        milestone_now["status"] == "missed"
        and milestone_now["reasons"][0]["code"] == "milestone.missed_unmeasured"
    )
    # As of an earlier date, before the due date and with a measurement on course, it was on track; the preview
    # stores nothing, and the stored result stays as of today.
    r = await client.post(
        f"/v1/milestones/{milestone['id']}/measurements",
        json={"date": "2026-03-01", "value": 84},
        headers=writer,
    )
    assert r.status_code == 201
    earlier = (
        await client.get(f"/v1/commitments/{commitment['id']}/status", params={"as_of": "2026-03-15"})
    ).json()
    assert earlier["status"] == "on_track" and earlier["milestones"][0]["status"] == "on_track"
    assert earlier["as_of"] == "2026-03-15"
    stored = (await client.get(f"/v1/commitments/{commitment['id']}")).json()
    assert stored["status"] == "off_track" and stored["evaluated_at"] == got["evaluated_at"]
    history = (await client.get(f"/v1/commitments/{commitment['id']}/status-history")).json()["items"]
    assert len(history) == 1
    refused = await client.post(
        f"/v1/commitments/{commitment['id']}/recalculate", params={"as_of": "2026-03-15"}, headers=writer
    )
    assert refused.status_code == 422 and "/status?as_of=2026-03-15" in refused.json()["detail"]
    for bad in ("0001-01-01", "9999-12-31"):
        r = await client.get(f"/v1/commitments/{commitment['id']}/status", params={"as_of": bad})
        assert r.status_code in (200, 422), r.text


async def test_job_after_write_history_only_on_change(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    commitment = await create_commitment(client, writer, title="Te laat", due_date="2001-01-01")
    path = f"/v1/commitments/{commitment['id']}"
    assert commitment["status"] == "open" and commitment["reasons"] == []  # not evaluated yet
    await queue.drain()
    got = await client.get(path)
    assert (got.json()["status"], got.json()["schedule"]) == ("off_track", "overdue")
    assert got.headers["etag"] == '"1"'  # derived data does not change the ETag
    history = (await client.get(f"{path}/status-history")).json()
    assert [h["status"] for h in history["items"]] == ["off_track"]

    # Running again changes nothing and writes no history (jobs are idempotent).
    await queue.enqueue("status.recalculate_commitment", commitment_id=commitment["id"])
    await queue.drain()
    assert len((await client.get(f"{path}/status-history")).json()["items"]) == 1

    r = await client.patch(path, json={"due_date": "2999-01-01"}, headers={**writer, "If-Match": '"1"'})
    assert r.status_code == 200
    await queue.drain()
    got = (await client.get(path)).json()
    assert (got["status"], got["schedule"]) == ("open", "on_time")
    history = (await client.get(f"{path}/status-history")).json()["items"]
    assert [h["status"] for h in history] == ["open", "off_track"]  # newest first
    page = (await client.get(f"{path}/status-history", params={"limit": 1})).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = (
        await client.get(f"{path}/status-history", params={"limit": 1, "cursor": page["next_cursor"]})
    ).json()
    assert [h["status"] for h in rest["items"]] == ["off_track"] and rest["next_cursor"] is None


async def test_actions_and_measurement_writes_trigger_recalculation(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    commitment = await create_commitment(client, writer, title="Scholing")
    action = await create_action(client, writer, commitment["id"], state="blocked")
    await queue.drain()
    got = (await client.get(f"/v1/commitments/{commitment['id']}")).json()
    assert got["status"] == "at_risk"
    assert got["reasons"][0]["evidence"][0]["id"] == action["id"]
    r = await client.patch(f"/v1/actions/{action['id']}", json={"state": "in_progress"}, headers=writer)
    assert r.status_code == 200
    await queue.drain()
    assert (await client.get(f"/v1/commitments/{commitment['id']}")).json()["status"] == "on_track"


async def test_override_wins_until_removed(
    client: httpx.AsyncClient, writer: dict, admin: dict, make_key
) -> None:
    commitment = await create_commitment(client, writer, title="Te laat", due_date="2001-01-01")
    path = f"/v1/commitments/{commitment['id']}/status-override"
    body = {"status": "on_track", "reason": "Uitstel afgesproken met de Kamer.", "expires_at": future()}
    assert (await client.put(path, json=body)).status_code == 401
    assert (await client.put(path, json=body, headers=await make_key(["read"]))).status_code == 403
    r = await client.put(path, json=body, headers=writer)  # a status override is an admin's decision
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    r = await client.put(path, json=body, headers=admin)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["status"], result["computed_status"]) == ("on_track", "off_track")
    assert result["reasons"][0]["rule"] == "override" and "Uitstel" in result["reasons"][0]["message"]
    assert (await client.get(f"/v1/commitments/{commitment['id']}")).json()["status"] == "on_track"
    assert (await client.get(path)).json()["reason"] == body["reason"]
    listed = (await client.get("/v1/commitments", params={"status": "on_track"})).json()["items"]
    assert [c["id"] for c in listed] == [commitment["id"]]

    assert (await client.delete(path, headers=writer)).status_code == 403
    r = await client.delete(path, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "off_track"
    assert all(reason["rule"] != "override" for reason in r.json()["reasons"])
    assert (await client.get(f"/v1/commitments/{commitment['id']}")).json()["status"] == "off_track"
    assert (await client.delete(path, headers=admin)).status_code == 404
    assert (await client.get(path)).status_code == 404


async def test_override_validation(client: httpx.AsyncClient, writer: dict, admin: dict) -> None:
    commitment = await create_commitment(client, writer)
    path = f"/v1/commitments/{commitment['id']}/status-override"
    past = {"status": "on_track", "reason": "x", "expires_at": "2001-01-01T00:00:00Z"}
    assert (await client.put(path, json=past, headers=admin)).status_code == 422
    for bad in (
        {"status": "great", "reason": "x", "expires_at": future()},
        {"status": "on_track", "reason": "", "expires_at": future()},
        {"status": "on_track", "reason": "x", "expires_at": "2030-01-01T00:00:00"},  # naive
        {"status": "on_track", "reason": "x"},
    ):
        r = await client.put(path, json=bad, headers=admin)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", bad
    missing = "/v1/commitments/00000000-0000-0000-0000-000000000000"
    ok = {"status": "on_track", "reason": "x", "expires_at": future()}
    assert (await client.put(f"{missing}/status-override", json=ok, headers=admin)).status_code == 404
    assert (await client.post(f"{missing}/recalculate", headers=writer)).status_code == 404
    assert (await client.get(f"{missing}/status-history")).status_code == 404
    assert (await client.post(f"/v1/commitments/{commitment['id']}/recalculate")).status_code == 401


async def test_filters_on_status_and_schedule(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    late = await create_commitment(client, writer, title="Te laat", due_date="2001-01-01")
    later = await create_commitment(client, writer, title="Later", due_date="2999-01-01")
    await queue.drain()
    by_status = (await client.get("/v1/commitments", params={"status": "off_track"})).json()["items"]
    assert [c["id"] for c in by_status] == [late["id"]]
    by_schedule = (await client.get("/v1/commitments", params={"schedule": "on_time"})).json()["items"]
    assert [c["id"] for c in by_schedule] == [later["id"]]
    assert (await client.get("/v1/commitments", params={"status": "great"})).status_code == 422
    assert (
        await client.get(
            "/v1/commitments/00000000-0000-0000-0000-000000000000/status-history", params={"colour": "red"}
        )
    ).status_code == 422


async def test_recommendation_rolls_up(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    recommendation = await create(
        client, "/v1/recommendations", writer, title="Bouw zzp af", text="Vaste teams."
    )
    assert recommendation["status"] == "open"
    await create_commitment(
        client, writer, title="Te laat", due_date="2001-01-01", recommendation_ids=[recommendation["id"]]
    )
    await create_commitment(client, writer, title="Bezig", recommendation_ids=[recommendation["id"]])
    await queue.drain()
    got = (await client.get(f"/v1/recommendations/{recommendation['id']}")).json()
    assert got["status"] == "off_track"


async def test_recommendation_action_writes_recalculate_its_commitments(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    recommendation = await create(
        client, "/v1/recommendations", writer, title="Vaste teams", text="Geen zzp."
    )
    other = await create(client, "/v1/recommendations", writer, title="Scholing", text="Opleiden.")
    linked = [
        await create_commitment(
            client, writer, title=f"Toezegging {i}", recommendation_ids=[recommendation["id"]]
        )
        for i in range(2)
    ]
    moved_to = await create_commitment(client, writer, title="Elders", recommendation_ids=[other["id"]])
    await create_commitment(client, writer, title="Los")  # linked to neither: never recalculated below
    await queue.drain()
    seen: list[str] = []
    real = queue.functions[RECALCULATE_JOB]

    async def record(ctx: dict, commitment_id: str, **kw: Any) -> Any:
        seen.append(commitment_id)
        return await real(ctx, commitment_id, **kw)

    queue.functions[RECALCULATE_JOB] = record
    ids = sorted(c["id"] for c in linked)
    rec = f"/v1/recommendations/{recommendation['id']}"

    # create: an action on the recommendation only, blocked -> its commitments are recalculated, the roll-up follows
    action = await create(
        client,
        "/v1/actions",
        writer,
        recommendation_id=recommendation["id"],
        title="Werving",
        state="blocked",
    )
    await queue.drain()
    assert sorted(seen) == ids
    assert (await client.get(rec)).json()["status"] == "at_risk"

    # update: unblocked
    seen.clear()
    r = await client.patch(f"/v1/actions/{action['id']}", json={"state": "in_progress"}, headers=writer)
    assert r.status_code == 200
    await queue.drain()
    assert sorted(seen) == ids
    assert (await client.get(rec)).json()["status"] == "on_track"

    # update: moved to another recommendation -> the commitments of both are recalculated
    seen.clear()
    r = await client.patch(
        f"/v1/actions/{action['id']}",
        json={"recommendation_id": other["id"], "state": "blocked"},
        headers=writer,
    )
    assert r.status_code == 200
    await queue.drain()
    assert sorted(seen) == sorted([*ids, moved_to["id"]])
    assert (await client.get(rec)).json()["status"] == "open"
    assert (await client.get(f"/v1/recommendations/{other['id']}")).json()["status"] == "at_risk"

    # delete
    seen.clear()
    assert (await client.delete(f"/v1/actions/{action['id']}", headers=writer)).status_code == 204
    await queue.drain()
    assert seen == [moved_to["id"]]
    assert (await client.get(f"/v1/recommendations/{other['id']}")).json()["status"] == "open"

    # a failed write enqueues nothing
    seen.clear()
    r = await client.post(
        "/v1/actions",
        json={"recommendation_id": recommendation["id"], "title": "X", "state": "gepland"},
        headers=writer,
    )
    assert r.status_code == 422
    await queue.drain()
    assert seen == []


async def test_signals_about_a_subject_party_reach_the_commitment(
    client: httpx.AsyncClient, writer: dict, admin: dict, session: Any, queue: InProcessQueue
) -> None:
    """Signals about Fokus (by AGB code) on a shared theme raise the risk of VWS' commitment that names Fokus as
    subject: the minute's sweep recalculates it, no nightly run needed; the evidence counts per party."""
    from tests.factories import create_party, create_theme
    from tests.shared.status.test_status_loaders import _signal

    await create_theme(client, admin, "bejegening")
    vws = await create_party(client, writer, name="Ministerie van VWS", kind="ministry")
    fokus = await create_party(
        client, admin, name="Stichting Fokus Wonen", kind="provider", agb_code="12345670"
    )
    commitment = await create_commitment(
        client,
        writer,
        title="Toezicht op Fokus",
        owner_party_id=vws["id"],
        subject_party_ids=[fokus["id"]],
        themes=["bejegening"],
    )
    assert commitment["subject_party_ids"] == [fokus["id"]]
    await queue.drain()
    today = dt.datetime.now(dt.UTC).date()
    for day in range(8):
        await _signal(session, today - dt.timedelta(days=day), theme="bejegening", agb="12345670")
    await session.commit()
    await queue.enqueue("status.signals_sweep")
    await queue.drain()
    got = (await client.get(f"/v1/commitments/{commitment['id']}")).json()
    assert got["status"] == "at_risk"
    [rise] = [r for r in got["reasons"] if r["rule"] == "signals"]
    counts = rise["evidence"][0]
    assert counts["recent"] == 8 and {p["party_id"]: p["recent"] for p in counts["parties"]}[fokus["id"]] == 8
