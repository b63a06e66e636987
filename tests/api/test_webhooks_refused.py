"""Webhook targets under the default rules (no private targets): refused when saved, as a 422 on `url`."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.nl/",
        "https://127.0.0.1/",
        "https://[::1]:8443/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://100.64.1.1/",
        "https://[fd00::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://localhost/",
        "ftp://hooks.example.nl/",
        "not a url",
    ],
)
async def test_refused_targets(client: httpx.AsyncClient, writer: dict, url: str) -> None:
    r = await client.post("/v1/webhooks", json={"url": url}, headers=writer)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["loc"] == ["body", "url"]
    hook = await client.post("/v1/webhooks", json={"url": "https://hooks.example.nl/in"}, headers=writer)
    assert hook.status_code == 201
    r = await client.patch(f"/v1/webhooks/{hook.json()['id']}", json={"url": url}, headers=writer)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "url"]
