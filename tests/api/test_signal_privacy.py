from __future__ import annotations

import httpx

from tests.factories import post_signal, signal

BSN = "111222333"  # passes the eleven-test


async def test_bsn_in_free_text_is_rejected_without_echo(
    client: httpx.AsyncClient, themes: None, intake: dict
) -> None:
    r = await post_signal(client, intake, signal(summary=f"Cliënt met bsn {BSN} klaagt."))
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"].endswith("/bsn-rejected")
    assert problem["errors"][0]["loc"] == ["body", "summary"]
    assert "character 15" in problem["errors"][0]["msg"]
    assert BSN not in r.text
    r = await post_signal(client, intake, signal(location="Woning 111.222.333"))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "location"]


async def test_bsn_field_is_rejected(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    r = await post_signal(client, intake, {**signal(), "bsn": "abc"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "bsn"]
    assert "BSN" in r.json()["errors"][0]["msg"]


async def test_no_false_positives(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    text = (
        "Bel 0612345678 of 06-12345678 of +31 611122233, AGB 12345678, datum 2026-01-15 of 15-01-2026, "
        "kenmerk 1234567890, bedrag 111.222.333,00 euro"
    )
    r = await post_signal(client, intake, signal(summary=text))
    assert r.status_code == 201, r.text
