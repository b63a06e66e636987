"""The board's reads (services/api/board/api.py) return exactly the bodies the /v1 routes send, in either
language: they call the routes' own functions, so nothing is read past the API's rules or shaped otherwise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request

from services.api.board.api import Api, InvalidQuery, NotFoundInApi
from tests.board.pages import FOKUS_ZZP, VL_SOURCE, VWS_REACTIE, by_key

pytestmark = pytest.mark.usefixtures("seeded")


def _request(app: Any) -> Request:
    return Request(
        {
            "type": "http",
            "app": app,
            "method": "GET",
            "path": "/board",
            "query_string": b"",
            "headers": [],
            "client": ("127.0.0.1", 1),
        }
    )


@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_reads_equal_the_api_bodies(client: httpx.AsyncClient, app: Any, lang: str) -> None:
    zzp = await by_key(client, "/v1/commitments", FOKUS_ZZP)
    vws = await by_key(client, "/v1/commitments", VWS_REACTIE)
    source = await by_key(client, "/v1/sources", VL_SOURCE)
    cid = zzp["id"]
    async with Api(_request(app), language=lang, key=None) as api:
        milestones = await api.milestones()
        action = next(m for m in milestones if m.get("action_id"))["action_id"]
        reads: list[tuple[Any, str, dict[str, Any]]] = [
            (await api.commitment(cid), f"/v1/commitments/{cid}", {}),
            (
                await api.commitments(status="off_track", sort="due_date", limit=7),
                "/v1/commitments",
                {"status": "off_track", "sort": "due_date", "limit": 7},
            ),
            (
                await api.commitment_counts(theme="inzet-zzp-flex"),
                "/v1/commitments/counts",
                {"theme": "inzet-zzp-flex"},
            ),
            (
                await api.status_history(cid, limit=100),
                f"/v1/commitments/{cid}/status-history",
                {"limit": 100},
            ),
            (await api.fulfilments(cid, limit=100), f"/v1/commitments/{cid}/fulfilments", {"limit": 100}),
            (milestones, "/v1/milestones", {"limit": 500}),
            (await api.milestones(commitment_id=cid), "/v1/milestones", {"limit": 500, "commitment_id": cid}),
            (await api.milestone(milestones[0]["id"]), f"/v1/milestones/{milestones[0]['id']}", {}),
            (await api.actions(commitment_id=cid), "/v1/actions", {"limit": 500, "commitment_id": cid}),
            (await api.action_or_none(action), f"/v1/actions/{action}", {}),
            (await api.themes(), "/v1/themes", {"limit": 500}),
            (await api.parties(), "/v1/parties", {"limit": 500}),
            (await api.party_or_none(zzp["owner_party_id"]), f"/v1/parties/{zzp['owner_party_id']}", {}),
            (await api.sources(), "/v1/sources", {"limit": 500}),
            (await api.source(source["id"]), f"/v1/sources/{source['id']}", {}),
            (
                await api.toezegging_or_none(vws["tk_toezegging_nummer"]),
                f"/v1/tk/toezeggingen/{vws['tk_toezegging_nummer']}",
                {},
            ),
            (await api.toezeggingen(), "/v1/tk/toezeggingen", {"limit": 500}),
            (await api.suggestions(), "/v1/tk/suggestions", {"limit": 500}),
            (
                await api.signal_trend(theme="bejegening", months=12),
                "/v1/signals/trends",
                {"theme": "bejegening", "months": 12},
            ),
        ]
        assert await api.commitment_or_none("00000000-0000-4000-8000-000000000000") is None
        with pytest.raises(NotFoundInApi):
            await api.source("00000000-0000-4000-8000-000000000000")
        with pytest.raises(InvalidQuery) as refused:
            await api.commitments(due_after="1-2-2026x")
        assert refused.value.fields == ["due_after"]
    for got, path, params in reads:
        response = await client.get(path, params=params, headers={"accept-language": lang})
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        if isinstance(got, list):  # every page of a list read: one page here
            assert body["next_cursor"] is None, path
            body = body["items"]
        assert got == body, path
        assert got, path  # the seed has something for each read
