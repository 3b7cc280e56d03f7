"""Text primitives shared by every standardiser: width folding, script conversion, cleanup.

The OpenCC converter is built lazily, once per process (so once per Spark Python worker),
and never pickled: Spark ships only the functions, each worker builds its own converter.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Characters that NFKC leaves alone but people type in place of ASCII punctuation.
_EXTRA_FOLD = str.maketrans(
    {
        "\u3002": ".",  # 。 ideographic full stop (abc@qq。com)
        "\uff61": ".",  # ｡ half-width ideographic full stop
        "\u3000": " ",  # ideographic space (NFKC folds it too; kept for clarity)
        "\u2014": "-",  # — em dash
        "\u2013": "-",  # – en dash
        "\u2012": "-",
        "\u2015": "-",
        "\u2212": "-",  # − minus sign
        "\u30fc": "-",  # ー katakana prolonged sound mark, often typed as a dash in phones
        "\u3001": ",",  # 、
        "\u00b7": "·",
    }
)
_SPACES = re.compile(r"\s+")
# Values that mean "no value" in the sources (CRM exports, platform APIs).
NULL_TOKENS = frozenset({"", "null", "none", "nan", "n/a", "na", "-", "--", "无", "未知", "暂无", "不详", "未填写", "未设置"})


def fold_width(text: str) -> str:
    """NFKC-fold ``text``: full-width letters, digits and punctuation become ASCII.

    Also maps the ideographic full stop and the dash family to ``.`` and ``-``.
    """
    return unicodedata.normalize("NFKC", text).translate(_EXTRA_FOLD)


def clean(value: object) -> str | None:
    """Return ``value`` as a width-folded, trimmed string with single spaces, or None.

    None, NaN, empty strings and the usual null tokens ("null", "无", "未知", ...) give None.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            value = int(value)
    text = _SPACES.sub(" ", fold_width(str(value))).strip()
    if text.lower() in NULL_TOKENS:
        return None
    return text


def strip_spaces(text: str) -> str:
    """``text`` without any whitespace."""
    return _SPACES.sub("", text)


@functools.lru_cache(maxsize=1)
def _t2s():
    # Import inside: the opencc extension is loaded only where conversion is needed.
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=200_000)
def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (OpenCC ``t2s``); other characters unchanged."""
    if not text or text.isascii():
        return text
    return _t2s().convert(text)


def is_han(ch: str) -> bool:
    """True for a CJK unified ideograph (basic block and extensions A-F)."""
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2EBEF
        or 0xF900 <= code <= 0xFAFF
        or code == 0x3007  # 〇
    )


def has_han(text: str) -> bool:
    """True if ``text`` contains at least one Chinese character."""
    if text.isascii():  # the common case for Latin text, ids and numbers: no per-character scan
        return False
    return any(is_han(ch) for ch in text)


def all_same(text: str) -> bool:
    """True if ``text`` is non-empty and made of one repeated character."""
    return bool(text) and text.count(text[0]) == len(text)


_ASCENDING = "0123456789" * 3
_DESCENDING = _ASCENDING[::-1]


def is_sequential(digits: str, min_len: int = 6) -> bool:
    """True if ``digits`` is a run of consecutive digits (ascending or descending, wrapping 9->0)."""
    if len(digits) < min_len or len(digits) > 20 or not digits.isdigit():
        return False
    return digits in _ASCENDING or digits in _DESCENDING
