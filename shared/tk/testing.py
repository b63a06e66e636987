"""A fake SyncFeed for tests and benchmarks: entry builders and a real loopback HTTP server.

The server answers `/SyncFeed/2.0/Feed?category=C&skiptoken=N` like the real feed (entries after N,
oldest first, `page_size` per page; an empty feed past the end) and can inject faults: HTTP 500 with a
JSON body, 503 with Retry-After, slow responses and truncated XML. Hrefs in the pages point at the real
host on purpose, so a client that follows them instead of its base URL fails.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from lxml import etree

from shared.tk.parse import ATOM, skiptoken_of

REAL_BASE = "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0"
TK_NS = "http://www.tweedekamer.nl/xsd/tkData/v1-0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class Ref:
    guid: str


Value = str | Ref | None


def entry_xml(
    category: str,
    guid: str,
    token: int,
    bijgewerkt: str,
    fields: Sequence[tuple[str, Value]] = (),
    *,
    deleted: bool = False,
    prefix: str | None = None,
    attrs: dict[str, str] | None = None,
) -> bytes:
    """One <entry>. `prefix` writes the entity with that namespace prefix (ns1: like Toezegging does);
    without it the entity uses the default namespace with tk: attributes, like the other categories."""
    kind = category.lower()
    href = f"{REAL_BASE}/Feed?category={category}&amp;skiptoken={token}"
    p = f"{prefix}:" if prefix else ""
    a = p if prefix else "tk:"
    ns = (
        f'xmlns:{prefix}="{TK_NS}"' if prefix else f'xmlns="{TK_NS}" xmlns:tk="{TK_NS}"'
    ) + f' xmlns:xsi="{XSI_NS}"'
    extra = "".join(f' {a}{k}="{escape(v)}"' for k, v in (attrs or {}).items())
    head = (
        f'<{p}{kind} id="{guid}" {a}bijgewerkt="{bijgewerkt}" {a}verwijderd="{"true" if deleted else "false"}"'
        f'{extra} {ns}>'
    )
    body: list[str] = []
    if not deleted:
        for name, value in fields:
            if value is None:
                body.append(f'<{p}{name} xsi:nil="true"/>')
            elif isinstance(value, Ref):
                body.append(f'<{p}{name} ref="{value.guid}"/>')
            else:
                body.append(f"<{p}{name}>{escape(value)}</{p}{name}>")
    return (
        f"<entry><title>{guid}</title><id>{REAL_BASE}/Entiteiten/{guid}</id>"
        f"<author><name>Tweede Kamer der Staten-Generaal</name></author><updated>2026-01-01T00:00:00Z</updated>"
        f'<category term="{kind}"/><link rel="next" href="{href}"/><content type="application/xml">'
        f"{head}{''.join(body)}</{p}{kind}></content></entry>"
    ).encode()


def toezegging(
    guid: str,
    token: int,
    *,
    nummer: str,
    bijgewerkt: str = "2025-11-14T12:20:03+0100",
    status: Value = "Openstaand",
    tekst: Value = "De minister informeert de Kamer.",
    ministerie: Value = "Volksgezondheid, Welzijn en Sport",
    datum_nakoming: Value = None,
    kamerbrief: Value | list[str] = None,
    activiteit: str | None = None,
    deleted: bool = False,
    extra: Sequence[tuple[str, Value]] = (),
) -> bytes:
    """`kamerbrief` as a list writes one kamerbriefNakoming element per letter (as the live feed does);
    `extra` adds elements after the known ones (e.g. ("toegezegdAan", Ref(guid)) relations)."""
    fields: list[tuple[str, Value]] = [("toegezegdAanFractie", None), ("nummer", nummer)]
    if activiteit:
        fields.append(("activiteit", Ref(activiteit)))
    letters = (
        [("kamerbriefNakoming", k) for k in kamerbrief]
        if isinstance(kamerbrief, list)
        else [("kamerbriefNakoming", kamerbrief)]
    )
    fields += [
        ("activiteitNummer", "2025A00001"),
        ("naam", "Minister"),
        ("functie", "minister"),
        ("status", status),
        ("datumNakoming", datum_nakoming),
        *letters,
        ("ministerie", ministerie),
        ("tekst", tekst),
        *extra,
    ]
    return entry_xml("Toezegging", guid, token, bijgewerkt, fields, deleted=deleted, prefix="ns1")


def document(
    guid: str,
    token: int,
    *,
    nummer: str,
    bijgewerkt: str = "2026-02-12T16:03:30Z",
    titel: Value = "Brief",
    onderwerp: Value = "Onderwerp",
    soort: Value = "Brief regering",
    dossier: str | None = None,
    zaken: Iterable[str] = (),
    bron: str | None = None,
    datum: Value = "2026-02-12T00:00:00",
    deleted: bool = False,
    extra: Sequence[tuple[str, Value]] = (),
) -> bytes:
    fields: list[tuple[str, Value]] = []
    if bron:
        fields.append(("bronDocument", Ref(bron)))
    fields += [("zaak", Ref(z)) for z in zaken]
    if dossier:
        fields.append(("kamerstukdossier", Ref(dossier)))
    fields += [
        ("soort", soort),
        ("documentNummer", nummer),
        ("titel", titel),
        ("onderwerp", onderwerp),
        ("datum", datum),
        ("organisatie", "Volksgezondheid, Welzijn en Sport"),
        *extra,
    ]
    return entry_xml(
        "Document",
        guid,
        token,
        bijgewerkt,
        fields,
        deleted=deleted,
        attrs=None if deleted else {"contentType": "application/pdf", "contentLength": "1000"},
    )


def zaak(
    guid: str,
    token: int,
    *,
    nummer: str,
    dossier: str | None = None,
    bijgewerkt: str = "2026-02-12T16:03:21Z",
    onderwerp: Value = "Zaak",
    deleted: bool = False,
) -> bytes:
    fields: list[tuple[str, Value]] = [("kamerstukdossier", Ref(dossier))] if dossier else []
    fields += [
        ("nummer", nummer),
        ("soort", "Brief regering"),
        ("onderwerp", onderwerp),
        ("afgedaan", "false"),
    ]
    return entry_xml("Zaak", guid, token, bijgewerkt, fields, deleted=deleted)


def dossier(
    guid: str,
    token: int,
    *,
    nummer: str,
    titel: str = "Dossier",
    bijgewerkt: str = "2025-12-02T10:13:55Z",
    deleted: bool = False,
) -> bytes:
    return entry_xml(
        "Kamerstukdossier",
        guid,
        token,
        bijgewerkt,
        [("titel", titel), ("nummer", nummer), ("toevoeging", None), ("afgesloten", "false")],
        deleted=deleted,
    )


def activiteit(guid: str, token: int, *, nummer: str, bijgewerkt: str = "2025-11-13T09:11:31Z") -> bytes:
    return entry_xml(
        "Activiteit",
        guid,
        token,
        bijgewerkt,
        [
            ("soort", "Commissiedebat"),
            ("nummer", nummer),
            ("onderwerp", "Debat"),
            ("datum", "2025-11-12T00:00:00"),
        ],
    )


def page_xml(category: str, entries: Iterable[bytes]) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>Gegevensmagazijn SyncFeed</title>"
        + f'<link rel="self" href="{REAL_BASE}/Feed?category={category}"/>'.encode()
        + b"<updated>2026-02-20T09:30:12Z</updated>"
        + b"".join(entries)
        + b"</feed>"
    )


def split_page(xml: bytes) -> list[tuple[int, bytes]]:
    """(skiptoken, serialized entry) for each entry of a recorded page."""
    root = etree.fromstring(xml)
    out = []
    for entry in root.iter(f"{{{ATOM}}}entry"):
        link = next(e for e in entry.iter(f"{{{ATOM}}}link") if e.get("rel") == "next")
        out.append((skiptoken_of(link.get("href")), etree.tostring(entry)))
    return out


@dataclass
class Fault:
    kind: str  # "500" | "503" | "slow" | "truncate"
    category: str | None = None  # None: the next request of any category; "Entiteiten": of an entity by id
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class FakeFeed:
    page_size: int = 250
    delay: float = 0.0  # added to every response (to kill a worker mid-run)
    entries: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[tuple[str, int | None]] = field(default_factory=list)
    entity_requests: list[str] = field(default_factory=list)  # GUIDs asked for at Entiteiten/<guid>
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, category: str, *entries: bytes) -> None:
        with self.lock:
            items = self.entries.setdefault(category, [])
            for entry in entries:
                items.append((skiptoken_of(_href(entry)), entry))
            items.sort(key=lambda item: item[0])

    def add_page(self, category: str, xml: bytes) -> None:
        with self.lock:
            self.entries.setdefault(category, []).extend(split_page(xml))
            self.entries[category].sort(key=lambda item: item[0])

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def _take_fault(self, category: str) -> Fault | None:
        with self.lock:
            for fault in list(self.faults):
                if fault.category in (None, category):
                    self.faults.remove(fault)
                    return fault
        return None

    def page(self, category: str, skiptoken: int | None) -> bytes:
        with self.lock:
            items = [e for t, e in self.entries.get(category, []) if skiptoken is None or t > skiptoken]
        return page_xml(category, items[: self.page_size])

    def entity(self, guid: str) -> bytes | None:
        """The latest version of one entity as `Entiteiten/<guid>` answers it: the bare tkData element."""
        needle = f"<title>{guid}</title>".encode()
        with self.lock:
            found = [(t, e) for items in self.entries.values() for t, e in items if needle in e]
        if not found:
            return None
        entry = etree.fromstring(max(found, key=lambda item: item[0])[1])
        # Entries built here carry the Atom namespace only from the page around them: match by local name.
        content = next(
            e for e in entry.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "content"
        )
        return b'<?xml version="1.0" encoding="utf-8"?>' + etree.tostring(content[0])

    async def _entity_response(self, send: Any, guid: str) -> None:
        with self.lock:
            self.entity_requests.append(guid)
        fault = self._take_fault("Entiteiten")
        if fault is not None and fault.kind in ("500", "503"):
            await _respond(send, int(fault.kind), b'{"error":"An error has occurred."}', "application/json")
            return
        body = self.entity(guid)
        if body is None:
            await _respond(send, 404, b'{"error": "not found"}', "application/json")
            return
        await _respond(send, 200, body, "application/xml")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].startswith("/SyncFeed/2.0/Entiteiten/"):
            await self._entity_response(send, scope["path"].rsplit("/", 1)[1])
            return
        query = parse_qs(scope.get("query_string", b"").decode())
        category = query.get("category", [""])[0]
        raw_token = query.get("skiptoken", [None])[0]
        skiptoken = int(raw_token) if raw_token is not None else None
        if scope["path"] != "/SyncFeed/2.0/Feed" or not category:
            await _respond(send, 404, b'{"error": "not found"}', "application/json")
            return
        with self.lock:
            self.requests.append((category, skiptoken))
        if self.delay:
            await asyncio.sleep(self.delay)
        fault = self._take_fault(category)
        if fault is not None:
            if fault.kind == "500":
                await _respond(send, 500, b'{"error":"An error has occurred."}', "application/json")
                return
            if fault.kind == "503":
                headers = [(b"retry-after", fault.retry_after.encode())] if fault.retry_after else []
                await _respond(send, 503, b"Service Unavailable", "text/plain", headers)
                return
            if fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            if fault.kind == "truncate":
                body = self.page(category, skiptoken)
                await _respond(send, 200, body[: len(body) * 2 // 3], "application/atom+xml")
                return
        await _respond(send, 200, self.page(category, skiptoken), "application/atom+xml")


def _href(entry: bytes) -> str:
    start = entry.index(b'rel="next" href="') + len(b'rel="next" href="')
    return entry[start : entry.index(b'"', start)].decode().replace("&amp;", "&")


async def _respond(
    send: Any, status: int, body: bytes, content_type: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class FeedServer:
    """Serve an ASGI app with uvicorn on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", loop="asyncio", timeout_keep_alive=30
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/SyncFeed/2.0"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake feed server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def load_directory(feed: FakeFeed, root: Any) -> None:
    """Serve every recorded page under `<root>/<Category>/page-*.xml`."""
    from pathlib import Path

    for folder in sorted(Path(root).iterdir()):
        if folder.is_dir():
            for page in sorted(folder.glob("page-*.xml")):
                feed.add_page(folder.name, page.read_bytes())
