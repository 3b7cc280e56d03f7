"""Phone numbers -> E.164, with masked numbers, landlines and junk handled explicitly.

Rules (see docs/standardisation.md):
- width folding (１３８ -> 138), separators ``space - ( ) . /`` removed, extensions (转 123,
  ext 12) dropped;
- country prefixes ``+86``, ``0086``, ``86`` before an 11-digit mobile are removed;
- China mobiles (11 digits, 1[3-9]...) are validated with ``phonenumbers`` (its metadata
  knows every allocated prefix, 16x/17x/19x included);
- masked numbers (``138****5678``, ``138xxxx5678``) give ``prefix3``/``last4`` only, never
  an E.164 value (so they are never hashed);
- junk (all one digit, the last eight digits one digit, ascending/descending runs, known
  placeholders such as 13800138000) gives nothing but the issue code ``junk``;
- landlines with an area code are accepted (``kind="landline"``) unless
  ``allow_landline=False``; without an area code they are rejected.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd
import phonenumbers
from phonenumbers import PhoneNumberType

from transforms.standardise.text import all_same, clean, is_sequential

_EXTENSION = re.compile(r"(?:转|分机|ext\.?|extension|#)\s*\d{1,6}$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-().\/]")
_MASK_CHARS = re.compile(r"[*xX•●○□#]")
_MASKED_BODY = re.compile(r"[\d*]+")
_MOBILE_PREFIX = re.compile(r"1[3-9]\d")
# Numbers that are valid in the numbering plan but are placeholders or operator services.
KNOWN_JUNK = frozenset({"13800138000", "13800000000", "13900000000", "13888888888", "13999999999", "18888888888"})
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_LANDLINE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class PhoneResult(NamedTuple):
    """A standardised phone number.

    ``e164`` is set only for a real, non-junk, unmasked number (the value to hash);
    ``prefix3``/``last4`` only for China mobiles, masked or not; ``kind`` is one of
    ``mobile``, ``landline``, ``foreign``, ``masked`` or None; ``issue`` is a reason code
    when the input was present but unusable (or only partly usable).
    """

    e164: str | None = None
    prefix3: str | None = None
    last4: str | None = None
    kind: str | None = None
    issue: str | None = None

    @property
    def masked(self) -> bool:
        return self.kind == "masked"


EMPTY = PhoneResult()
FIELDS = PhoneResult._fields


def _strip_country(body: str) -> str:
    """Remove a China country prefix in front of an 11-character mobile body."""
    for prefix in ("+86", "0086", "86"):
        if body.startswith(prefix) and len(body) - len(prefix) == 11 and body[len(prefix)] == "1":
            return body[len(prefix):]
    if body.startswith("+86"):
        return "0" + body[3:] if not body[3:].startswith("0") else body[3:]
    if body.startswith("0086"):
        return "0" + body[4:] if not body[4:].startswith("0") else body[4:]
    return body


def is_junk_digits(digits: str) -> bool:
    """True for placeholder numbers: one repeated digit, the last eight digits one digit,
    a whole-number ascending/descending run, or a known placeholder."""
    return (
        all_same(digits)
        or (len(digits) >= 8 and all_same(digits[-8:]))
        or is_sequential(digits, min_len=len(digits))
        or digits in KNOWN_JUNK
    )


def _masked(body: str) -> PhoneResult:
    body = _MASK_CHARS.sub("*", body)
    if not _MASKED_BODY.fullmatch(body) or len(body) < 7 or len(body) > 11:
        return PhoneResult(issue="invalid_format")
    prefix3 = body[:3] if _MOBILE_PREFIX.fullmatch(body[:3]) else None
    last4 = body[-4:] if body[-4:].isdigit() and body[0] == "1" else None
    if prefix3 is None and last4 is None:
        return PhoneResult(kind="masked", issue="masked_unusable")
    return PhoneResult(prefix3=prefix3, last4=last4, kind="masked")


@functools.lru_cache(maxsize=100_000)
def _mobile_block_is_valid(block: str) -> bool:
    """Whether the 7-digit block (号段 + HLR code) holds China mobile numbers.

    phonenumbers' China patterns never constrain the last four digits, so one check per
    block is exact, and much cheaper than one per number.
    """
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(block + "0000"))
    return phonenumbers.number_type(number) in _MOBILE_TYPES


def _mobile(digits: str) -> PhoneResult:
    if is_junk_digits(digits):
        return PhoneResult(issue="junk")
    if not _mobile_block_is_valid(digits[:7]):
        return PhoneResult(issue="invalid_mobile")
    return PhoneResult(e164="+86" + digits, prefix3=digits[:3], last4=digits[-4:], kind="mobile")


def _landline(digits: str, allow_landline: bool) -> PhoneResult:
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return PhoneResult(issue="invalid_landline")
    national = str(number.national_number)
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in _LANDLINE_TYPES:
        return PhoneResult(issue="invalid_landline")
    if is_junk_digits(national[-7:]):
        return PhoneResult(issue="junk")
    if not allow_landline:
        return PhoneResult(issue="landline_rejected")
    return PhoneResult(e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind="landline")


def _foreign(body: str) -> PhoneResult:
    text = "+" + body[2:] if body.startswith("00") else body
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return PhoneResult(issue="invalid_format")
    if not phonenumbers.is_valid_number(number):
        return PhoneResult(issue="invalid_foreign")
    if is_junk_digits(str(number.national_number)):
        return PhoneResult(issue="junk")
    return PhoneResult(e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind="foreign")


@functools.lru_cache(maxsize=200_000)
def normalise_phone(raw: object, allow_landline: bool = True) -> PhoneResult:
    """Standardise one phone number (any format). Missing input gives an all-None result."""
    text = clean(raw)
    if text is None:
        return EMPTY
    text = _EXTENSION.sub("", text).strip()
    body = _SEPARATORS.sub("", text)
    if not body:
        return PhoneResult(issue="invalid_format")
    if _MASK_CHARS.search(body.lstrip("+")) and re.search(r"\d", body):
        return _masked(_strip_country(body).lstrip("+"))
    if not re.fullmatch(r"\+?\d+", body):
        return PhoneResult(issue="invalid_format")
    national = _strip_country(body)
    if national.startswith("+") or (national.startswith("00") and not national.startswith("0086")):
        return _foreign(national)
    if len(national) == 12 and national.startswith("01"):
        national = national[1:]  # a trunk 0 typed before a mobile number
    if len(national) == 11 and national[0] == "1":
        return _mobile(national)
    if national[0] == "0" and 10 <= len(national) <= 12:
        return _landline(national, allow_landline)
    if len(national) == 11 and is_sequential(national, 11):
        return PhoneResult(issue="junk")
    if national[:3] in ("400", "800") or len(national) == 5:
        return PhoneResult(issue="service_number")
    if 7 <= len(national) <= 8:
        return PhoneResult(issue="landline_no_area_code" if allow_landline else "landline_rejected")
    if is_junk_digits(national):
        return PhoneResult(issue="junk")
    return PhoneResult(issue="invalid_format")


def normalise_phone_series(values: pd.Series, allow_landline: bool = True) -> pd.DataFrame:
    """Vectorised ``normalise_phone``: one row per input, columns ``PhoneResult`` fields + ``masked``.

    Each distinct value is standardised once.
    """
    uniques = pd.unique(values.astype("object"))
    results = {u: normalise_phone(None if u is None or u != u else u, allow_landline) for u in uniques}
    frame = pd.DataFrame([results[v] for v in values.astype("object")], columns=list(FIELDS), index=values.index)
    frame = frame.astype("object").where(frame.notna(), None)
    frame["masked"] = frame["kind"].eq("masked")
    return frame
