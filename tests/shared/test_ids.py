"""Ids made in bulk (shared.db.new_ids) are what new_id() makes: random version-4 UUIDs, all distinct."""

from __future__ import annotations

import uuid

from shared.db import new_id, new_ids


def test_bulk_ids_are_distinct_version_4_uuids() -> None:
    ids = list(new_ids(5_000))
    assert len(ids) == 5_000
    assert len(set(ids)) == 5_000
    for value in ids:
        assert value.version == new_id().version == 4
        assert value.variant == uuid.RFC_4122
    assert list(new_ids(0)) == []
