"""Privacy at the door: no BSN ever stored, client references only as a keyed pseudonym.

A BSN is 9 digits passing the eleven-test (9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by 11). We look for
it as a bare 9-digit run or in the usual 3-3-3 / 4-2-3 groupings with dots, spaces or dashes, never inside
a longer digit run (phone numbers, IBANs), so 8-digit AGB codes, 10-digit phone numbers and dates pass.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from shared.settings import Settings

log = structlog.get_logger("nakoming.privacy")

# Field names that announce a BSN; such fields are refused whatever they hold.
BSN_FIELD = re.compile(r"(^|[^a-z])(bsn|burgerservicenummer|burger_service_nummer|sofinummer|sofi_nummer|"
                       r"citizen_service_number|social_security_number|ssn)([^a-z]|$)", re.I)

_CANDIDATE = re.compile(
    r"(?<![\d.\-])(?:\d{9}|\d{3}[ .\-]\d{3}[ .\-]\d{3}|\d{4}[ .\-]\d{2}[ .\-]\d{3})(?![\d]|[.,\-]\d)"
)

_COUNTRY_CODE = re.compile(r"(\+|00)31[ \-]?(\(0\))?[ \-]?$")


def passes_eleven_test(digits: str) -> bool:
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1))) - int(digits[8])
    return total % 11 == 0


def find_bsn(text: str) -> list[int]:
    """Character offsets of things in `text` that look like a BSN (the numbers themselves are never returned)."""
    hits = []
    for match in _CANDIDATE.finditer(text):
        if _COUNTRY_CODE.search(text[max(0, match.start() - 8):match.start()]):
            continue  # +31 6xxxxxxxx: a mobile number in international form
        digits = re.sub(r"\D", "", match.group(0))
        if passes_eleven_test(digits):
            hits.append(match.start())
    return hits


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any, str | None]]:
    """Every nested value with its location and, for mapping entries, its key."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield loc + (str(key),), item, str(key)
            yield from _walk(item, loc + (str(key),))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield loc + (index,), item, None
            yield from _walk(item, loc + (index,))


def bsn_violations(data: Any, loc: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """Problem `errors` entries for BSN-like field names and BSN-like numbers in any string value.

    The messages say where (field and character offset), never what.
    """
    errors: list[dict[str, Any]] = []
    if isinstance(data, str):
        for offset in find_bsn(data):
            errors.append({"loc": list(loc), "msg": f"contains a number that passes the BSN eleven-test at "
                           f"character {offset}; remove it (BSNs may not be stored)", "type": "bsn"})
        return errors
    for path, value, key in _walk(data, loc):
        if key is not None and BSN_FIELD.search(key):
            errors.append({"loc": list(path), "msg": "BSN fields are not accepted: this service may not store a "
                           "BSN; send a client reference instead (it is pseudonymised)", "type": "bsn"})
            continue
        if isinstance(value, str):
            for offset in find_bsn(value):
                errors.append({"loc": list(path), "msg": f"contains a number that passes the BSN eleven-test at "
                               f"character {offset}; remove it (BSNs may not be stored)", "type": "bsn"})
    return errors


DEVELOPMENT_KEY_LABEL = b"nakoming-development-pseudonym-key (not secret, never for production)"


@dataclass(frozen=True)
class Pseudonymiser:
    key: bytes
    version: int

    def __call__(self, client_reference: str) -> str:
        normalised = " ".join(client_reference.split()).casefold()
        return hmac.new(self.key, normalised.encode(), hashlib.sha256).hexdigest()


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
