"""No BSN anywhere (issue 11): a BSN written with any separators, anywhere in a value, never reaches an answer,
a stored batch error, the audit log, a stored idempotency key, a request id or a log line. Both backends."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from shared.idempotency.models import IdempotencyRecord
from tests.api.test_robust_properties import ASCII_SEPARATOR, SETTINGS, bsns, digits_of
from tests.factories import post_signal, signal

WORDS = st.text(
    st.sampled_from("abcdefghij XYZ-.:/()"), max_size=8
)  # no digits: they would lengthen the number


def _clean(text: str, bsn: str) -> None:
    assert bsn not in text and digits_of(bsn) not in text, text[:500]


@given(data=st.data())
@SETTINGS
async def test_a_bsn_in_a_name_or_value_is_refused_without_echo(
    client: httpx.AsyncClient, intake: dict, data: Any
) -> None:
    bsn = data.draw(bsns())
    text = data.draw(WORDS) + bsn + data.draw(WORDS)
    place = data.draw(st.sampled_from(["value", "name"]))
    body = signal(themes=[], **({"summary": text} if place == "value" else {}))
    if place == "name":
        body[text] = "x"
    r = await client.post(
        "/v1/signals",
        content=json.dumps(body, ensure_ascii=data.draw(st.booleans())),
        headers={**intake, "Idempotency-Key": uuid.uuid4().hex, "content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    _clean(r.text, bsn)


@given(data=st.data())
@SETTINGS
async def test_batch_errors_never_hold_a_bsn(
    client: httpx.AsyncClient, intake: dict, queue: Any, data: Any
) -> None:
    bsn = data.draw(bsns())
    text = data.draw(WORDS) + bsn + data.draw(WORDS)
    named = {**signal(themes=[]), text: "x"}
    valued = signal(themes=[], location=text)
    body = (
        "\n".join(json.dumps(line, ensure_ascii=data.draw(st.booleans())) for line in (named, valued)) + "\n"
    )
    r = await client.post(
        "/v1/signals/batches",
        content=body.encode(),
        headers={**intake, "content-type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    await queue.drain()
    r = await client.get(f"/v1/signals/batches/{r.json()['id']}", headers=intake)
    assert r.json()["rejected"] == 2 and r.json()["accepted"] == 0, r.text
    _clean(r.text, bsn)


@given(data=st.data())
@SETTINGS
async def test_query_parameters_never_reach_the_audit_log(
    client: httpx.AsyncClient, admin: dict, make_key: Any, data: Any
) -> None:
    bsn = data.draw(bsns())
    text = data.draw(WORDS) + bsn + data.draw(WORDS)
    staff = await make_key(["signals:read"])
    params = {"location": text} if data.draw(st.booleans()) else {text: "x"}
    r = await client.get("/v1/signals", params=params, headers=staff)
    assert r.status_code == 422, r.text
    _clean(r.text, bsn)
    entries = await client.get("/v1/audit", params={"action": "signals.list", "limit": 500}, headers=admin)
    _clean(entries.text, bsn)


@given(data=st.data())
@SETTINGS
async def test_headers_are_neither_stored_nor_logged(
    client: httpx.AsyncClient, intake: dict, admin: dict, session: Any, log_lines: io.StringIO, data: Any
) -> None:
    bsn = data.draw(bsns(ASCII_SEPARATOR))
    request_id = data.draw(st.sampled_from(["", "req-", "dossier-"])) + bsn
    unique = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12])  # letters: no digits added
    key = data.draw(st.sampled_from(["", "key-", "bsn:"])) + bsn + "-" + unique
    headers = {**intake, "X-Request-ID": request_id, "Idempotency-Key": key}
    r = await client.post("/v1/signals", json=(body := signal(themes=[])), headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["x-request-id"] != request_id
    _clean(r.text + str(r.headers), bsn)
    again = await client.post(
        "/v1/signals", json=body, headers=headers
    )  # the stored key still finds its answer
    assert again.headers["idempotent-replayed"] == "true" and again.content == r.content
    stored = (await session.execute(select(IdempotencyRecord.key))).scalars().all()
    assert stored and not [k for k in stored if digits_of(bsn) in digits_of(k)]
    entries = await client.get("/v1/audit", params={"record_id": r.json()["id"]}, headers=admin)
    assert entries.status_code == 200, entries.text
    assert {e["request_id"] for e in entries.json()["items"]} == {
        r.headers["x-request-id"],
        again.headers["x-request-id"],
    }
    _clean(entries.text, bsn)
    structlog.get_logger("nakoming.test").warning("something", note=f"about {bsn}", nested={"k": [bsn]})
    lines = log_lines.getvalue()
    assert "something" in lines and "/v1/signals" in lines
    _clean(lines, bsn)


async def test_a_path_is_logged_without_its_bsn(
    client: httpx.AsyncClient, make_key: Any, log_lines: io.StringIO
) -> None:
    r = await client.get(
        "/v1/signals/dossier-111\u00a0222\u00a0333", headers=await make_key(["signals:read"])
    )
    assert r.status_code == 404  # not a signal id (the route takes UUIDs only)
    assert "/v1/signals/dossier-" in log_lines.getvalue() and "333" not in log_lines.getvalue()


async def test_an_idempotent_replay_is_audited_like_the_first_answer(
    client: httpx.AsyncClient, themes: None, intake: dict, admin: dict
) -> None:
    body = signal()
    first = await post_signal(client, intake, body, key="replayed")
    again = await post_signal(client, {**intake, "X-Request-ID": "req-replay"}, body, key="replayed")
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    entries = (await client.get("/v1/audit", params={"record_id": first.json()["id"]}, headers=admin)).json()[
        "items"
    ]
    assert [(e["action"], e["record_ids"]) for e in entries] == [("signals.create", [first.json()["id"]])] * 2
    assert entries[0]["request_id"] == "req-replay" and entries[0]["detail"] == {"idempotent_replay": True}
    assert entries[1]["detail"] in (None, {})


@given(data=st.data())
@SETTINGS
async def test_a_bsn_in_a_path_is_not_echoed_in_the_problem(
    client: httpx.AsyncClient, admin: dict, data: Any
) -> None:
    bsn = data.draw(bsns())
    text = data.draw(WORDS).replace("/", "") + bsn + data.draw(WORDS).replace("/", "")
    template = data.draw(
        st.sampled_from(
            [
                "/v1/themes/{}",
                "/v1/commitments/{}",
                "/v1/commitments/{}/changes",
                "/v1/signals/batches/{}",
                "/v1/parties/{}",
            ]
        )
    )
    method = data.draw(st.sampled_from(["GET", "PATCH", "DELETE"]))
    r = await client.request(
        method,
        template.format(quote(text, safe="")),
        headers=admin,
        **({"json": {"label_en": "x"}} if method == "PATCH" else {}),
    )
    assert r.status_code in (400, 404, 405, 422), r.text
    _clean(r.text + str(r.headers), bsn)
