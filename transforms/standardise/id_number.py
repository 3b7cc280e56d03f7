"""Chinese resident identity card numbers (GB 11643-1999).

18 characters: 6-digit region code, birth date ``YYYYMMDD``, 3-digit sequence (odd = male),
check character (ISO 7064 MOD 11-2, ``X`` for 10). Old 15-digit numbers (``YYMMDD``, 19xx)
are upgraded to 18. Only numbers whose check character, region and birth date are valid
are returned (and so hashed); the rest give a reason code.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import NamedTuple

from transforms.standardise.dates import BirthDate, check_parts
from transforms.standardise.text import all_same, clean

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# First two digits of GB/T 2260 codes of the provincial-level divisions (incl. 71 台湾, 81/82 港澳).
_PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
     "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"}
)


class IdNumberResult(NamedTuple):
    """``id_number`` (18 characters, upper-case X) to hash, the birth date and gender it encodes, ``issue``."""

    id_number: str | None = None
    birth: BirthDate = BirthDate()
    gender: str | None = None
    issue: str | None = None


EMPTY = IdNumberResult()


def check_character(first17: str) -> str:
    """The MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


@functools.lru_cache(maxsize=100_000)
def _normalise(text: str, today: dt.date) -> IdNumberResult:
    text = text.replace(" ", "").replace("-", "").upper()
    if re.fullmatch(r"\d{15}", text):
        first17 = text[:6] + "19" + text[6:]
        text = first17 + check_character(first17)
    elif not re.fullmatch(r"\d{17}[\dX]", text):
        return IdNumberResult(issue="invalid_format")
    if all_same(text[:17]):
        return IdNumberResult(issue="junk")
    if check_character(text[:17]) != text[17]:
        return IdNumberResult(issue="bad_check_digit")
    if text[:2] not in _PROVINCE_CODES:
        return IdNumberResult(issue="invalid_region")
    birth = check_parts(int(text[6:10]), int(text[10:12]), int(text[12:14]), today)
    if birth.issue is not None:
        return IdNumberResult(issue=f"birth_date_{birth.issue}")
    gender = "m" if int(text[16]) % 2 == 1 else "f"
    return IdNumberResult(id_number=text, birth=birth, gender=gender)


def normalise_id_number(raw: object, today: dt.date | None = None) -> IdNumberResult:
    """Validate and normalise one identity card number. Missing input gives all None."""
    text = clean(raw)
    if text is None:
        return EMPTY
    return _normalise(text, today or dt.date.today())
