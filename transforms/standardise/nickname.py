"""Social screen names (Weibo screen_name, WeChat nickname).

Rules: width folding, traditional -> simplified, Latin lower-cased, and only letters,
digits and Chinese characters kept (emoji, ★☆♡~_-., 丶 and other decoration dropped).
Platform default names (微信用户, 用户5873...) are not names: they give None and the
issue ``default_name``. ``nickname_pinyin`` romanises the Chinese characters (小王子1990 ->
``xiaowangzi1990``); ``nickname_latin`` keeps only the letters of that
(``zhangwei1990`` -> ``zhangwei``), to compare with a name's pinyin.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

import pandas as pd

from transforms.standardise.pinyin import to_pinyin
from transforms.standardise.text import clean, is_han, to_simplified

_DEFAULT_NAMES = re.compile(
    r"(微信用户|微博用户|手机用户\d*|用户\d{4,}|新用户\d*|weibouser\d*|wxuser\d*|user\d{5,}|匿名用户|未命名)"
)
_LATIN = re.compile(r"[a-z]+")
# CJK strokes and kana used as decoration in handles (温柔且坚定丶, 小鱼ゞ): not part of the name
_DECORATION = frozenset("丶灬丿乀乂〆ゞヾ")


class NicknameResult(NamedTuple):
    """``nickname`` (standardised), ``nickname_pinyin``, ``nickname_latin`` (letters only, >= 2), ``issue``."""

    nickname: str | None = None
    nickname_pinyin: str | None = None
    nickname_latin: str | None = None
    issue: str | None = None


EMPTY = NicknameResult()
FIELDS = NicknameResult._fields


def _keep(ch: str) -> bool:
    # Letters (any script), decimal digits and Chinese characters; everything else is decoration.
    if ch in _DECORATION:
        return False
    return is_han(ch) or unicodedata.category(ch) in ("Lu", "Ll", "Lo", "Lt", "Nd")


@functools.lru_cache(maxsize=200_000)
def standardise_nickname(raw: object) -> NicknameResult:
    """Standardise one screen name. Missing input gives all None."""
    text = clean(raw)
    if text is None:
        return EMPTY
    text = to_simplified(text).lower()
    # Accents off Latin letters (é -> e) so that Latin nicknames compare with pinyin.
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)
    core = "".join(ch for ch in text if _keep(ch))
    if not core:
        return NicknameResult(issue="no_text")
    if _DEFAULT_NAMES.fullmatch(core):
        return NicknameResult(issue="default_name")
    pinyin = to_pinyin(core)
    letters = "".join(_LATIN.findall(pinyin))
    return NicknameResult(nickname=core, nickname_pinyin=pinyin, nickname_latin=letters if len(letters) >= 2 else None)


def standardise_nickname_series(values: pd.Series) -> pd.DataFrame:
    """Vectorised ``standardise_nickname``: one row per input, one column per field."""
    rows = [standardise_nickname(None if v is None or v != v else v) for v in values.astype("object")]
    return pd.DataFrame(rows, columns=list(FIELDS), index=values.index).astype("object")
