"""Streaming parser for SyncFeed pages (Atom + tkData), by namespace URI, never by prefix.

`iter_entries` yields one `FeedEntry` per <entry> and clears each element once read, so memory stays
flat however large the page. Values are normalised here (UTC timestamps, dates, nil, refs), so the
sync service only sees row dictionaries.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from shared.tk.values import parse_bool, parse_date, parse_datetime, parse_int, parse_uuid

ATOM = "http://www.w3.org/2005/Atom"
TK = "http://www.tweedekamer.nl/xsd/tkData/v1-0"

_ENTRY = f"{{{ATOM}}}entry"
_TITLE = f"{{{ATOM}}}title"
_LINK = f"{{{ATOM}}}link"
_CONTENT = f"{{{ATOM}}}content"
_TK_PREFIX = f"{{{TK}}}"
_TK_LEN = len(_TK_PREFIX)
_BIJGEWERKT = f"{{{TK}}}bijgewerkt"
_VERWIJDERD = f"{{{TK}}}verwijderd"
_CONTENT_TYPE = f"{{{TK}}}contentType"
_CONTENT_LENGTH = f"{{{TK}}}contentLength"


class MalformedPage(Exception):
    """The page is not a readable SyncFeed page; the checkpoint must not move past it."""


class UnreadableEntity(Exception):
    """One entity cannot be read (an id that is not a GUID, a date the parser cannot read, ...): it goes to
    quarantine and the rest of its page goes on."""


def _text(value: str | None) -> str | None:
    if not value:
        return None
    return value.strip() or None


Converter = Callable[[str | None], Any]

# element local name -> (column, converter), per entity element.
FIELDS: dict[str, dict[str, tuple[str, Converter]]] = {
    "toezegging": {
        "nummer": ("nummer", _text),
        "tekst": ("tekst", _text),
        "status": ("status", _text),
        "datumNakoming": ("datum_nakoming", parse_date),
        "kamerbriefNakoming": ("kamerbrief_nakoming", _text),
        "ministerie": ("ministerie", _text),
        "activiteitNummer": ("activiteit_nummer", _text),
        "aanmaakdatum": ("aanmaakdatum", parse_datetime),
        "naam": ("naam", _text),
        "functie": ("functie", _text),
    },
    "document": {
        "documentNummer": ("nummer", _text),
        "titel": ("titel", _text),
        "onderwerp": ("onderwerp", _text),
        "datum": ("datum", parse_date),
        "soort": ("soort", _text),
        "organisatie": ("organisatie", _text),
        "vergaderjaar": ("vergaderjaar", _text),
        "volgnummer": ("volgnummer", parse_int),
    },
    "zaak": {
        "nummer": ("nummer", _text),
        "soort": ("soort", _text),
        "titel": ("titel", _text),
        "onderwerp": ("onderwerp", _text),
        "organisatie": ("organisatie", _text),
        "status": ("status", _text),
        "afgedaan": ("afgedaan", parse_bool),
        "gestartOp": ("gestart_op", parse_date),
    },
    "activiteit": {
        "nummer": ("nummer", _text),
        "soort": ("soort", _text),
        "onderwerp": ("onderwerp", _text),
        "datum": ("datum", parse_date),
        "status": ("status", _text),
        "voortouwafkorting": ("voortouwafkorting", _text),
    },
    "kamerstukdossier": {
        "nummer": ("nummer", _text),
        "toevoeging": ("toevoeging", _text),
        "titel": ("titel", _text),
        "afgesloten": ("afgesloten", parse_bool),
    },
}

# Elements that may repeat, kept as a list column plus the first value in the single column:
# element -> (list column, first-value column). The live feed sends several kamerbriefNakoming.
MULTI: dict[str, dict[str, tuple[str, str]]] = {
    "toezegging": {"kamerbriefNakoming": ("kamerbrieven_nakoming", "kamerbrief_nakoming")},
}

# Single-valued references kept as columns (the first one wins; repeats go to `relations`).
REFS: dict[str, dict[str, str]] = {
    "toezegging": {"activiteit": "activiteit_id"},
    "document": {"kamerstukdossier": "kamerstukdossier_id", "bronDocument": "bron_document_id"},
    "zaak": {"kamerstukdossier": "kamerstukdossier_id"},
    "activiteit": {},
    "kamerstukdossier": {},
}


@dataclass(slots=True)
class FeedEntry:
    kind: str  # entity element local name: toezegging, document, ...
    id: uuid.UUID
    token: int | None  # None for an entity fetched by id (it has no feed position)
    bijgewerkt: dt.datetime
    verwijderd: bool
    values: dict[str, Any] = field(default_factory=dict)
    zaak_ids: list[uuid.UUID] = field(default_factory=list)  # document -> zaak (many)


def position(entry: FeedEntry | Quarantined) -> int:
    """An entry's place in the feed (its link's skiptoken). Every entry read from a feed page has one; only an
    entity fetched by id has none."""
    if entry.token is None:
        raise MalformedPage(f"feed entry {entry.id} has no position in the feed")
    return entry.token


@dataclass(slots=True)
class Quarantined:
    """An entry whose entity could not be read: its raw XML and why."""

    token: int
    kind: str | None
    entity_id: str | None
    reason: str
    raw: str


ParsedEntry = FeedEntry | Quarantined


def skiptoken_of(href: str) -> int:
    _, sep, rest = href.rpartition("skiptoken=")
    if not sep:
        raise MalformedPage(f"link without skiptoken: {href[:200]!r}")
    digits = rest.split("&", 1)[0]
    if not digits.isdigit():
        raise MalformedPage(f"non-numeric skiptoken in {href[:200]!r}")
    return int(digits)


def _entity(content: Any) -> Any:
    for child in content:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith(_TK_PREFIX):
            return child
    return None


_REF_NAMES: dict[str, frozenset[str]] = {
    kind: frozenset(refs) | ({"zaak"} if kind == "document" else frozenset()) for kind, refs in REFS.items()
}


def _read_entry(entry: Any) -> ParsedEntry:
    title = token = entity = None
    for child in entry:
        tag = child.tag
        if tag == _LINK:
            if child.get("rel") == "next":
                token = skiptoken_of(child.get("href", ""))
        elif tag == _CONTENT:
            entity = _entity(child)
        elif tag == _TITLE:
            title = child.text
    if token is None:
        raise MalformedPage("entry without a next link")
    if entity is None:
        # An entry of a kind we cannot read still moves the checkpoint; the caller counts it as skipped.
        return FeedEntry("", uuid.UUID(int=0), token, dt.datetime.min.replace(tzinfo=dt.UTC), False)
    try:
        return read_entity(entity, token, title)
    except UnreadableEntity as exc:
        raw_id = entity.get("id") or title
        return Quarantined(
            token,
            entity.tag[_TK_LEN:][:40],
            raw_id[:100] if raw_id else None,
            str(exc),
            etree.tostring(entry, encoding="unicode"),
        )


def read_entity(entity: Any, token: int | None, title: str | None = None) -> FeedEntry:
    """One tkData entity element; raises UnreadableEntity when a value cannot be read."""
    kind = entity.tag[_TK_LEN:]
    raw_id = entity.get("id") or title
    entity_id = parse_uuid(raw_id)
    if entity_id is None:
        raise UnreadableEntity(f"{kind}: id is not a GUID")
    try:
        bijgewerkt = parse_datetime(entity.get(_BIJGEWERKT))
    except ValueError as exc:
        raise UnreadableEntity(f"{kind} {entity_id}: bijgewerkt is not a readable timestamp") from exc
    if bijgewerkt is None:
        raise UnreadableEntity(f"{kind} {entity_id}: no bijgewerkt")
    verwijderd = entity.get(_VERWIJDERD) == "true"
    result = FeedEntry(kind, entity_id, token, bijgewerkt, verwijderd)
    fields = FIELDS.get(kind)
    if verwijderd or fields is None:
        return result
    refs = REFS[kind]
    ref_names = _REF_NAMES[kind]
    multi = MULTI.get(kind)
    values = result.values
    extra: list[dict[str, str]] = []
    # Hot loop: touch attributes only where a reference can be; an xsi:nil element has no text, so it
    # reads as None without looking at the attribute.
    for child in entity:
        tag = child.tag
        if tag.__class__ is not str or not tag.startswith(_TK_PREFIX):
            continue
        name = tag[_TK_LEN:]
        if multi is not None and name in multi:
            text = _text(child.text)
            if text is not None:
                values.setdefault(multi[name][0], []).append(text)
            continue
        spec = fields.get(name)
        if spec is not None:
            column, convert = spec
            try:
                values[column] = convert(child.text)
            except ValueError as exc:
                raise UnreadableEntity(f"{kind} {entity_id}: {name} is not readable") from exc
            continue
        ref = child.get("ref")
        if ref is None:
            continue
        ref_id = parse_uuid(ref) if name in ref_names else None
        if ref_id is None:  # unknown relation, or a reference that is not a GUID: kept raw, never dropped
            extra.append({"element": name, "ref": ref})
        elif name == "zaak":
            result.zaak_ids.append(ref_id)
        else:
            column = refs[name]
            if column in values:
                extra.append({"element": name, "ref": ref})
            else:
                values[column] = ref_id
    if multi is not None:
        for many, first in multi.values():
            found = values.get(many)
            values[first] = found[0] if found else None
            values[many] = found or None
    values["relations"] = extra or None
    if kind == "document":
        values["content_type"] = entity.get(_CONTENT_TYPE)
        values["content_length"] = parse_int(entity.get(_CONTENT_LENGTH))
    return result


def iter_entries(source: bytes | Any) -> Iterator[ParsedEntry]:
    """Yield the entries of one page (bytes or a binary file object), oldest first."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    context = etree.iterparse(
        stream, events=("end",), tag=_ENTRY, huge_tree=True, resolve_entities=False, no_network=True
    )
    try:
        for _event, element in context:
            yield _read_entry(element)
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise MalformedPage(f"XML syntax error: {exc}") from exc
    finally:
        del context


def parse_page(source: bytes) -> list[ParsedEntry]:
    """All entries of one page; raises MalformedPage when the page itself is unreadable (including
    truncation). An unreadable entity does not fail the page: it comes back as `Quarantined`."""
    if not source or not source.strip():
        raise MalformedPage("empty response body")
    return list(iter_entries(source))


def parse_entity(source: bytes) -> FeedEntry | None:
    """The answer of `Entiteiten/<guid>`: the bare tkData entity element (an Atom entry or feed around it is
    read too). None when it holds no entity; raises MalformedPage or UnreadableEntity when unreadable."""
    if not source or not source.strip():
        raise MalformedPage("empty response body")
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        root = etree.fromstring(source, parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedPage(f"XML syntax error: {exc}") from exc
    if isinstance(root.tag, str) and root.tag.startswith(_TK_PREFIX):
        return read_entity(root, None)
    for content in root.iter(_CONTENT):
        entity = _entity(content)
        if entity is not None:
            return read_entity(entity, None)
    return None
