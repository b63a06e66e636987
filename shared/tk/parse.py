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
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

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


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


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

# Single-valued references kept as columns (the first one wins).
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
    token: int
    bijgewerkt: dt.datetime
    verwijderd: bool
    values: dict[str, Any] = field(default_factory=dict)
    zaak_ids: list[uuid.UUID] = field(default_factory=list)  # document -> zaak (many)


def _skiptoken(href: str) -> int:
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


def _read_entry(entry: Any) -> FeedEntry | None:
    title = token = entity = None
    for child in entry:
        tag = child.tag
        if tag == _LINK:
            if child.get("rel") == "next":
                token = _skiptoken(child.get("href", ""))
        elif tag == _CONTENT:
            entity = _entity(child)
        elif tag == _TITLE:
            title = child.text
    if token is None:
        raise MalformedPage("entry without a next link")
    if entity is None:
        # An entry of a kind we cannot read still moves the checkpoint; the caller counts it as skipped.
        return FeedEntry("", uuid.UUID(int=0), token, dt.datetime.min.replace(tzinfo=dt.UTC), False)
    kind = entity.tag[_TK_LEN:]
    raw_id = entity.get("id") or title
    entity_id = parse_uuid(raw_id)
    if entity_id is None:
        raise MalformedPage(f"entity without a GUID id: {raw_id!r}")
    bijgewerkt = parse_datetime(entity.get(_BIJGEWERKT))
    if bijgewerkt is None:
        raise MalformedPage(f"{kind} {entity_id} without bijgewerkt")
    verwijderd = parse_bool(entity.get(_VERWIJDERD)) or False
    result = FeedEntry(kind, entity_id, token, bijgewerkt, verwijderd)
    if verwijderd:
        return result
    fields = FIELDS.get(kind)
    if fields is None:
        return result
    refs = REFS[kind]
    values = result.values
    for child in entity:
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith(_TK_PREFIX):
            continue
        name = tag[_TK_LEN:]
        ref = child.get("ref")
        if ref is not None:
            if kind == "document" and name == "zaak":
                zaak_id = parse_uuid(ref)
                if zaak_id is not None:
                    result.zaak_ids.append(zaak_id)
            else:
                column = refs.get(name)
                if column is not None and column not in values:
                    values[column] = parse_uuid(ref)
            continue
        spec = fields.get(name)
        if spec is None:
            continue
        column, convert = spec
        if child.get(XSI_NIL) == "true":
            values[column] = None
        else:
            try:
                values[column] = convert(child.text)
            except ValueError as exc:
                raise MalformedPage(f"{kind} {entity_id}: bad {name} {child.text!r}") from exc
    if kind == "document":
        content_length = entity.get(_CONTENT_LENGTH)
        values["content_type"] = entity.get(_CONTENT_TYPE)
        values["content_length"] = parse_int(content_length)
    return result


def iter_entries(source: bytes | Any) -> Iterator[FeedEntry]:
    """Yield the entries of one page (bytes or a binary file object), oldest first."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    context = etree.iterparse(stream, events=("end",), tag=_ENTRY, huge_tree=True, resolve_entities=False,
                              no_network=True)
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


def parse_page(source: bytes) -> list[FeedEntry]:
    """All entries of one page; raises MalformedPage on anything unreadable (including truncation)."""
    if not source or not source.strip():
        raise MalformedPage("empty response body")
    return list(iter_entries(source))
