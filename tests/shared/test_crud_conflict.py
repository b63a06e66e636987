"""Two writers of one record at the same moment: the loser gets a 409 problem, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from shared.commitments.models import Commitment
from shared.commitments.service import CommitmentService
from shared.errors import Conflict


async def test_concurrent_update_is_a_conflict(session: Any) -> None:
    service = CommitmentService(session)
    obj = await service.create({"title": "Eerste versie", "themes": [], "recommendation_ids": []})
    # another request commits a change between this one's read and its write
    await session.execute(
        update(Commitment)
        .where(Commitment.id == obj.id)
        .values(version=Commitment.version + 1)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(Conflict) as caught:
        await service.update(obj, {"title": "Tweede versie"})
    assert caught.value.status == 409 and "GET it again" in caught.value.detail
