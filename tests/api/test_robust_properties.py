"""Property: whatever is posted or queried (control characters, boundary dates, huge values, BSNs with any
separator anywhere), the answer is never a 5xx and never echoes a BSN (issue 10). Both backends; a modest
number of examples per property keeps the suite fast."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shared.signals.privacy import GROUPINGS
from tests.factories import signal

SETTINGS = hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


# Separators a writer (or an evasive client) may put between a BSN's digits: any character of the categories the
# screen treats as separators (spaces, dashes, connectors, format characters), controls and the full stop.
SEPARATOR = st.characters(categories=("Zs", "Pd", "Pc", "Cf")) | st.sampled_from(
    ["\t", "\n", "\r", ".", "\u00a0", "\u202f", "\u2013", " "]
)
ASCII_SEPARATOR = st.sampled_from(["-", ".", "_"])  # what a header value matching [A-Za-z0-9._:-] can hold


@st.composite
def bsns(draw: Any, separator: Any = SEPARATOR) -> str:
    """A valid BSN (passes the eleven-test), whole or in any of the groupings BSNs are written in, the groups joined
    by random runs of 1-3 separators."""
    while True:
        digits = draw(st.lists(st.integers(0, 9), min_size=8, max_size=8))
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
        if check < 10 and any(digits):
            number = "".join(map(str, digits)) + str(check)
            break
    sizes = draw(st.sampled_from([(9,), *sorted(GROUPINGS)]))
    cuts = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    groups = [number[a:b] for a, b in itertools.pairwise(cuts)]
    return "".join(
        group + (draw(st.text(separator, min_size=1, max_size=3)) if i < len(groups) - 1 else "")
        for i, group in enumerate(groups)
    )


def digits_of(bsn: str) -> str:
    return "".join(c for c in bsn if c.isdigit())


def texts(bsn: str) -> Any:
    control = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(
        ["\x7f", "\ud800", "\udfff"]
    )
    return st.one_of(
        st.text(max_size=30),
        st.text(alphabet=control, min_size=1, max_size=5),
        st.builds(lambda a, b: a + bsn + b, st.text(max_size=5), st.text(max_size=5)),
        st.just("x" * 25_000),
    )


DATES = st.one_of(
    st.sampled_from(
        [
            "0001-01-01",
            "9999-12-31",
            "9999-12-30",
            "0001-12-31",
            "2026-02-29",
            "2024-02-29",
            "0",
            "1700000000",
            "-1",
            "99999-01-01",
            "",
        ]
    ),
    st.dates().map(str),
    st.integers(-(2**70), 2**70),
)
VALUES = st.one_of(st.integers(-(2**80), 2**80), st.floats(allow_nan=False), st.booleans(), st.none())


def _check(r: httpx.Response, bsn: str) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    digits = digits_of(bsn)
    # As a number of its own: inside a longer run of digits ("0000000012" around "000000012") it is no BSN, and
    # the screen rightly lets it through.
    for form in {bsn, digits}:
        assert not re.search(rf"(?<![0-9]){re.escape(form)}(?![0-9])", r.text), r.text[:500]
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"


@given(data=st.data())
@SETTINGS
async def test_signals_never_5xx_never_a_bsn(client: httpx.AsyncClient, intake_key: dict, data: Any) -> None:
    bsn = data.draw(bsns())
    body = signal(external_id=f"P-{uuid.uuid4().hex[:10]}", themes=[])
    for field in data.draw(
        st.lists(
            st.sampled_from(
                ["summary", "external_id", "location", "source_system", "client_reference", "kind"]
            ),
            max_size=3,
            unique=True,
        )
    ):
        body[field] = data.draw(texts(bsn))
    for field in data.draw(
        st.lists(
            st.sampled_from(["received_date", "occurred_date", "retention_date"]), max_size=2, unique=True
        )
    ):
        body[field] = data.draw(DATES)
    if data.draw(st.booleans()):
        body[data.draw(st.sampled_from(["anonymous", "extension_recorded", "severity"]))] = data.draw(VALUES)
    if data.draw(st.booleans()):
        body[data.draw(st.sampled_from([bsn, "bsn", "extra"]))] = data.draw(texts(bsn))
    r = await client.post(
        "/v1/signals",
        content=_json(body),
        headers={**intake_key, "Idempotency-Key": uuid.uuid4().hex, "content-type": "application/json"},
    )
    _check(r, bsn)


@given(data=st.data())
@SETTINGS
async def test_commitments_never_5xx_never_a_bsn(client: httpx.AsyncClient, writer: dict, data: Any) -> None:
    bsn = data.draw(bsns())
    body: dict[str, Any] = {"title": data.draw(texts(bsn))}
    if data.draw(st.booleans()):
        body["description"] = data.draw(texts(bsn))
    if data.draw(st.booleans()):
        body["due_date"] = data.draw(DATES)
    if data.draw(st.booleans()):
        body[data.draw(st.sampled_from([bsn, "key", "origin"]))] = data.draw(st.one_of(texts(bsn), VALUES))
    _check(
        await client.post(
            "/v1/commitments", content=_json(body), headers={**writer, "content-type": "application/json"}
        ),
        bsn,
    )


@given(data=st.data())
@SETTINGS
async def test_query_strings_never_5xx_never_a_bsn(
    client: httpx.AsyncClient, reader_key: dict, data: Any
) -> None:
    bsn = data.draw(bsns())
    path, names = data.draw(
        st.sampled_from(
            [
                (
                    "/v1/commitments",
                    ["q", "due_before", "due_after", "limit", "sort", "cursor", "theme", bsn],
                ),
                ("/v1/signals/stats", ["from", "to", "group_by", "theme", "kind", bsn]),
                ("/v1/signals/trends", ["until", "months", "theme", "provider"]),
                ("/v1/parties", ["q", "limit", "cursor"]),
            ]
        )
    )
    params = {}
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
        params[name] = str(data.draw(st.one_of(texts(bsn).filter(lambda t: len(t) < 2000), DATES, VALUES)))
    r = await client.get(path, params=_encodable(params), headers=reader_key)
    _check(r, bsn)


def _json(body: dict[str, Any]) -> bytes:
    # ASCII escapes, as most clients send them: a lone surrogate travels as \\ud800.
    return json.dumps(body).encode()


def _encodable(params: dict[str, str]) -> dict[str, str]:
    # A lone surrogate cannot be percent-encoded as UTF-8 by a client; it stands for such bytes instead.
    return {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}


@pytest.fixture
async def intake_key(make_key: Any, client: httpx.AsyncClient, admin: dict) -> dict:
    return await make_key(["signals:write"])


@pytest.fixture
async def reader_key(make_key: Any) -> dict:
    return await make_key(["read", "signals:read"])
