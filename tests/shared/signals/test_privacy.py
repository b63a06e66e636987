from __future__ import annotations

from pydantic import SecretStr

from shared.settings import Settings
from shared.signals.privacy import bsn_violations, find_bsn, passes_eleven_test, pseudonymiser


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
    for text in ("0612345678", "06-12345678", "+31 611122233", "0031611122233", "AGB 12345678",
                 "2026-01-15", "15-01-2026", "NL91ABNA0417164300", "1234567890", "111.222.333,00",
                 "123456789", "tel. 020-1234567"):
        assert find_bsn(text) == [], text


def test_violations_name_the_place_not_the_number() -> None:
    errors = bsn_violations({"a": {"b": ["ok", "zie 111222333"]}, "Client_BSN": "x"})
    locs = [e["loc"] for e in errors]
    assert ["body", "a", "b", 1] in locs and ["body", "Client_BSN"] in locs
    assert all("111222333" not in e["msg"] for e in errors)


def test_pseudonyms_are_keyed_and_versioned() -> None:
    dev = pseudonymiser(Settings(environment="test", _env_file=None))  # type: ignore[call-arg]
    a = pseudonymiser(Settings(environment="test", pseudonym_key=SecretStr("k1"), pseudonym_key_version=3,
                               _env_file=None))  # type: ignore[call-arg]
    b = pseudonymiser(Settings(environment="test", pseudonym_key=SecretStr("k2"), _env_file=None))  # type: ignore[call-arg]
    assert a("CL-1") == a("  cl-1 ") != b("CL-1") != dev("CL-1")
    assert a.version == 3 and len(a("CL-1")) == 64
