"""Person names: script, honorifics, surname / given name split, pinyin.

Chinese names are converted to simplified script (OpenCC t2s), stripped of everything but
Chinese characters, stripped of an honorific (宋小姐 -> 宋, gender ``f``), split into surname
and given name (compound surnames first: 欧阳娜娜 -> 欧阳 / 娜娜) and romanised with surname
readings (曾 -> zeng). Latin names are lower-cased, accents removed, split into tokens;
their token order is not meaningful, so ``name_tokens`` holds the tokens sorted.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

import pandas as pd

from transforms.standardise.lexicon import load
from transforms.standardise.pinyin import surname_pinyin, to_pinyin
from transforms.standardise.text import clean, has_han, is_han, to_simplified

_BRACKETED = re.compile(r"[(\[{<（【《][^)\]}>）】》]*[)\]}>）】》]")
_LATIN_TOKEN = re.compile(r"[a-z]+")


class NameResult(NamedTuple):
    """A standardised person name.

    ``full_name`` has no spaces and may be a surname alone; ``name_pinyin`` is
    ``"<surname> <given>"`` in pinyin for Chinese names, the lower-case tokens in their
    given order for Latin names; ``name_tokens`` is the same tokens sorted (order-free
    comparison of 张伟 / "Wei Zhang"); ``gender`` is the one an honorific implies.
    """

    full_name: str | None = None
    surname: str | None = None
    given_name: str | None = None
    name_pinyin: str | None = None
    surname_pinyin: str | None = None
    given_pinyin: str | None = None
    name_tokens: str | None = None
    gender: str | None = None
    issue: str | None = None


EMPTY = NameResult()
FIELDS = NameResult._fields


@functools.lru_cache(maxsize=1)
def _lex() -> dict:
    data = load("names")
    return {
        "compound": frozenset(data["compound_surnames"]),
        "common": frozenset(data["common_surnames"]),
        # Longest first, so 老板娘 wins over 老板.
        "honorifics": sorted(data["honorifics"].items(), key=lambda kv: -len(kv[0])),
        "single": dict(data["single_honorifics"]),
        "prefixes": tuple(data["diminutive_prefixes"]),
        "placeholder_given": tuple(sorted(data["placeholder_given"], key=len, reverse=True)),
        "latin_honorifics": dict(data["latin_honorifics"]),
        "junk": frozenset(str(x).lower() for x in data["junk_names"]),
    }


def split_surname(name: str) -> tuple[str, str | None]:
    """Split a simplified Chinese name into (surname, given name or None); compound surnames first."""
    if name[:2] in _lex()["compound"]:
        return name[:2], name[2:] or None
    return name[0], name[1:] or None


def _is_surname_only(text: str) -> bool:
    return (len(text) == 1 and is_han(text)) or text in _lex()["compound"]


def strip_honorific(name: str) -> tuple[str, str | None, bool]:
    """Remove an honorific or diminutive from a simplified Chinese name.

    Returns (name without it, implied gender or None, whether one was found).
    """
    lex = _lex()
    for word, gender in lex["honorifics"]:
        if name.endswith(word) and len(name) > len(word):
            return name[: -len(word)], gender, True
    last = name[-1:]
    if last in lex["single"] and _is_surname_only(name[:-1]):
        return name[:-1], lex["single"][last], True
    if len(name) == 2 and name[0] in lex["prefixes"] and name[1] in lex["common"]:
        return name[1], None, True
    return name, None, False


def _chinese(text: str) -> NameResult:
    text = to_simplified(text)
    text = _BRACKETED.sub("", text)
    lex = _lex()
    core = "".join(ch for ch in text if is_han(ch) or ch == "·")
    core = core.strip("·")
    if not core:
        return NameResult(issue="no_name")
    for word, gender in lex["honorifics"]:
        if core == word:  # 先生, or "Song小姐" whose Latin part cannot be kept
            return NameResult(gender=gender, issue="honorific_only")
    if core in lex["junk"]:
        return NameResult(issue="junk")
    core, gender, _ = strip_honorific(core)
    if "·" in core:  # transliterated (minority / foreign) name: no surname convention
        full = core.replace("·", "")
        pinyin = to_pinyin(full)
        return NameResult(full_name=full, name_pinyin=pinyin, name_tokens=pinyin, gender=gender)
    surname, given = split_surname(core)
    if given is not None:
        for placeholder in lex["placeholder_given"]:
            if given == placeholder:
                given = None
                break
    sp = surname_pinyin(surname)
    gp = to_pinyin(given) if given else None
    parts = [p for p in (sp, gp) if p]
    return NameResult(
        full_name=surname + (given or ""),
        surname=surname,
        given_name=given,
        name_pinyin=" ".join(parts),
        surname_pinyin=sp,
        given_pinyin=gp,
        name_tokens=" ".join(sorted(parts)),
        gender=gender,
    )


def _latin(text: str) -> NameResult:
    ascii_text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    ).lower()
    lex = _lex()
    surname_first = "," in ascii_text
    tokens = _LATIN_TOKEN.findall(ascii_text)
    gender = None
    if len(tokens) > 1 and tokens[0] in lex["latin_honorifics"]:
        gender = lex["latin_honorifics"][tokens[0]]
        tokens = tokens[1:]
    if not tokens:
        return NameResult(issue="no_name")
    if " ".join(tokens) in lex["junk"]:
        return NameResult(issue="junk")
    surname = given = None
    if surname_first and len(tokens) > 1:  # "Smith, John": the order is stated
        surname, given = tokens[0], " ".join(tokens[1:])
    return NameResult(
        full_name="".join(tokens),
        surname=surname,
        given_name=given,
        name_pinyin=" ".join(tokens),
        surname_pinyin=surname,
        given_pinyin=given.replace(" ", "") if given else None,
        name_tokens=" ".join(sorted(tokens)),
        gender=gender,
    )


@functools.lru_cache(maxsize=200_000)
def standardise_name(raw: object) -> NameResult:
    """Standardise one person name (Chinese in either script, or Latin). Missing input gives all None."""
    text = clean(raw)
    if text is None:
        return EMPTY
    if has_han(text):
        return _chinese(text)
    if re.search(r"[A-Za-z\u00c0-\u024f]", text):
        return _latin(text)
    return NameResult(issue="no_name")


def standardise_name_series(values: pd.Series) -> pd.DataFrame:
    """Vectorised ``standardise_name``: one row per input, one column per ``NameResult`` field."""
    rows = [standardise_name(None if v is None or v != v else v) for v in values.astype("object")]
    return pd.DataFrame(rows, columns=list(FIELDS), index=values.index).astype("object")
