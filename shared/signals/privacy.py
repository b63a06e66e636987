"""Privacy at the door: no BSN ever stored, client references only as a keyed pseudonym.

A BSN is 9 digits passing the eleven-test (9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by 11). This module is THE
screen for it: request bodies, field names, query parameters, headers, stored errors, audit details, error
messages and log lines all go through `find_bsn` / `holds_bsn`.

We look for 9 digits in a run of their own, or written in the groups BSNs are written in (3-3-3, 4-2-3, digit by
digit) joined by separators, where a separator is any character of the Unicode categories space (Zs, Zl, Zp),
dash (Pd), connector (Pc), control (Cc) or format (Cf), or anything NFKC makes a full stop: so a non-breaking or
narrow no-break space, a tab or newline, an en dash, a double space, a zero-width space or a soft hyphen hides
nothing (an invisible format character is read both as a separator and as nothing). Digits are Unicode decimal
digits (fullwidth and Arabic-Indic too). A run of 10 or more digits is never a BSN (phone numbers, IBAN tails), nor
are 9 digits followed by a decimal comma (an amount: 111.222.333,00), preceded by a country code (+31 6 ...) or
split otherwise (TZ202602-011, 1.111.222.333, 31839-1004), so 8-digit AGB codes, 10-digit phone numbers, dates and
TK numbers pass; `dossier-111222333` and `1.111222333` do not.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from shared.settings import Settings

log = structlog.get_logger("nakoming.privacy")

# Field names that announce a BSN; such fields are refused whatever they hold.
BSN_FIELD = re.compile(
    r"(^|[^a-z])(bsn|burgerservicenummer|burger_service_nummer|sofinummer|sofi_nummer|"
    r"citizen_service_number|social_security_number|ssn)([^a-z]|$)",
    re.I,
)

_RUN = re.compile(r"\d+")  # str patterns: \d is any Unicode decimal digit
_SEPARATOR_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Pd", "Pc", "Cc", "Cf"})
MAX_GAP = (
    3  # separator characters between two groups of one number ("111 - 222 - 333", CR LF, a double space)
)
GROUPINGS = frozenset({(3, 3, 3), (4, 2, 3), (1,) * 9})  # how a BSN is written in groups
_FIELD_WORDS = ("bsn", "burger", "sofi", "citizen", "social_security", "ssn")
_COUNTRY_CODE = re.compile(r"(\+|00)31\W{0,3}(\(0\)\W{0,3})?$")
# A superset of what find_bsn finds (9 digits with at most MAX_GAP non-word characters between any two): one
# C-level search, so the common text without any such number skips the walk.
BSN_CANDIDATE = re.compile(rf"\d(?:[\W_]{{0,{MAX_GAP}}}\d){{8}}")
# Our own identifiers: the digit groups of a UUID (1b2c3d4e-1234-5678-9abc-...) join into 9 digits that pass the
# eleven-test about once in a hundred, so a UUID is not read as a number.
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def is_separator(char: str) -> bool:
    """A character that may stand between the digit groups of one number (by Unicode category, not by a list)."""
    return unicodedata.category(char) in _SEPARATOR_CATEGORIES or unicodedata.normalize("NFKC", char) == "."


def _digits(text: str) -> str:
    return text if text.isascii() else "".join(str(unicodedata.decimal(c)) for c in text)


def passes_eleven_test(digits: str) -> bool:
    if len(digits) != 9:
        return False
    try:
        digits = _digits(digits)
    except ValueError:  # not decimal digits (superscripts, letters)
        return False
    if digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0


Group = tuple[int, int, int]  # start, end, digits in it


def _chains(text: str, join_invisible: bool) -> tuple[list[list[Group]], bool]:
    """Digit groups, in chains of groups joined by 1..MAX_GAP separator characters, and whether a gap was made of
    invisible format characters only (Cf: a zero-width space, a soft hyphen). With `join_invisible` such a gap
    joins its two groups into one, as a reader sees them."""
    chains: list[list[Group]] = []
    invisible = False
    previous_end = -MAX_GAP - 2
    for m in _RUN.finditer(text):
        start, end = m.span()
        gap = text[previous_end:start] if chains and 0 < start - previous_end <= MAX_GAP else None
        if gap is not None and all(unicodedata.category(c) == "Cf" for c in gap):
            invisible = True
        if (
            gap is not None
            and join_invisible
            and invisible
            and all(unicodedata.category(c) == "Cf" for c in gap)
        ):
            first, _, digits = chains[-1][-1]
            chains[-1][-1] = (first, end, digits + end - start)
        elif gap is not None and all(is_separator(c) for c in gap):
            chains[-1].append((start, end, end - start))
        else:
            chains.append([(start, end, end - start)])
        previous_end = end
    return chains, invisible


def _candidates(chain: list[Group]) -> list[list[Group]]:
    """The groups of a chain that may spell a BSN: any single group of 9 digits (also inside a longer chain:
    1.111222333), or the whole chain when it is written the way BSNs are (3-3-3, 4-2-3, digit by digit). Other
    splits of 9 digits are identifiers and amounts (TZ202602-011, 1.111.222.333), not BSNs."""
    found = [[group] for group in chain if group[2] == 9]
    if len(chain) > 1 and tuple(digits for _, _, digits in chain) in GROUPINGS:
        found.append(chain)
    return found


def bsn_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every BSN-like number in `text`."""
    if "-" in text:  # UUIDs masked, offsets kept
        text = _UUID.sub(lambda m: "x" * len(m.group()), text)
    spans: list[tuple[int, int]] = []
    chains, invisible = _chains(text, False)
    if invisible:  # read both ways: the invisible character as a separator, and as nothing at all
        chains += _chains(text, True)[0]
    for chain in chains:
        for groups in _candidates(chain):
            start, stop = groups[0][0], groups[-1][1]
            if stop + 1 < len(text) and text[stop] == "," and text[stop + 1].isdigit():
                continue  # 111.222.333,00: an amount
            if _COUNTRY_CODE.search(text[max(0, start - 12) : start]):
                continue  # +31 6xxxxxxxx: a mobile number in international form
            if passes_eleven_test("".join(c for a, b, _ in groups for c in text[a:b] if c.isdecimal())):
                spans.append((start, stop))
    return sorted(set(spans))


def find_bsn(text: str) -> list[int]:
    """Character offsets of things in `text` that look like a BSN (the numbers themselves are never returned)."""
    return [start for start, _ in bsn_spans(text)] if BSN_CANDIDATE.search(text) else []


def redact_bsn(text: str) -> str:
    """`text` with every BSN-like number replaced by REDACTED (for log lines, where withholding all says too little)."""
    if not BSN_CANDIDATE.search(text):
        return text
    merged: list[list[int]] = []
    for start, stop in bsn_spans(text):  # sorted; the two readings of an invisible character may overlap
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    for start, stop in reversed(merged):
        text = text[:start] + REDACTED + text[stop:]
    return text


def may_hold_bsn(raw: str) -> bool:
    """Cheap screen of a whole raw record: False means no BSN-like number and no BSN-like field name in it."""
    if "\\" in raw:  # JSON escapes (\u00a0, \t) could hide digits or separators from the screen
        return True
    low = raw.lower()
    if any(word in low for word in _FIELD_WORDS) and BSN_FIELD.search(raw):
        return True
    return holds_bsn(raw)


def _bsn_message(offset: int) -> str:
    return f"contains a number that passes the BSN eleven-test at character {offset}; remove it (BSNs may not be stored)"


_FIELD_MESSAGE = (
    "BSN fields are not accepted: this service may not store a BSN; send a client reference instead "
    "(it is pseudonymised)"
)


# A walk stops after this many findings (a body of a million BSN-like strings must not cost a million errors);
# the renderer reports the first NAKOMING_MAX_FIELD_ERRORS of them.
WALK_LIMIT = 1_000
REDACTED = "<redacted: looks like a BSN>"
_NAME_MESSAGE = "this field name holds a number that passes the BSN eleven-test; BSNs may not be stored"


class _Enough(Exception):
    pass


def holds_bsn(text: str) -> bool:
    return bool(find_bsn(text))


def safe_loc(loc: Any) -> list[Any]:
    """An error location with every BSN-like part (a field or parameter named like a number) redacted."""
    return [REDACTED if isinstance(part, str) and holds_bsn(part) else part for part in loc]


def safe_text(text: str) -> str:
    """A message that quotes something BSN-like is withheld whole (last line of defence in the renderer)."""
    return "(withheld: the message quoted a number that looks like a BSN)" if holds_bsn(text) else text


def _add(errors: list[dict[str, Any]], error: dict[str, Any]) -> None:
    errors.append(error)
    if len(errors) > WALK_LIMIT:
        raise _Enough


_NAME_CLEAN, _NAME_BSN_FIELD, _NAME_BSN_NUMBER = 0, 1, 2


def _name_kind(key: str) -> int:
    """What a field name says: a BSN field, a BSN-like number, or nothing."""
    if BSN_FIELD.search(key):
        return _NAME_BSN_FIELD
    if len(key) >= 9 and holds_bsn(key):
        return _NAME_BSN_NUMBER
    return _NAME_CLEAN


# A record's field names repeat request after request: remembered, but only short ones (a hostile body's
# names may be as long as the body allows; the cache must not keep thousands of them).
_remembered_name_kind = functools.lru_cache(maxsize=1024)(_name_kind)
_REMEMBERED_NAME_LENGTH = 64


def _check(value: Any, loc: list[str | int], errors: list[dict[str, Any]]) -> None:
    if isinstance(value, str):
        # One C-level search first: most strings hold nothing find_bsn could match.
        if len(value) >= 9 and BSN_CANDIDATE.search(value) is not None:
            for offset in find_bsn(value):
                _add(errors, {"loc": loc, "msg": _bsn_message(offset), "type": "bsn"})
    elif isinstance(value, Mapping):
        for key, item in value.items():
            key = str(key)
            kind = _remembered_name_kind(key) if len(key) <= _REMEMBERED_NAME_LENGTH else _name_kind(key)
            if kind == _NAME_BSN_FIELD:
                _add(errors, {"loc": [*loc, key], "msg": _FIELD_MESSAGE, "type": "bsn"})
            elif kind == _NAME_BSN_NUMBER:
                _add(errors, {"loc": [*loc, REDACTED], "msg": _NAME_MESSAGE, "type": "bsn"})
            elif item.__class__ is str and (len(item) < 9 or BSN_CANDIDATE.search(item) is None):
                continue  # the common case, without building its location
            else:
                _check(item, [*loc, key], errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, [*loc, index], errors)


def bsn_violations(data: Any, loc: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """Problem `errors` entries for BSN-like field names and BSN-like numbers in any string value.

    The messages say where (field and character offset), never what. At most WALK_LIMIT + 1 entries.
    """
    errors: list[dict[str, Any]] = []
    with contextlib.suppress(_Enough):
        _check(data, list(loc), errors)
    return errors


DEVELOPMENT_KEY_LABEL = b"nakoming-development-pseudonym-key (not secret, never for production)"


@dataclass(frozen=True)
class Pseudonymiser:
    key: bytes
    version: int

    def __call__(self, client_reference: str) -> str:
        normalised = " ".join(client_reference.split()).casefold()
        return hmac.digest(self.key, normalised.encode(), "sha256").hex()  # = hmac.new(...).hexdigest(), in C


_warned = False


def pseudonymiser(settings: Settings) -> Pseudonymiser:
    """The keyed hash from NAKOMING_PSEUDONYM_KEY; outside production a fixed, loudly logged development key."""
    global _warned
    if settings.pseudonym_key is not None:
        return Pseudonymiser(
            settings.pseudonym_key.get_secret_value().encode(), settings.pseudonym_key_version
        )
    if settings.environment == "production":  # Settings already refuses this; belt and braces
        raise RuntimeError("NAKOMING_PSEUDONYM_KEY is required in production")
    if not _warned:
        log.warning(
            "pseudonym_development_key",
            detail="NAKOMING_PSEUDONYM_KEY is not set: client references are "
            "pseudonymised with a derived development key. Never use this outside development.",
        )
        _warned = True
    return Pseudonymiser(hashlib.sha256(DEVELOPMENT_KEY_LABEL).digest(), settings.pseudonym_key_version)
