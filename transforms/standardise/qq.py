"""QQ numbers: 5-11 digits, no leading zero (Tencent started numbering at 10000)."""

from __future__ import annotations

import re
from typing import NamedTuple

from transforms.standardise.text import all_same, clean

_QQ = re.compile(r"[1-9]\d{4,10}")


class QQResult(NamedTuple):
    """``qq`` is the digits to hash; ``issue`` a reason code when the input was unusable."""

    qq: str | None = None
    issue: str | None = None


# Runs people type as a placeholder. Not every run: 12345678 is a real, long-allocated number.
PLACEHOLDER_QQ = frozenset({"10000", "12345", "123456", "1234567", "123456789", "1234567890", "987654321", "9876543210"})


def is_junk_qq(digits: str) -> bool:
    """Placeholder QQ numbers: one repeated digit, or a known placeholder run (123456, 123456789)."""
    return all_same(digits) or digits in PLACEHOLDER_QQ


def normalise_qq(raw: object) -> QQResult:
    """Standardise a QQ number given as text or a number (``QQ:12345678`` prefixes allowed)."""
    text = clean(raw)
    if text is None:
        return QQResult()
    digits = re.sub(r"^(?:qq|QQ|Qq|qQ)\s*[:：号]?\s*", "", text).replace(" ", "")
    if not _QQ.fullmatch(digits):
        return QQResult(issue="invalid_format")
    if is_junk_qq(digits):
        return QQResult(issue="junk")
    return QQResult(qq=digits)
