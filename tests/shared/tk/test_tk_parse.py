import datetime as dt
import uuid
from pathlib import Path

import pytest

from shared.tk.parse import MalformedPage, parse_page
from shared.tk.testing import Ref, entry_xml, page_xml

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tk"


def sample(category: str) -> bytes:
    return (FIXTURES / category / "page-0001.xml").read_bytes()


def test_toezegging_page_with_ns1_prefix():
    entries = parse_page(sample("Toezegging"))
    assert [e.token for e in entries] == [1830021, 1830022, 1830023, 1830090, 1844310]
    first, last = entries[0], entries[-1]
    assert first.kind == "toezegging"
    assert first.id == uuid.UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
    assert first.bijgewerkt == dt.datetime(2025, 11, 14, 11, 20, 3, tzinfo=dt.UTC)
    assert first.values["nummer"] == "TZ202511-041"
    assert first.values["kamerbrief_nakoming"] is None  # xsi:nil
    assert first.values["datum_nakoming"] == dt.date(2026, 2, 15)
    assert first.values["activiteit_id"] == uuid.UUID("6f5e4d3c-2b1a-4098-8765-4321fedcba98")
    assert last.values["status"] == "Voldaan" and last.values["kamerbrief_nakoming"] == "2026D07125"


def test_document_page_default_namespace_refs_and_delete_marker():
    entries = parse_page(sample("Document"))
    letter, appendix, deleted = entries
    assert letter.values["nummer"] == "2026D07125"
    assert letter.values["kamerstukdossier_id"] == uuid.UUID("5c0a2a3e-9a53-4b8e-9d42-2f1d0f3b7a10")
    assert letter.zaak_ids == [uuid.UUID("c4e2f1a0-7b3d-4e5f-8a9b-1c2d3e4f5a6b")]
    assert letter.values["content_length"] == 214332
    assert appendix.values["bron_document_id"] == letter.id
    assert appendix.values["titel"] is None
    assert deleted.verwijderd is True and deleted.values == {}


def test_naive_local_bijgewerkt_in_dossier_page():
    entries = parse_page(sample("Kamerstukdossier"))
    assert entries[0].bijgewerkt == dt.datetime(2008, 8, 26, 10, 13, 4, 627000, tzinfo=dt.UTC)
    assert entries[0].values["nummer"] == "30218"


def test_any_prefix_is_read_by_namespace_uri():
    guid = str(uuid.uuid4())
    entry = entry_xml(
        "Zaak",
        guid,
        7,
        "2026-01-01T10:00:00+0100",
        [("nummer", "2026Z00001"), ("kamerstukdossier", Ref(str(uuid.uuid4())))],
        prefix="x9",
    )
    (parsed,) = parse_page(page_xml("Zaak", [entry]))
    assert parsed.kind == "zaak" and parsed.values["nummer"] == "2026Z00001"
    assert parsed.bijgewerkt == dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)


def test_other_namespace_elements_are_ignored():
    page = page_xml(
        "Zaak", [entry_xml("Zaak", str(uuid.uuid4()), 8, "2026-01-01T10:00:00Z", [("nummer", "Z1")])]
    )
    page = page.replace(
        b"<nummer>Z1</nummer>", b'<nummer>Z1</nummer><o:nummer xmlns:o="urn:other">NO</o:nummer>'
    )
    (parsed,) = parse_page(page)
    assert parsed.values["nummer"] == "Z1"


def test_empty_feed_has_no_entries():
    assert parse_page(page_xml("Document", [])) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        sample("Toezegging")[: len(sample("Toezegging")) // 2],
        b'{"error": "An error has occurred."}',
    ],
)
def test_malformed_pages_raise(body):
    with pytest.raises(MalformedPage):
        parse_page(body)
