"""What each export's columns are: one list per resource, each column named in Dutch and English.

A column reads its value from one item of the resource's list read (the same items `GET /v1/<resource>` returns:
a commitment row as a mapping, the other resources as their output models), so an export shows what the list
shows. Values stay machine values (status codes, ISO dates, ids); only the first reason's message is text, in the
export's language. Milestones are exported one row per measurement (a milestone without measurements: one row
with the measurement columns empty).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.status.messages import localise_one


@dataclass(frozen=True)
class Column:
    nl: str
    en: str
    get: Callable[[Any], Any]

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.nl


def header(columns: Sequence[Column], lang: str) -> list[str]:
    return [column.name(lang) for column in columns]


def values(columns: Sequence[Column], items: Iterable[Any]) -> list[list[Any]]:
    return [[column.get(item) for column in columns] for item in items]


def _field(name: str) -> Callable[[Any], Any]:
    def get(item: Any) -> Any:
        return item.get(name) if isinstance(item, Mapping) else getattr(item, name)

    return get


def field(nl: str, en: str, name: str | None = None) -> Column:
    """A column showing the item's field `name` (default: the English column name)."""
    return Column(nl, en, _field(name or en))


def first_reason(item: Any, lang: str) -> str | None:
    """The message of the item's first (worst) reason, in `lang`."""
    reasons = _field("reasons")(item)
    if not reasons:
        return None
    first = reasons[0]
    if isinstance(first, Mapping):  # a commitment row's stored reason (Dutch; code and params for the others)
        return str(localise_one(first, lang)["message"])
    return str(first.message)  # an output model's reason, rendered in the reader's language


def status_columns(lang: str) -> list[Column]:
    return [
        field("status", "status"),
        Column("eerste_reden", "first_reason", lambda item: first_reason(item, lang)),
    ]


def commitments(lang: str) -> list[Column]:
    return [
        field("id", "id"),
        field("sleutel", "key"),
        field("titel", "title"),
        field("omschrijving", "description"),
        *status_columns(lang),
        field("planning", "schedule"),
        field("tk_status", "source_status"),
        field("deadline", "due_date"),
        field("herkomst", "origin"),
        field("eigenaar_partij_id", "owner_party_id"),
        field("gedaan_aan_partij_id", "made_to_party_id"),
        field("themas", "themes"),
        field("tk_toezegging_nummer", "tk_toezegging_nummer"),
        field("aanbeveling_ids", "recommendation_ids"),
        field("betrokken_partij_ids", "subject_party_ids"),
        field("bron_id", "source_id"),
        field("beoordeeld_op", "evaluated_at"),
        field("aangemaakt_op", "created_at"),
        field("gewijzigd_op", "updated_at"),
    ]


def recommendations(lang: str) -> list[Column]:
    return [
        field("id", "id"),
        field("sleutel", "key"),
        field("titel", "title"),
        field("tekst", "text"),
        *status_columns(lang),
        field("thema", "theme_key"),
        field("geadresseerde_partij_id", "addressee_party_id"),
        field("reactie", "response"),
        field("reactie_bron_id", "response_source_id"),
        field("bron_id", "source_id"),
        field("aangemaakt_op", "created_at"),
        field("gewijzigd_op", "updated_at"),
    ]


def of(part: Callable[[Any], Any], columns: Iterable[Column]) -> list[Column]:
    """`columns` read from a part of the row (`part(row)`); empty where the row has no such part."""

    def reader(c: Column) -> Callable[[Any], Any]:
        return lambda row: None if (found := part(row)) is None else c.get(found)

    return [Column(c.nl, c.en, reader(c)) for c in columns]


def milestones(lang: str) -> list[Column]:
    """Columns of (milestone, measurement or None) pairs: see `milestone_rows`."""
    return [
        *of(
            lambda pair: pair[0],
            [
                field("mijlpaal_id", "milestone_id", "id"),
                field("sleutel", "key"),
                field("titel", "title"),
                field("omschrijving", "description"),
                *status_columns(lang),
                field("toezegging_id", "commitment_id"),
                field("actie_id", "action_id"),
                field("deadline", "due_date"),
                field("bereikt_op", "reached_on"),
            ],
        ),
        *of(
            lambda pair: pair[0].indicator,
            [
                field("eenheid", "unit"),
                field("startwaarde", "baseline_value"),
                field("startdatum", "baseline_date"),
                field("doelwaarde", "target_value"),
                field("richting", "direction"),
            ],
        ),
        *of(
            lambda pair: pair[1],
            [
                field("meting_id", "measurement_id", "id"),
                field("meetdatum", "measurement_date", "date"),
                field("meetwaarde", "measurement_value", "value"),
                field("meetnotitie", "measurement_note", "note"),
            ],
        ),
    ]


def milestone_rows(items: Iterable[Any]) -> list[tuple[Any, Any]]:
    """One (milestone, measurement) pair per measurement, in date order; (milestone, None) without any."""
    return [(m, measurement) for m in items for measurement in (m.measurements or [None])]


def toezeggingen(lang: str) -> list[Column]:
    return [
        field("nummer", "nummer"),
        field("tekst", "tekst"),
        field("status", "status", "status_normalised"),
        field("tk_status", "tk_status", "status"),
        field("datum_nakoming", "datum_nakoming"),
        field("kamerbrieven_nakoming", "kamerbrieven_nakoming"),
        field("ministerie", "ministerie"),
        field("naam", "naam"),
        field("functie", "functie"),
        field("toezegging_id", "commitment_id"),
        field("herkomst", "origin"),
        field("aangemaakt_op", "created_at", "aanmaakdatum"),
        field("bijgewerkt", "updated_at", "bijgewerkt"),
        field("id", "id"),
    ]


def signal_stats(table: Mapping[str, Any]) -> list[Column]:
    """One row per cell of a GET /v1/signals/stats answer (`table`), the counts as that endpoint publishes them,
    each with the table's grouping and its window (widened to whole months)."""
    return [
        Column("groepering", "group_by", lambda _: table["group_by"]),
        field("groep", "group"),
        field("aantal", "count"),
        field("onderdrukt", "suppressed"),
        field("reden", "reason"),
        Column("van", "from", lambda _: table["from_"]),
        Column("tot_en_met", "to", lambda _: table["to"]),
        Column("thema", "theme", lambda _: table["theme"]),
        Column("soort", "kind", lambda _: table["kind"]),
    ]
