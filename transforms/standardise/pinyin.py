"""Pinyin without tones (ü written ``v``), built on pypinyin, with surname readings."""

from __future__ import annotations

import functools

from pypinyin import Style, lazy_pinyin

from transforms.standardise.lexicon import load


@functools.lru_cache(maxsize=1)
def _surname_readings() -> dict[str, str]:
    return {str(k): str(v) for k, v in load("names")["surname_readings"].items()}


@functools.lru_cache(maxsize=200_000)
def syllables(text: str) -> tuple[str, ...]:
    """Toneless, lower-case pinyin syllables of ``text``; non-Chinese runs are kept as one lower-cased item."""
    if not text:
        return ()
    if text.isascii():  # nothing to romanise (most Latin nicknames)
        return (text.lower(),)
    return tuple(s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors="default") if s.strip())


def to_pinyin(text: str) -> str:
    """``text`` in toneless pinyin with no separators (张伟 -> ``zhangwei``)."""
    return "".join(syllables(text))


@functools.lru_cache(maxsize=50_000)
def surname_pinyin(surname: str) -> str:
    """Pinyin of a surname using surname readings (曾 -> zeng, 单 -> shan, 尉迟 -> yuchi)."""
    readings = _surname_readings()
    if surname in readings:
        return readings[surname]
    return "".join(readings.get(ch) or to_pinyin(ch) for ch in surname)
