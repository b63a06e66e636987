"""Privacy at the door: no BSN ever stored, client references only as a keyed pseudonym.

A BSN is 9 digits passing the eleven-test (9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by 11). We look for
it as a bare 9-digit run or in the usual 3-3-3 / 4-2-3 groupings with dots, spaces or dashes, never inside
a longer digit run (phone numbers, IBANs), so 8-digit AGB codes, 10-digit phone numbers and dates pass.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from shared.settings import Settings

log = structlog.get_logger("nakoming.privacy")

# Field names that announce a BSN; such fields are refused whatever they hold.
BSN_FIELD = re.compile(r"(^|[^a-z])(bsn|burgerservicenummer|burger_service_nummer|sofinummer|sofi_nummer|"
                       r"citizen_service_number|social_security_number|ssn)([^a-z]|$)", re.I)

_RUN = re.compile(r"\d+")
_GROUPINGS = {3: (3, 3), 4: (2, 3)}  # 3-3-3 and 4-2-3, besides a bare run of 9
_SEPARATORS = " .-"
_FIELD_WORDS = ("bsn", "burger", "sofi", "citizen", "social_security", "ssn")
_COUNTRY_CODE = re.compile(r"(\+|00)31[ \-]?(\(0\))?[ \-]?$")
# Matches wherever find_bsn could find something (a 9-digit run or a 3-3-3 / 4-2-3 grouping); one C-level
# search, so the common record without any such number skips the run-by-run walk.
BSN_CANDIDATE = re.compile(r"\d\d\d(?:\d{6}|[ .\-]\d{3}[ .\-]\d{3}|\d[ .\-]\d{2}[ .\-]\d{3})")


def passes_eleven_test(digits: str) -> bool:
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0


def find_bsn(text: str) -> list[int]:
    """Character offsets of things in `text` that look like a BSN (the numbers themselves are never returned).

    Works on maximal digit runs (so a run of 10 digits never hides a 9-digit match), which is also much
    cheaper than one regex with look-arounds.
    """
    hits = []
    runs = [(m.start(), m.end()) for m in _RUN.finditer(text)]
    for i, (start, end) in enumerate(runs):
        length = end - start
        if length == 9:
            digits, stop = text[start:end], end
        elif length in _GROUPINGS and i + 2 < len(runs):
            (s2, e2), (s3, e3) = runs[i + 1], runs[i + 2]
            if not (s2 == end + 1 and s3 == e2 + 1 and text[end] in _SEPARATORS and text[e2] in _SEPARATORS
                    and (e2 - s2, e3 - s3) == _GROUPINGS[length]):
                continue
            digits, stop = text[start:end] + text[s2:e2] + text[s3:e3], e3
        else:
            continue
        if start > 0 and text[start - 1] in ".-":
            continue  # part of a longer dotted/dashed number
        if stop + 1 < len(text) and text[stop] in ".,-" and text[stop + 1].isdigit():
            continue  # 111.222.333,00 and the like
        if _COUNTRY_CODE.search(text[max(0, start - 8):start]):
            continue  # +31 6xxxxxxxx: a mobile number in international form
        if passes_eleven_test(digits):
            hits.append(start)
    return hits


def may_hold_bsn(raw: str) -> bool:
    """Cheap screen of a whole raw record: False means no BSN-like number and no BSN-like field name in it."""
    if "\\u" in raw:  # JSON escapes could hide digits from the screen
        return True
    low = raw.lower()
    if any(word in low for word in _FIELD_WORDS) and BSN_FIELD.search(raw):
        return True
    return holds_bsn(raw)


def _bsn_message(offset: int) -> str:
    return f"contains a number that passes the BSN eleven-test at character {offset}; remove it (BSNs may not be stored)"


_FIELD_MESSAGE = ("BSN fields are not accepted: this service may not store a BSN; send a client reference instead "
                  "(it is pseudonymised)")


# A walk stops after this many findings (a body of a million BSN-like strings must not cost a million errors);
# the renderer reports the first NAKOMING_MAX_FIELD_ERRORS of them.
WALK_LIMIT = 1_000
REDACTED = "<redacted: looks like a BSN>"
_NAME_MESSAGE = "this field name holds a number that passes the BSN eleven-test; BSNs may not be stored"


class _Enough(Exception):
    pass


def holds_bsn(text: str) -> bool:
    return BSN_CANDIDATE.search(text) is not None and bool(find_bsn(text))


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
    try:
        _check(data, list(loc), errors)
    except _Enough:
        pass
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
        return Pseudonymiser(settings.pseudonym_key.get_secret_value().encode(), settings.pseudonym_key_version)
    if settings.environment == "production":  # Settings already refuses this; belt and braces
        raise RuntimeError("NAKOMING_PSEUDONYM_KEY is required in production")
    if not _warned:
        log.warning("pseudonym_development_key", detail="NAKOMING_PSEUDONYM_KEY is not set: client references are "
                    "pseudonymised with a derived development key. Never use this outside development.")
        _warned = True
    return Pseudonymiser(hashlib.sha256(DEVELOPMENT_KEY_LABEL).digest(), settings.pseudonym_key_version)
