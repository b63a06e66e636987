"""Small create_x() helpers over the API, so tests read as the user story they check."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


async def create(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def create_party(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    return await create(
        client, "/v1/parties", headers, **{"name": "Stichting Test", "kind": "provider", **body}
    )


async def create_theme(
    client: httpx.AsyncClient, admin: dict[str, str], key: str = "sociale-veiligheid"
) -> dict[str, Any]:
    return await create(client, "/v1/themes", admin, key=key, label_nl=key, label_en=key)


async def create_commitment(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    return await create(client, "/v1/commitments", headers, **{"title": "Een toezegging", **body})


async def create_milestone(
    client: httpx.AsyncClient, headers: dict[str, str], commitment_id: str, **body: Any
) -> dict[str, Any]:
    return await create(
        client,
        "/v1/milestones",
        headers,
        **{"commitment_id": commitment_id, "title": "Mijlpaal", "due_date": "2026-07-01", **body},
    )


async def create_action(
    client: httpx.AsyncClient, headers: dict[str, str], commitment_id: str, **body: Any
) -> dict[str, Any]:
    return await create(
        client,
        "/v1/actions",
        headers,
        **{"commitment_id": commitment_id, "title": "Actie", "state": "in_progress", **body},
    )


def signal(**overrides: Any) -> dict[str, Any]:
    return {
        "source_system": "fokus-klachten",
        "external_id": f"KL-{uuid.uuid4().hex[:8]}",
        "kind": "klacht",
        "channel": "email",
        "themes": ["bejegening"],
        "severity": "middel",
        "received_date": "2026-02-02",
        "provider_agb": "12345678",
        "location": "Fokus Utrecht",
        "zorgkantoor_code": "5521",
        "reporter_role": "client",
        "summary": "Assistentie kwam niet op tijd.",
        **overrides,
    }


async def post_signal(
    client: httpx.AsyncClient, headers: dict, body: dict, key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/v1/signals", json=body, headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex}
    )
