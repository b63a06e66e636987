"""Webhooks on the real `nakoming worker` (arq on Redis, PostgreSQL): an event committed through the API reaches a
receiver on loopback, signed, after two failed attempts; and a worker killed in the middle of a delivery loses
nothing (the delivery row waits, the job runs again once its lease lapses, the receiver gets the same message)."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook as Verifier

from tests.faults.test_worker_kill import Setup, setup  # noqa: F401  (the real worker, Redis and database)
from tests.receiver import Receiver
from tests.services.real import api, queue_idle, settings_for, wait_until, writer_key

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]
ENV = {"NAKOMING_WEBHOOK_ALLOW_PRIVATE": "true", "NAKOMING_WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2"}


async def subscribe_and_write(s: Setup, receiver: Receiver, key: str) -> str:
    """A webhook on the receiver, then a commitment created through the API (arq queue); returns the secret."""
    headers = await writer_key(s.engine)
    settings = settings_for(s.url, s.redis_url, "arq", webhook_allow_private=True)
    async with api(settings) as client:
        r = await client.post(
            "/v1/webhooks", json={"url": receiver.url, "event_types": ["commitment.created"]}, headers=headers
        )
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        r = await client.post("/v1/commitments", json={"title": "Via de worker", "key": key}, headers=headers)
        assert r.status_code == 201, r.text
    return secret


async def test_delivered_by_the_worker_after_two_failures(setup: Setup) -> None:
    s = setup
    with Receiver(answers=[500, 502, 204]) as receiver:
        worker = await s.worker(**ENV)
        await worker.ready(s.redis)  # type: ignore[attr-defined]
        secret = await subscribe_and_write(s, receiver, "via-worker")
        await wait_until(lambda: _async(len(receiver.received) >= 3), 60, "three attempts")
        await wait_until(lambda: queue_idle(s.redis), 30, "the queue to be idle")  # type: ignore[attr-defined]
    assert len(receiver.received) == 3, worker.output()[-3000:]
    for attempt in receiver.received:
        body = Verifier(secret).verify(attempt.body, attempt.headers)
        assert body["type"] == "commitment.created"
    assert len({a.headers["webhook-id"] for a in receiver.received}) == 1
    assert await s.scalar(_status_sql()) == "succeeded:3"


async def test_a_worker_killed_mid_delivery_loses_nothing(setup: Setup) -> None:
    s = setup
    with Receiver(answers=[204], delay=2.0) as receiver:
        first = await s.worker(**ENV)
        await first.ready(s.redis)  # type: ignore[attr-defined]
        secret = await subscribe_and_write(s, receiver, "killed")
        await wait_until(
            lambda: _async(bool(receiver.received)), 60, "the first attempt to reach the receiver", step=0.02
        )
        first.kill()  # while the receiver is still answering: the outcome is never stored
        assert await s.scalar(_status_sql()) == "pending:0"
        second = await s.worker(**ENV)
        await wait_until(lambda: _async(len(receiver.received) >= 2), 90, "the delivery to be made again")
        await wait_until(lambda: queue_idle(s.redis), 30, "the queue to be idle")  # type: ignore[attr-defined]
        assert second.alive, second.output()[-3000:]
    ids = {a.headers["webhook-id"] for a in receiver.received}
    assert len(ids) == 1  # the same message again (at least once; receivers deduplicate on webhook-id)
    Verifier(secret).verify(receiver.received[-1].body, receiver.received[-1].headers)
    await wait_until(lambda: _check(s), 10, "the outcome to be stored")


async def _async(value: object) -> object:
    return value


async def _check(s: Setup) -> bool:
    return (await s.scalar(_status_sql())).startswith("succeeded")


def _status_sql():
    from sqlalchemy import text

    return text("SELECT status || ':' || attempts FROM webhook_deliveries")
