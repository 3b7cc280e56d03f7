"""Gender codes: ``m`` / ``f`` / None from the spellings the sources use."""

from __future__ import annotations

from transforms.standardise.text import clean

_CODES = {
    "m": "m", "male": "m", "man": "m", "男": "m", "男性": "m", "先生": "m", "1": "m",
    "f": "f", "female": "f", "woman": "f", "女": "f", "女性": "f", "女士": "f", "2": "f",
}


def normalise_gender(raw: object) -> str | None:
    """``m`` or ``f`` for male/female spellings (m/f, male/female, 男/女, WeChat sex 1/2), else None.

    Unknown codes (``n``, ``0``, ``未知``, anything else) give None.
    """
    text = clean(raw)
    if text is None:
        return None
    return _CODES.get(text.lower())
