"""Webhooks end to end in-process: subscriptions, signed deliveries to a real receiver on loopback (verified with
the standardwebhooks package), retries, disabling, redelivery, tests, scope and SSRF refusals."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from services.worker.queue import InProcessQueue
from shared.settings import Settings
from shared.webhooks.delivery import Delivering, deliver
from tests.factories import create_commitment, create_party
from tests.receiver import Receiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allow_private": True, "webhook_retry_schedule": [0.05, 0.05, 0.05]}
    )


async def subscribe(client: httpx.AsyncClient, headers: dict, url: str, **body: Any) -> dict:
    r = await client.post("/v1/webhooks", json={"url": url, **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries(client: httpx.AsyncClient, headers: dict, webhook_id: str, **params: Any) -> list[dict]:
    r = await client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_deliveries_are_signed_and_thin(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    with Receiver() as receiver:
        hook = await subscribe(client, writer, receiver.url, event_types=["commitment.created"])
        assert (
            hook["secret"].startswith("whsec_")
            and hook["enabled"]
            and hook["event_types"] == ["commitment.created"]
        )
        r = await client.get(f"/v1/webhooks/{hook['id']}", headers=writer)
        assert r.status_code == 200 and "secret" not in r.json()
        commitment = await create_commitment(client, writer, key="signed")
        r = await client.patch(
            f"/v1/commitments/{commitment['id']}", json={"title": "Anders"}, headers=writer
        )
        await queue.drain()
    [got] = receiver.received  # commitment.updated is not subscribed
    payload = Verifier(hook["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "commitment.created" and payload["timestamp"]
    assert payload["data"]["subject"] == f"/v1/commitments/{commitment['id']}"
    assert set(payload["data"]) == {"event_id", "subject"}  # thin: the receiver GETs the subject
    with pytest.raises(WebhookVerificationError):
        Verifier("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Verifier(hook["secret"]).verify(got.body.replace(b"commitment", b"Commitment"), got.headers)
    [delivery] = await deliveries(client, writer, hook["id"])
    assert got.headers["webhook-id"] == delivery["id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("succeeded", 1, 204)
    assert (
        delivery["event_type"] == "commitment.created" and delivery["event_id"] == payload["data"]["event_id"]
    )


async def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    with Receiver(answers=[500, 503, 200]) as receiver:
        hook = await subscribe(client, writer, receiver.url)
        await create_commitment(client, writer, key="retried")
        await queue.drain()
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # one message, three attempts
    for attempt in receiver.received:
        Verifier(hook["secret"]).verify(attempt.body, attempt.headers)
    [delivery] = await deliveries(client, writer, hook["id"])
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("succeeded", 3, 200)


async def test_retries_run_out_then_the_webhook_is_disabled_with_an_event(
    client: httpx.AsyncClient, writer: dict, admin: dict, queue: InProcessQueue
) -> None:
    with Receiver(answers=[500]) as receiver:
        hook = await subscribe(client, writer, receiver.url, event_types=["commitment.created"])
        await create_commitment(client, writer, key="never")
        await queue.drain()
        assert len(receiver.received) == 4  # the first try and the three of the schedule
        [delivery] = await deliveries(client, writer, hook["id"])
        assert (delivery["status"], delivery["attempts"], delivery["next_attempt_at"]) == ("failed", 4, None)
        assert delivery["last_error"] == "the receiver answered 500"
        got = (await client.get(f"/v1/webhooks/{hook['id']}", headers=writer)).json()
        assert got["enabled"] is False and "failed 4 times" in got["disabled_reason"]
        events = (await client.get("/v1/events", params={"types": "webhook.disabled"}, headers=writer)).json()
        assert [e["subject"] for e in events["items"]] == [f"/v1/webhooks/{hook['id']}"]
        assert (await client.get("/v1/events", params={"types": "webhook.disabled"})).json()["items"] == []
        audit = (await client.get("/v1/audit", params={"action": "webhooks.disable"}, headers=admin)).json()[
            "items"
        ]
        assert [(a["actor"], a["record_ids"]) for a in audit] == [("system", [hook["id"]])]

        # Nothing more is sent while disabled; redelivery after re-enabling reaches the receiver again.
        await create_commitment(client, writer, key="while-disabled")
        await queue.drain()
        assert len(receiver.received) == 4
        receiver.answers = [202]
        r = await client.patch(f"/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=writer)
        assert r.status_code == 200 and r.json()["disabled_reason"] is None
        r = await client.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{delivery['id']}/redeliver", headers=writer
        )
        assert r.status_code == 202 and r.json()["status"] == "pending" and r.json()["id"] != delivery["id"]
        await queue.drain()
    statuses = {d["event_type"] + ":" + d["status"] for d in await deliveries(client, writer, hook["id"])}
    assert "commitment.created:succeeded" in statuses and "commitment.created:failed" in statuses
    assert len(receiver.received) >= 5 and receiver.received[-1].headers["webhook-id"] == r.json()["id"]


async def test_the_test_delivery(client: httpx.AsyncClient, writer: dict, queue: InProcessQueue) -> None:
    with Receiver() as receiver:
        hook = await subscribe(client, writer, receiver.url)
        r = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=writer)
        assert r.status_code == 202 and r.json()["event_type"] == "webhook.test"
        await queue.drain()
    [got] = receiver.received
    body = Verifier(hook["secret"]).verify(got.body, got.headers)
    assert body["type"] == "webhook.test" and body["data"] == {
        "event_id": None,
        "subject": f"/v1/webhooks/{hook['id']}",
    }


async def test_webhooks_are_managed_per_party(
    client: httpx.AsyncClient, admin: dict, writer: dict, make_key: Any, queue: InProcessQueue
) -> None:
    ours = await create_party(client, admin, name="Zorgaanbieder A")
    theirs = await create_party(client, admin, name="Zorgaanbieder B")
    our_key = await make_key(["read", "write"], party_id=uuid.UUID(ours["id"]))
    their_key = await make_key(["read", "write"], party_id=uuid.UUID(theirs["id"]))
    hook = await subscribe(client, our_key, "https://hooks.example.nl/a")
    assert hook["party_id"] == ours["id"]
    assert (await client.get(f"/v1/webhooks/{hook['id']}", headers=their_key)).status_code == 404
    assert (await client.delete(f"/v1/webhooks/{hook['id']}", headers=their_key)).status_code == 404
    assert [h["id"] for h in (await client.get("/v1/webhooks", headers=their_key)).json()["items"]] == []
    assert [h["id"] for h in (await client.get("/v1/webhooks", headers=writer)).json()["items"]] == [
        hook["id"]
    ]
    reader = await make_key(["read"])
    assert (await client.get("/v1/webhooks", headers=reader)).status_code == 403
    assert (await client.get("/v1/webhooks")).status_code == 401
    r = await client.delete(f"/v1/webhooks/{hook['id']}", headers=our_key)
    assert r.status_code == 204
    audit = (await client.get("/v1/audit", params={"resource": "webhooks"}, headers=admin)).json()["items"]
    assert {a["action"] for a in audit} == {"webhooks.create", "webhooks.delete"}
    assert "whsec_" not in json.dumps(audit)  # the secret is never in the audit log


async def test_a_redirect_is_not_followed(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    with Receiver(answers=[302], location="http://10.0.0.1/internal") as receiver:
        hook = await subscribe(client, writer, receiver.url, event_types=["commitment.created"])
        await create_commitment(client, writer, key="redirected")
        await queue.drain()
    assert all(r.path == "/hooks" for r in receiver.received)  # never went to the Location
    [delivery] = await deliveries(client, writer, hook["id"])
    assert (
        delivery["status"] == "failed" and "http://10.0.0.1/internal not followed" in delivery["last_error"]
    )


async def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue, session_factory: Any
) -> None:
    """The URL passes when saved (a public-looking name); at delivery it resolves to 10.0.0.1 and nothing is sent.
    (The resolver is injected: offline, no test name resolves; it is the DNS answer, not the queue or database.)"""
    hook = await subscribe(client, writer, "https://hooks.example.nl/in", event_types=["commitment.created"])

    async def to_private(host: str, port: int) -> list[str]:
        assert host == "hooks.example.nl"
        return ["10.0.0.1"]

    how = Delivering(resolver=to_private, allow_private=False, schedule=(3600,))
    await client.post(f"/v1/webhooks/{hook['id']}/test", headers=writer)
    await deliver(session_factory, how, uuid.UUID(hook["id"]))
    [test] = await deliveries(client, writer, hook["id"], status="pending")
    assert test["attempts"] == 1 and test["last_status_code"] is None
    assert test["last_error"] == "refused: hooks.example.nl resolves to 10.0.0.1, a private address"


async def test_the_sweeper_sends_deliveries_whose_job_was_lost(
    client: httpx.AsyncClient, writer: dict, queue: InProcessQueue
) -> None:
    with Receiver() as receiver:
        hook = await subscribe(client, writer, receiver.url, event_types=["commitment.created"])
        await create_commitment(client, writer, key="lost-job")
        for job in queue.pending:  # the jobs are lost (a Redis outage, a killed worker): only the rows remain
            queue._queued.pop(job.job_id or "")
        await queue.drain()
        assert receiver.received == []
        await queue.enqueue("webhooks.sweep")
        await queue.drain()
    assert len(receiver.received) == 1
    assert [d["status"] for d in await deliveries(client, writer, hook["id"])] == ["succeeded"]
