"""Birth dates, full or partial, into (year, month, day) where any part may be missing.

Accepted (after width folding): ``YYYY-MM-DD`` (``-``, ``/``, ``.`` or 年月日 separators,
optionally followed by a time), ``YYYYMMDD``, ``YYYY-MM``, ``YYYY``, ISO partial forms
``--MM-DD`` and ``--MM``, ``MM-DD`` (Weibo), ``5月12日``, ``5月``, a bare month ``1``-``12``
(CRM birth_month) and Chinese numerals (一九九〇年五月). Anything impossible (month 13,
30 February, a year before 1900 or in the future, a future date) gives no parts and a
reason code; the placeholders 1900-01-01 and 1970-01-01 are treated as unknown.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import NamedTuple

import pandas as pd

from transforms.standardise.text import clean

MIN_YEAR = 1900
PLACEHOLDER_DATES = frozenset({(1900, 1, 1), (1970, 1, 1)})
_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_TENS = re.compile(r"([一二三])?十([一二三四五六七八九])?")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), kind)
    for p, kind in (
        (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", "ymd"),
        (r"(\d{4})(\d{2})(\d{2})", "ymd"),
        (r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?", "ym"),
        (r"(\d{4})\s*年?", "y"),
        (r"--(\d{1,2})-(\d{1,2})", "md"),
        (r"--(\d{1,2})", "m"),
        (r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?", "md"),
        (r"(\d{1,2})\s*月?(?:\.0)?", "m"),
    )
)


class BirthDate(NamedTuple):
    """Parts of a birth date (None where unknown) and a reason code when the input was rejected."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    issue: str | None = None


EMPTY = BirthDate()
FIELDS = BirthDate._fields


def _tens(match: re.Match[str]) -> str:
    tens = "一二三".index(match.group(1)) + 1 if match.group(1) else 1
    units = "一二三四五六七八九".index(match.group(2)) + 1 if match.group(2) else 0
    return str(tens * 10 + units)


def _arabic(text: str) -> str:
    return _TENS.sub(_tens, text).translate(_DIGITS)


def check_parts(year: int | None, month: int | None, day: int | None, today: dt.date) -> BirthDate:
    """Validate parts of a birth date against the calendar and ``today``."""
    if year is not None and not (MIN_YEAR <= year <= today.year):
        return BirthDate(issue="invalid_year")
    if month is not None and not 1 <= month <= 12:
        return BirthDate(issue="invalid_month")
    if day is not None:
        if month is None:
            return BirthDate(issue="invalid_day")
        try:
            dt.date(year if year is not None else 2000, month, day)  # 2000 is a leap year: 29 Feb is possible
        except ValueError:
            return BirthDate(issue="invalid_day")
    if year is not None and month is not None and day is not None:
        if (year, month, day) in PLACEHOLDER_DATES:
            return BirthDate(issue="placeholder")
        if dt.date(year, month, day) > today:
            return BirthDate(issue="future_date")
    return BirthDate(year, month, day)


@functools.lru_cache(maxsize=100_000)
def _parse(text: str, today: dt.date) -> BirthDate:
    text = _arabic(text)
    if re.fullmatch(r"\d+\.0", text):  # a number that went through a float column
        text = text[:-2]
    for pattern, kind in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        nums = [int(g) for g in match.groups()]
        if kind == "ymd":
            return check_parts(nums[0], nums[1], nums[2], today)
        if kind == "ym":
            return check_parts(nums[0], nums[1], None, today)
        if kind == "y":
            return check_parts(nums[0], None, None, today)
        if kind == "md":
            return check_parts(None, nums[0], nums[1], today)
        return check_parts(None, nums[0], None, today)
    return BirthDate(issue="invalid_format")


def parse_birth_date(raw: object, today: dt.date | None = None) -> BirthDate:
    """Parse a full or partial birth date (see module doc). Missing input gives all None.

    ``today`` bounds the year and rejects future dates; pass one value for a whole batch so
    that every worker decides alike (default: the local date).
    """
    text = clean(raw)
    if text is None:
        return EMPTY
    return _parse(text.replace(" ", "") if "年" in text or "月" in text else text, today or dt.date.today())


def parse_birth_month(raw: object) -> BirthDate:
    """CRM ``birth_month`` (1-12, as text or number) -> BirthDate with only ``month`` set."""
    text = clean(raw)
    if text is None:
        return EMPTY
    text = _arabic(text).removesuffix("月").removesuffix(".0")
    if not text.isdigit():
        return BirthDate(issue="invalid_format")
    return check_parts(None, int(text), None, dt.date.max)


def merge_birth_dates(primary: BirthDate, secondary: BirthDate) -> BirthDate:
    """Fill the missing parts of ``primary`` from ``secondary`` when the parts both have agree.

    If they disagree, ``primary`` is kept unchanged with the issue ``conflicts_with_id_number``.
    """
    if secondary.year is None and secondary.month is None and secondary.day is None:
        return primary
    pairs = zip(primary[:3], secondary[:3])
    if any(a is not None and b is not None and a != b for a, b in pairs):
        return primary._replace(issue=primary.issue or "conflicts_with_id_number")
    merged = [a if a is not None else b for a, b in zip(primary[:3], secondary[:3])]
    return BirthDate(*merged, issue=primary.issue)


def parse_birth_date_series(values: pd.Series, today: dt.date | None = None) -> pd.DataFrame:
    """Vectorised ``parse_birth_date``: columns ``year``, ``month``, ``day`` (nullable Int32) and ``issue``."""
    today = today or dt.date.today()
    rows = [parse_birth_date(None if v is None or v != v else v, today) for v in values.astype("object")]
    frame = pd.DataFrame(rows, columns=list(FIELDS), index=values.index)
    for col in ("year", "month", "day"):
        frame[col] = frame[col].astype("Int32")
    frame["issue"] = frame["issue"].astype("object").where(frame["issue"].notna(), None)
    return frame
