"""Every committed write is followed by a recalculation that sees it: 20 alternating due-date writes to one
commitment through the API end with the status of the last write. In the production shape (the real
`nakoming worker` on Redis and PostgreSQL) and with in-process jobs (the embedded default, on both backends),
where a write that follows another while its job runs must not get a 503 either."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path

import httpx
import pytest

from shared.db import create_engine
from shared.migrate import upgrade
from tests.conftest import REDIS_URL
from tests.services.real import (
    Worker,
    api,
    own_database,
    queue_idle,
    redis_server,
    settings_for,
    wait_until,
    worker_env,
    writer_key,
)

PAST, FUTURE = "2020-03-01", "2099-03-01"
EXPECTED = {PAST: "overdue", FUTURE: "on_time"}


async def alternate_due_dates(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[str, str, dt.datetime]:
    """Create a commitment without a deadline, then 20 writes alternating its due date in ~10 s (some back to
    back, so that writes land while the previous write's job runs). Returns its id, the last due date and
    the time just before the last write was sent."""
    r = await client.post("/v1/commitments", json={"title": "Termijn die heen en weer gaat"}, headers=headers)
    assert r.status_code == 201, r.text
    commitment_id = r.json()["id"]
    rng = random.Random(9)
    due, sent = PAST, dt.datetime.now(dt.UTC)
    for i in range(20):
        due, sent = FUTURE if i % 2 == 0 else PAST, dt.datetime.now(dt.UTC)
        r = await client.patch(f"/v1/commitments/{commitment_id}", json={"due_date": due}, headers=headers)
        assert r.status_code == 200, r.text
        await asyncio.sleep(rng.choice([0, 0, 0.02, 0.5, 1.0]))
    return commitment_id, due, sent


async def assert_shows(client: httpx.AsyncClient, commitment_id: str, due: str, sent: dt.datetime) -> None:
    body = (await client.get(f"/v1/commitments/{commitment_id}")).json()
    assert body["due_date"] == due
    assert body["schedule"] == EXPECTED[due], body
    # the last write flipped the schedule, so the evaluation that shows it ran after that write was sent
    assert dt.datetime.fromisoformat(body["evaluated_at"]) >= sent
    history = (await client.get(f"/v1/commitments/{commitment_id}/status-history?limit=500")).json()["items"]
    assert len({h["schedule"] for h in history}) >= 2  # both schedules were seen on the way


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_real_arq_worker_recalculates_every_write(backend: str, tmp_path: Path) -> None:
    url, engine = await own_database("jobs_writes")
    try:
        with redis_server() as server:
            worker = Worker(worker_env(url, server.url), tmp_path / "worker.log").start()
            redis = server.client()
            try:
                await worker.ready(redis)
                async with api(settings_for(url, server.url, "arq")) as client:
                    headers = await writer_key(engine)
                    commitment_id, due, sent = await alternate_due_dates(client, headers)
                    await wait_until(lambda: queue_idle(redis), 30, "the worker to finish")
                    assert worker.alive, worker.output()[-3000:]
                    await assert_shows(client, commitment_id, due, sent)
            finally:
                worker.stop()
                await redis.aclose()
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_in_process_jobs_recalculate_every_write_without_503(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}"
        engine = create_engine(url)
        await upgrade(engine)
    else:
        url, engine = await own_database("jobs_inprocess")
    try:
        async with api(settings_for(url, REDIS_URL, "inprocess")) as client:
            queue = client.app.state.queue  # type: ignore[attr-defined]

            async def idle() -> bool:
                return not queue.tasks and not queue.pending

            headers = await writer_key(engine)
            # create-then-write pairs, back to back: the second write lands while the first one's job runs
            for i in range(40):
                r = await client.post(
                    "/v1/commitments", json={"title": f"Paar {i}", "due_date": FUTURE}, headers=headers
                )
                assert r.status_code == 201, r.text
                r = await client.patch(
                    f"/v1/commitments/{r.json()['id']}", json={"due_date": PAST}, headers=headers
                )
                assert r.status_code == 200, r.text
            commitment_id, due, sent = await alternate_due_dates(client, headers)
            await wait_until(idle, 30, "the in-process jobs to finish")
            await assert_shows(client, commitment_id, due, sent)
            listed = (await client.get("/v1/commitments?limit=100&q=Paar")).json()["items"]
            assert len(listed) == 40 and {c["schedule"] for c in listed} == {"overdue"}
    finally:
        await engine.dispose()
