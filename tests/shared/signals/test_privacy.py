from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import SecretStr

from shared.settings import Settings
from shared.signals.privacy import (
    REDACTED,
    bsn_violations,
    find_bsn,
    passes_eleven_test,
    pseudonymiser,
    redact_bsn,
)
from tests.api.test_robust_properties import bsns, digits_of


def test_eleven_test() -> None:
    assert passes_eleven_test("111222333")
    assert passes_eleven_test("123456782")
    assert not passes_eleven_test("123456789")
    assert not passes_eleven_test("000000000")
    assert not passes_eleven_test("12345678")


def test_find_bsn_true_positives() -> None:
    assert find_bsn("bsn 123456782") == [4]
    assert find_bsn("123.456.782") == [0]
    assert find_bsn("nummer 1234 56 782.") == [7]
    assert find_bsn("x123456782y") == [1]


def test_find_bsn_false_positives() -> None:
    for text in (
        "0612345678",
        "06-12345678",
        "+31 611122233",
        "0031611122233",
        "AGB 12345678",
        "2026-01-15",
        "15-01-2026",
        "NL91ABNA0417164300",
        "1234567890",
        "111.222.333,00",
        "123456789",
        "tel. 020-1234567",
    ):
        assert find_bsn(text) == [], text


def test_violations_name_the_place_not_the_number() -> None:
    errors = bsn_violations({"a": {"b": ["ok", "zie 111222333"]}, "Client_BSN": "x"})
    locs = [e["loc"] for e in errors]
    assert ["body", "a", "b", 1] in locs and ["body", "Client_BSN"] in locs
    assert all("111222333" not in e["msg"] for e in errors)


def test_pseudonyms_are_keyed_and_versioned() -> None:
    dev = pseudonymiser(Settings(environment="test", _env_file=None))  # type: ignore[call-arg]
    a = pseudonymiser(
        Settings(environment="test", pseudonym_key=SecretStr("k1"), pseudonym_key_version=3, _env_file=None)
    )  # type: ignore[call-arg]
    b = pseudonymiser(Settings(environment="test", pseudonym_key=SecretStr("k2"), _env_file=None))  # type: ignore[call-arg]
    assert a("CL-1") == a("  cl-1 ") != b("CL-1") != dev("CL-1")
    assert a.version == 3 and len(a("CL-1")) == 64


def test_separators_by_unicode_category() -> None:
    for text in (
        "111\u00a0222\u00a0333",
        "111\u202f222\u202f333",
        "111\t222\t333",
        "111\n222\n333",
        "111\u2013222\u2013333",
        "111  222  333",
        "dossier-111222333",
        "1.111222333",
        "111\u200b222333",
        "1112\u00ad22\u00ad333",
        "\uff11\uff11\uff11\uff12\uff12\uff12\uff13\uff13\uff13",
        "bsn:1-1-1-2-2-2-3-3-3",
    ):
        assert find_bsn(text), repr(text)
    # A gap longer than MAX_GAP, or a character that is no separator, ends a number; other splits are identifiers.
    assert find_bsn("111    222    333") == [] and find_bsn("111:222:333") == []
    assert find_bsn("TZ202602-011") == find_bsn("1.111.222.333") == find_bsn("31839-1004") == []
    assert (
        passes_eleven_test("202602011")
        and passes_eleven_test("111222333")
        and passes_eleven_test("318391004")
    )


def test_redaction_keeps_the_rest() -> None:
    assert redact_bsn("zie dossier-111 222 333, bel 0612345678") == f"zie dossier-{REDACTED}, bel 0612345678"


@given(
    bsn=bsns(),
    before=st.text(st.characters(exclude_categories=("Nd",)), max_size=6),
    after=st.text(st.characters(exclude_categories=("Nd",)), max_size=6),
)
@hsettings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_separators_anywhere(bsn: str, before: str, after: str) -> None:
    text = before + bsn + after
    assert find_bsn(text), repr(text)
    assert digits_of(bsn) not in digits_of(redact_bsn(text))


def test_uuids_are_identifiers_not_numbers() -> None:
    assert [u for u in (str(uuid.uuid4()) for _ in range(5000)) if find_bsn(u)] == []
    assert find_bsn(f"zie {uuid.uuid4()} en bsn 111 222 333") != []


def test_an_invisible_character_is_read_both_ways() -> None:
    for text in (
        "111\u200b222333",
        "1\u200b1\u200b1\u200b2\u200b2\u200b2\u200b3\u200b3\u200b3",
        "11\u00ad1222333",
    ):
        assert find_bsn(text) == [0] and redact_bsn(f"x {text} y") == f"x {REDACTED} y", repr(text)
