"""The SyncFeed categories we mirror, in the order a full sync runs them.

Documents come last: whether a document is kept depends on the dossiers, zaken and toezeggingen
already mirrored.
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = ("Kamerstukdossier", "Zaak", "Activiteit", "Toezegging", "Document")

# Local name of the entity element inside <content>, per category.
ENTITY_TAGS: dict[str, str] = {
    "Kamerstukdossier": "kamerstukdossier",
    "Zaak": "zaak",
    "Activiteit": "activiteit",
    "Toezegging": "toezegging",
    "Document": "document",
}


def canonical_category(name: str) -> str:
    """Case-insensitive lookup; raises ValueError naming the allowed categories."""
    for category in CATEGORIES:
        if category.lower() == name.strip().lower():
            return category
    raise ValueError(f"unknown TK category {name!r}; use one of: {', '.join(CATEGORIES)}")
