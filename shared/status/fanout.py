"""The nightly full recalculation spread over every worker: a coordinator plans id ranges and enqueues one job
per range; the last range to finish enqueues the closing job (recommendation roll-up, the run recorded).

The run's state lives in Redis beside the queue, because only the workers share it:

    nakoming:recalc:current        the id of the run under way (one at a time)
    nakoming:recalc:<run>          hash: as_of, now, total ranges, counters, finished_at once closed
    nakoming:recalc:<run>:done     set of the ranges whose transaction committed

A range is a job with a deterministic id (`status.recalculate_range:<run>:<n>`), so it never runs twice at
once, and a range already in `done` returns at once when it runs again (arq re-runs a killed worker's job;
the coordinator re-enqueues every range when it runs again). Counting a range in `done` and testing whether it
was the last happen in one Lua script, and the closing job is idempotent, so two ranges finishing together, or
a range killed after it counted itself, still close the run exactly once. A range killed after its commit but
before it counted itself runs again and finds nothing left to change: the run's `changed` counts then miss its
changes (statuses and history are right; only the summary undercounts).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import session_scope, utcnow
from shared.jobs import JobQueue, PendingJob, enqueue_jobs, keyed
from shared.status.inputs import Thresholds
from shared.status.loaders import IdRange
from shared.status.loaders_signals import SignalIndex, build_signal_index
from shared.status.models import Checkpoint
from shared.status.runner import Summary, plan_ranges, recalculate_range
from shared.status.service import StatusService, today

# redis.asyncio.Redis: redis-py types each command as the sync-or-async union of both clients, so a typed
# client makes every await an error; the async client is what is passed in.
Redis = Any

RUN_JOB = "status.recalculate_all"  # the coordinator (nightly schedule)
RANGE_JOB = "status.recalculate_range"
CLOSE_JOB = "status.close_recalculation"
CURRENT = "nakoming:recalc:current"
KEEP = dt.timedelta(days=7)  # how long a run's record stays readable in Redis
COUNTERS = ("commitments", "changed", "milestones_changed")

# Count a range once (ARGV[1] its index, ARGV[2..] its counters); return the number of ranges done and the total.
_DONE = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'commitments', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'changed', ARGV[3])
  redis.call('HINCRBY', KEYS[1], 'milestones_changed', ARGV[4])
end
return {redis.call('SCARD', KEYS[2]), tonumber(redis.call('HGET', KEYS[1], 'total') or '-1')}
"""

# Make this run the current one unless another is under way; return the current run's id.
_CURRENT = """
local current = redis.call('GET', KEYS[1])
if current and redis.call('HEXISTS', 'nakoming:recalc:' .. current, 'finished_at') == 0
   and redis.call('EXISTS', 'nakoming:recalc:' .. current) == 1 then
  return current
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', 'nakoming:recalc:' .. ARGV[1], unpack(cjson.decode(ARGV[2])))
return ARGV[1]
"""


def _key(run: str) -> str:
    return f"nakoming:recalc:{run}"


def range_job(run: str, index: int, id_range: IdRange, as_of: dt.date, now: dt.datetime) -> PendingJob:
    return keyed(
        RANGE_JOB,
        f"{run}:{index}",
        run=run,
        index=index,
        after=str(id_range[0]) if id_range[0] is not None else None,
        upto=str(id_range[1]),
        as_of=as_of.isoformat(),
        now=now.isoformat(),
    )


async def start_run(
    redis: Redis, factory: async_sessionmaker[AsyncSession], queue: JobQueue | None, batch_size: int
) -> dict[str, Any]:
    """Plan the ranges and enqueue them; when a run is under way already (this job ran again after its worker
    was killed, or the schedule fired twice), enqueue that run's unfinished ranges instead."""
    as_of, now = today(), utcnow()
    async with factory() as session:
        ranges = await plan_ranges(session, batch_size)
    plan = [[str(low) if low is not None else None, str(high)] for low, high in ranges]
    fields = {
        "as_of": as_of.isoformat(),
        "now": now.isoformat(),
        "total": len(ranges),
        "plan": orjson.dumps(plan),
        "started_at": now.isoformat(),
        **dict.fromkeys(COUNTERS, 0),
    }
    flat = [str(v) if not isinstance(v, bytes) else v.decode() for pair in fields.items() for v in pair]
    run = (await redis.eval(_CURRENT, 1, CURRENT, uuid.uuid4().hex, orjson.dumps(flat).decode())).decode()
    state = await redis.hgetall(_key(run))
    done = {int(i) for i in await redis.smembers(f"{_key(run)}:done")}
    as_of, now = (
        dt.date.fromisoformat(state[b"as_of"].decode()),
        dt.datetime.fromisoformat(state[b"now"].decode()),
    )
    planned = [
        (uuid.UUID(low) if low else None, uuid.UUID(high)) for low, high in orjson.loads(state[b"plan"])
    ]
    jobs = [range_job(run, i, r, as_of, now) for i, r in enumerate(planned) if i not in done]
    await enqueue_jobs(queue, jobs)
    if len(done) == len(
        planned
    ):  # every range counted, the closing job lost (e.g. killed before it enqueued)
        await enqueue_jobs(queue, [keyed(CLOSE_JOB, run, run=run)])
    return {"run": run, "ranges": len(planned), "enqueued": len(jobs)}


async def _signal_index(
    cache: dict[str, Any],
    factory: async_sessionmaker[AsyncSession],
    thresholds: Thresholds,
    run: str,
    as_of: dt.date,
) -> SignalIndex:
    """The run's signal windows, read once per process and run (as one process reads them once for all batches),
    not once per range; the ranges a worker runs at once share the one read. Replaced by the next run's."""
    held = cache.get("recalc_signals")
    if held is None or held[0] != run:

        async def read() -> SignalIndex:
            async with factory() as session:
                return await build_signal_index(session, as_of, thresholds)

        held = cache["recalc_signals"] = (run, asyncio.ensure_future(read()))
    reading: asyncio.Future[SignalIndex] = held[1]
    try:
        return await asyncio.shield(reading)
    except BaseException:
        if cache.get("recalc_signals") is held and reading.done():
            del cache["recalc_signals"]  # a failed read (database away) is read again by the next range
        raise


async def run_range(
    redis: Redis,
    factory: async_sessionmaker[AsyncSession],
    queue: JobQueue | None,
    thresholds: Thresholds,
    cache: dict[str, Any],
    *,
    run: str,
    index: int,
    after: str | None,
    upto: str,
    as_of: str,
    now: str,
) -> dict[str, Any]:
    """Evaluate and store one range (unless it is done), count it, and close the run when it was the last.
    `cache` lives as long as the worker process (its job context)."""
    summary: Summary | None = None
    if not await redis.sismember(f"{_key(run)}:done", str(index)):
        day = dt.date.fromisoformat(as_of)
        signals = await _signal_index(cache, factory, thresholds, run, day)
        summary = await recalculate_range(
            factory,
            thresholds,
            (uuid.UUID(after) if after else None, uuid.UUID(upto)),
            as_of=day,
            now=dt.datetime.fromisoformat(now),
            signals=signals,
        )
    counts = [summary.commitments, summary.changed, summary.milestones_changed] if summary else [0, 0, 0]
    done, total = await redis.eval(_DONE, 2, _key(run), f"{_key(run)}:done", index, *counts)
    if done == total:
        await enqueue_jobs(queue, [keyed(CLOSE_JOB, run, run=run)])
    return {"run": run, "index": index, "evaluated": summary is not None, "done": done, "total": total}


async def close_run(
    redis: Redis, factory: async_sessionmaker[AsyncSession], thresholds: Thresholds, run: str
) -> dict[str, Any] | None:
    """Roll the recommendations up over the commitments' new statuses and record the run (a checkpoint row named
    after the job, and the run's hash finished); None when it was closed already."""
    state = await redis.hgetall(_key(run))
    if not state or b"finished_at" in state:
        return None
    async with session_scope(factory) as session:
        recommendations = await StatusService(session, thresholds).roll_up_recommendations()
        finished = utcnow()
        checkpoint = await session.get(Checkpoint, RUN_JOB)
        if checkpoint is None:
            session.add(Checkpoint(name=RUN_JOB, at=finished))
        else:
            checkpoint.at = finished
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            _key(run),
            mapping={"finished_at": finished.isoformat(), "recommendations_changed": recommendations},
        )
        pipe.expire(_key(run), KEEP)
        pipe.expire(f"{_key(run)}:done", KEEP)
        await pipe.execute()
    summary = Summary(
        dt.date.fromisoformat(state[b"as_of"].decode()),
        **{name: int(state[name.encode()]) for name in COUNTERS},
        recommendations_changed=recommendations,
    )
    return {
        "run": run,
        "started_at": state[b"started_at"].decode(),
        "finished_at": finished.isoformat(),
        **summary.as_dict(),
    }


async def last_run(redis: Redis) -> dict[str, str] | None:
    """The current or most recent run's record (tests, `nakoming doctor`-style checks)."""
    run = await redis.get(CURRENT)
    if run is None:
        return None
    state = await redis.hgetall(_key(run.decode()))
    return {"run": run.decode(), **{k.decode(): v.decode() for k, v in state.items() if k != b"plan"}}
