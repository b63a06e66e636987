from __future__ import annotations

import uuid

import httpx

from tests.factories import create_party, post_signal, signal


async def test_zorgkantoor_key_sees_only_its_own(
    client: httpx.AsyncClient, themes: None, admin: dict, make_key
) -> None:
    zk_a = await create_party(
        client, admin, name="Zorgkantoor A", kind="zorgkantoor", zorgkantoor_code="5521"
    )
    zk_b = await create_party(
        client, admin, name="Zorgkantoor B", kind="zorgkantoor", zorgkantoor_code="5522"
    )
    key_a = await make_key(["signals:read", "signals:write"], uuid.UUID(zk_a["id"]))
    key_b = await make_key(["signals:read", "signals:write"], uuid.UUID(zk_b["id"]))
    own = await post_signal(client, key_a, signal(zorgkantoor_code=None, provider_agb=None))
    assert (
        own.status_code == 201 and own.json()["zorgkantoor_code"] == "5521"
    )  # filled in from the key's party
    other = await post_signal(client, key_b, signal())
    assert other.status_code == 403  # 5521 is not B's
    theirs = (await post_signal(client, key_b, signal(zorgkantoor_code="5522"))).json()
    # A reads its own; B's signal looks exactly like one that does not exist.
    assert (await client.get(f"/v1/signals/{own.json()['id']}", headers=key_a)).status_code == 200
    hidden = await client.get(f"/v1/signals/{theirs['id']}", headers=key_a)
    missing = await client.get("/v1/signals/00000000-0000-4000-8000-000000000000", headers=key_a)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    assert [s["id"] for s in (await client.get("/v1/signals", headers=key_a)).json()["items"]] == [
        own.json()["id"]
    ]
    assert [
        s["id"]
        for s in (await client.get("/v1/signals", params={"zorgkantoor_code": "5522"}, headers=key_a)).json()[
            "items"
        ]
    ] == []
    # A duplicate of another party's natural key does not reveal its id.
    dup = await post_signal(client, key_a, signal(external_id=theirs["external_id"], zorgkantoor_code="5521"))
    assert dup.status_code == 409 and "existing_id" not in dup.json()


async def test_provider_key_by_agb(client: httpx.AsyncClient, themes: None, admin: dict, make_key) -> None:
    provider = await create_party(client, admin, name="Fokus", kind="provider", agb_code="12345678")
    key = await make_key(["signals:read", "signals:write"], uuid.UUID(provider["id"]))
    staff_write = await make_key(["signals:write"])
    mine = (
        await post_signal(client, staff_write, signal(provider_agb="12345678", zorgkantoor_code=None))
    ).json()
    assert mine["provider_party_id"] == provider["id"]  # resolved from the AGB code
    other = (await post_signal(client, staff_write, signal(provider_agb="87654321"))).json()
    ids = [s["id"] for s in (await client.get("/v1/signals", headers=key)).json()["items"]]
    assert ids == [mine["id"]] and other["id"] not in ids


async def test_party_without_codes_and_missing_scope(
    client: httpx.AsyncClient, admin: dict, make_key
) -> None:
    ministry = await create_party(client, admin, name="VWS", kind="ministry", agb_code="01010101")
    key = await make_key(["signals:read"], uuid.UUID(ministry["id"]))
    # binding is refused without a code (shared/auth/service.check_binding); a code removed later leaves no signals
    r = await client.patch(
        f"/v1/parties/{ministry['id']}",
        json={"agb_code": None},
        headers={**admin, "If-Match": f'"{ministry["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/signals", headers=key)).status_code == 403
    plain = await make_key(["read", "write"])
    assert (await client.get("/v1/signals", headers=plain)).status_code == 403
    assert (
        await client.post("/v1/signals", json={}, headers={**plain, "Idempotency-Key": "x"})
    ).status_code == 403
