"""A batch always ends done or failed with a reason, every good line stored and every bad line reported by
line number, field and problem type, never by value (issue 10), whatever a line holds; both backends."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from shared.audit.service import Actor
from shared.signals.batches import create_batch, process_batch
from shared.signals.models import ClientSignal
from tests.api.test_signal_batches import ndjson, upload
from tests.factories import signal

BSN = "111222333"


async def _finished(client: httpx.AsyncClient, headers: dict, r: httpx.Response, queue) -> dict:
    assert r.status_code == 202, r.text
    await queue.drain()
    got = (await client.get(f"/v1/signals/batches/{r.json()['id']}", headers=headers)).json()
    assert got["status"] in ("done", "failed"), got
    return got


async def test_ndjson_bad_lines_among_good_ones(
    client: httpx.AsyncClient, themes: None, intake: dict, queue, session
) -> None:
    lines: list = [
        signal(external_id="G-1"),
        signal(external_id="X-nul", summary="voor\x00na"),  # 2
        signal(external_id="G-2"),
        signal(external_id="X-ctrl", location="Utrecht\x1b[31m"),  # 4
        signal(external_id="G-3", received_date="9999-12-31", kind="klacht", extension_recorded=True),
        signal(external_id="G-4", received_date="0001-01-01"),
        b'{"source_system": "s", "external_id": "X-utf8", "summary": "\xff\xfe"}',  # 7
        b'{"source_system": "s", "summary": "' + b"x" * (10 * 1024 * 1024) + b'"}',  # 8
        signal(external_id="G-5"),
        signal(external_id="X-date", received_date="10000-01-01"),  # 10
        signal(external_id="X-unix", received_date=1700000000),  # 11
        {**signal(external_id="X-name"), BSN: "x"},  # 12
        signal(external_id="X-theme", themes=[BSN]),  # 13
        b'{"source_system": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # 14
        signal(external_id="X-surrogate", summary="\ud800") if False else b'{"summary": "\\ud800"}',  # 15
        signal(external_id="G-6"),
    ]
    body = ndjson(lines)
    got = await _finished(client, intake, await upload(client, intake, body, "application/x-ndjson"), queue)
    assert got["status"] == "done" and got["failure"] is None
    assert (got["accepted"], got["rejected"]) == (6, 10), got
    assert [e["line"] for e in got["errors"]] == [2, 4, 7, 8, 10, 11, 12, 13, 14, 15]
    by_line = {e["line"]: e["errors"] for e in got["errors"]}
    assert by_line[2][0] == {
        "loc": ["line", 2, "summary"],
        "msg": by_line[2][0]["msg"],
        "type": "control_character",
    }
    assert by_line[4][0]["loc"] == ["line", 4, "location"]
    assert "UTF-8" in by_line[7][0]["msg"] and "longer than" in by_line[8][0]["msg"]
    assert by_line[11][0]["type"] == "date_format"
    text = str(got)
    assert BSN not in text and "voor" not in text and "Utrecht" not in text
    stored = await session.scalar(
        select(func.count()).select_from(ClientSignal).where(ClientSignal.external_id.like("G-%"))
    )
    assert stored == 6
    late = (await session.execute(select(ClientSignal).where(ClientSignal.external_id == "G-3"))).scalar_one()
    assert str(late.judgement_due_date) == "9999-12-31"


async def test_csv_bad_lines_among_good_ones(
    client: httpx.AsyncClient, themes: None, intake: dict, queue
) -> None:
    header = "source_system,external_id,kind,themes,received_date,zorgkantoor_code,summary\n"
    rows = [
        'zk,C-1,signaal,bejegening,2026-01-05,5521,"Te laat, weer"\n',  # 2
        'zk,C-2,klacht,,2026-01-06,5521,"een ""stray"" quote, goed ge-escaped"\n',  # 3
        'zk,X-3,klacht,,2026-01-06,5521,"nooit gesloten\n',  # 4: swallows nothing
        'zk,C-4,klacht,,2026-01-07,5521,kwam 5" te laat\n',  # 5: a literal quote is fine
        'zk,X-5,klacht,,2026-01-07,5521,"a"b\n',  # 6: text after a closing quote
        'zk,C-6,klacht,,2026-01-08,5521,"over\ntwee regels"\n',  # 7-8: one record
        'zk,X-7,klacht,,2026-01-08,5521,nul\x00teken\n',  # 9
        "zk,X-8,klacht,,9999-99-99,5521,\n",  # 10
        'zk,C-9,klacht,,9999-12-31,5521,\n',  # 11
    ]
    body = (
        (header + "".join(rows)).encode()
        + b'zk,X-10,klacht,,2026-01-09,5521,\xff\n'
        + b"zk,C-11,signaal,,2026-01-09,5521,\n"
    )
    got = await _finished(client, intake, await upload(client, intake, body, "text/csv"), queue)
    assert got["status"] == "done", got
    assert [e["line"] for e in got["errors"]] == [4, 6, 9, 10, 12], got["errors"]
    assert got["accepted"] == 6
    # A stray quote at the start of the file's last record cannot swallow anything but itself.
    body = (
        header + 'zk,C-20,klacht,,2026-01-05,5521,"open\n' + "zk,C-21,klacht,,2026-01-05,5521,ok\n" * 3
    ).encode()
    got = await _finished(client, intake, await upload(client, intake, body, "text/csv"), queue)
    assert (got["accepted"], got["duplicate"], got["rejected"]) == (1, 2, 1), got


async def test_unreadable_csv_header_fails_with_a_reason(
    client: httpx.AsyncClient, intake: dict, queue
) -> None:
    body = b'"source_system,external_id\nzk,1\n'
    got = await _finished(client, intake, await upload(client, intake, body, "text/csv"), queue)
    assert got["status"] == "failed" and "header" in got["failure"]
    assert got["finished_at"] is not None


async def test_a_line_the_database_refuses_costs_only_that_line(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory, settings, session
) -> None:
    # A theme deleted after the run read the controlled list: the database refuses that line's link (a
    # foreign key), the chunk is stored line by line and only that line is reported.
    from shared.themes.models import Theme

    async with session_factory() as s:
        s.add(Theme(key="kortstondig", label_nl="k", label_en="k"))
        await s.commit()
        batch = await create_batch(
            s,
            body=ndjson(
                [
                    signal(external_id="D-1"),
                    signal(external_id="D-2", themes=["kortstondig"]),
                    signal(external_id="D-3"),
                ]
            ),
            fmt="ndjson",
            actor=Actor("t"),
        )
        await s.commit()
    from shared.signals import batches as module

    original = module.known_themes

    async def stale_list(s, keys):  # the list as read before the theme was deleted
        return await original(s, keys) | {"kortstondig"}

    async with session_factory() as s:
        await s.delete(await s.get(Theme, "kortstondig"))
        await s.commit()
    module.known_themes = stale_list
    try:
        done = await process_batch(session_factory, settings, batch.id, chunk_size=10)
    finally:
        module.known_themes = original
    assert done.status == "done" and (done.accepted, done.rejected) == (2, 1)
