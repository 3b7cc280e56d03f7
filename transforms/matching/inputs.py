"""The matching view of standardised person records.

:func:`prepare_matching_input` takes standardised person records (the contract table in
``docs/identity.md``; any missing column is treated as null) and adds the derived columns
the deterministic pass and the Splink model compare. It never drops a record: a record
without any usable attribute simply links to nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

#: Columns of the standardised person record that matching reads.
STANDARD_COLUMNS = [
    "source", "record_id", "full_name", "surname", "given_name", "name_pinyin", "nickname",
    "nickname_pinyin", "nickname_latin", "surname_pinyin", "gender", "birth_year", "birth_month", "birth_day", "phone_hash",
    "phone_prefix3", "phone_last4", "email_hash", "id_number_hash", "qq_hash",
    "wechat_unionid_hash", "wechat_openid_hash", "province", "city", "address", "postcode",
]

#: Unique identifiers, in priority order (highest first): the deterministic pass links on them.
DETERMINISTIC_KEYS = [
    "wechat_unionid_hash", "id_number_hash", "wechat_openid_hash", "phone_hash", "email_hash", "qq_hash",
]

#: A surname held by fewer than this share of the records that have one is "rare".
RARE_SURNAME_SHARE = 0.01

_NON_LETTERS = re.compile(r"[^a-z]+")
_HAS_DIGIT = re.compile(r"\d")

# Surname characters whose usual reading differs from the common one (pypinyin reads the
# character out of context); the standardiser handles full names, this covers surnames.
_SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao", "查": "zha",
    "盖": "ge", "乐": "yue", "覃": "qin", "尉": "yu", "缪": "miao", "召": "shao", "翟": "zhai",
    "长孙": "zhangsun", "万俟": "moqi", "秘": "bi", "种": "chong", "折": "she", "黑": "he",
    "重": "chong", "员": "yun", "繁": "po", "过": "guo", "牟": "mu", "沈": "shen", "葛": "ge",
}


@lru_cache(maxsize=1)
def _lazy_pinyin():
    from pypinyin import lazy_pinyin  # heavy dictionary: import once, on first use

    return lazy_pinyin


@lru_cache(maxsize=1)
def surname_pinyins() -> frozenset[str]:
    """Pinyin of the common and compound Chinese surnames of the standardiser's lexicon."""
    from transforms.standardise.lexicon import load

    data = load("names")
    names = list(data["common_surnames"]) + list(data["compound_surnames"])
    return frozenset(p for p in (surname_pinyin(n) for n in names) if p and len(p) >= 2)


def embedded_surnames(key: object) -> tuple[str | None, str | None]:
    """Surname pinyin a handle starts with and one it ends with (longest match each).

    Social handles carry the surname in Chinese order (``zhangjiamin``, ``林小文``) or in
    Western order after an English name (``ericzhang``, ``lily周``); these candidates let a
    CRM record that holds only a surname meet the handle.
    """
    if not isinstance(key, str) or len(key) < 3:
        return None, None
    known = surname_pinyins()
    first = next((key[:n] for n in range(min(6, len(key)), 1, -1) if key[:n] in known), None)
    last = next((key[-n:] for n in range(min(6, len(key) - 1), 1, -1) if key[-n:] in known), None)
    return first, last


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless Mandarin syllable pypinyin knows (``ü`` as ``v``), vowel-less interjections left out."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            n = to_normal(r).replace("ü", "v")
            if n.isascii() and n.isalpha() and any(v in n for v in "aeiouv"):
                out.add(n)
    return frozenset(out)


@lru_cache(maxsize=200_000)
def syllable_key(letters: object) -> str | None:
    """The pinyin syllables of a letter string, sorted: word order does not matter.

    ``liqianyun``, ``qianyunli`` (given name first, Western order) and ``li qian yun`` all
    give ``li qian yun``. The split prefers long syllables and backtracks when the rest
    does not split. None when the string is not wholly pinyin (``vivianzhao``) or has
    fewer than two syllables or five letters: such keys say little about a person.
    """
    if not isinstance(letters, str) or len(letters) < 5 or len(letters) > 40:
        return None
    known = pinyin_syllables()
    n = len(letters)

    @lru_cache(maxsize=None)
    def split(i: int) -> tuple[str, ...] | None:
        if i == n:
            return ()
        for j in range(min(n, i + 6), i, -1):
            if letters[i:j] in known:
                rest = split(j)
                if rest is not None:
                    return (letters[i:j], *rest)
        return None

    parts = split(0)
    if not parts or len(parts) < 2:
        return None
    return " ".join(sorted(parts))


def _letters(text: str) -> str:
    return _NON_LETTERS.sub("", text.lower())


def surname_pinyin(surname: object) -> str | None:
    """Pinyin of a surname (surname readings applied), Latin surnames lower-cased."""
    if not isinstance(surname, str) or not surname.strip():
        return None
    s = surname.strip()
    if s in _SURNAME_READINGS:
        return _SURNAME_READINGS[s]
    if s.isascii():
        return _letters(s) or None
    first = _SURNAME_READINGS.get(s[0])
    rest = s[1:] if first else s
    out = (first or "") + "".join(_lazy_pinyin()(rest))
    return _letters(out) or None


def handle_key(nickname: object, nickname_pinyin: object = None) -> str | None:
    """A screen name reduced to its letters: pinyin for Chinese, digits and symbols dropped.

    ``宋小美_88`` and ``songxiaomei1990`` both give ``songxiaomei``; keys shorter than three
    letters carry no evidence and give None. ``nickname_pinyin`` (the standardiser's
    romanisation, when present) is preferred over romanising ``nickname`` here.
    """
    if isinstance(nickname_pinyin, str) and nickname_pinyin.strip():
        key = _letters(nickname_pinyin)
    elif isinstance(nickname, str) and nickname.strip():
        key = _letters("".join(_lazy_pinyin()(nickname.strip())))
    else:
        return None
    return key if len(key) >= 3 else None


def _ensure_columns(pdf: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in STANDARD_COLUMNS if c not in pdf.columns]
    if missing:
        pdf = pdf.assign(**{c: None for c in missing})
    return pdf


def _blank_to_null(s: pd.Series) -> pd.Series:
    s = s.astype("object")
    return s.where(s.notna() & (s.astype(str).str.strip() != ""), None)


def _int_or_null(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("Int64")


def latin_name_parts(full_name: object, name_pinyin: object, surname: object = None,
                     given_name: object = None) -> tuple[str | None, str | None, str | None]:
    """(first token, last token, sorted tokens) of a Latin-script name; all None otherwise.

    The order of a Latin name is rarely stated ("Neumann Michaela" and "Michaela Neumann"
    both occur), so the comparison looks at both tokens in either order; ``first``/``last``
    are positions, not roles. A name stated as ``Surname, Given`` (surname and given name
    known) gives ``given`` first and ``surname`` last. A one-token name has no last token.
    """
    if not isinstance(full_name, str) or not full_name.isascii():
        return None, None, None
    if isinstance(surname, str) and isinstance(given_name, str):
        tokens = [*given_name.lower().split(), *surname.lower().split()]
    elif isinstance(name_pinyin, str):
        tokens = [t for t in (_letters(x) for x in name_pinyin.split()) if t]
    else:
        tokens = [_letters(full_name)]
    tokens = [t for t in tokens if t]
    if not tokens:
        return None, None, None
    return tokens[0], tokens[-1] if len(tokens) > 1 else None, " ".join(sorted(tokens))


def street_parts(address: object) -> tuple[str | None, str | None]:
    """(house number, street words) of a Latin-script address: ``8 stanley street miami``
    gives ``8`` and ``stanley street miami``; None for Chinese or empty addresses."""
    if not isinstance(address, str) or not address.isascii():
        return None, None
    tokens = address.split()
    number = next((t for t in tokens if _HAS_DIGIT.search(t)), None)
    words = " ".join(t for t in tokens if not _HAS_DIGIT.search(t)) or None
    return number, words


def prepare_matching_input(records: pd.DataFrame) -> pd.DataFrame:
    """Standardised person records -> the matching view, one row per input row.

    Adds ``unique_id`` (``source:record_id``), ``name_full`` / ``name_full_pinyin`` (only
    when the given name is known: a bare surname is not a full name), ``surname_pinyin``,
    ``nick_key`` (see :func:`handle_key`), ``syll_key`` (see :func:`syllable_key`), ``phone_p3l4`` (prefix3 + last4, filled for
    masked numbers too), ``nick_sn_first`` / ``nick_sn_last`` (see :func:`embedded_surnames`),
    ``name_first`` / ``name_last`` / ``latin_name`` for Latin-script names (see
    :func:`latin_name_parts`), ``birth_ymd`` (``YYYYMMDD`` when the full date is known),
    ``addr_number`` / ``addr_street`` (see :func:`street_parts`), and normalises blanks to null. Raises ValueError naming the fix
    when ``source`` or ``record_id`` is missing or null, or when (source, record_id) repeats.
    """
    for col in ("source", "record_id"):
        if col not in records.columns:
            raise ValueError(f"person records have no '{col}' column; every record needs source and record_id")
    pdf = _ensure_columns(records.copy())
    for col in ("source", "record_id"):
        bad = pdf[col].isna() | (pdf[col].astype(str).str.strip() == "")
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise ValueError(f"person record at row {row} has an empty '{col}'; fill it or remove the record")
    pdf["source"] = pdf["source"].astype(str).str.strip()
    pdf["record_id"] = pdf["record_id"].astype(str).str.strip()
    pdf["unique_id"] = pdf["source"] + ":" + pdf["record_id"]
    dup = pdf["unique_id"].duplicated(keep=False)
    if dup.any():
        example = pdf.loc[dup, "unique_id"].iloc[0]
        raise ValueError(
            f"{int(dup.sum())} person records share a (source, record_id), e.g. {example!r}; "
            "deduplicate the input (keep the latest version of each record)"
        )
    text_cols = [c for c in STANDARD_COLUMNS if c not in ("source", "record_id", "birth_year", "birth_month", "birth_day")]
    for col in text_cols:
        pdf[col] = _blank_to_null(pdf[col])
    for col in ("birth_year", "birth_month", "birth_day"):
        pdf[col] = _int_or_null(pdf[col])
    pdf["gender"] = pdf["gender"].where(pdf["gender"].isin(["m", "f"]), None)
    has_given = pdf["given_name"].notna() & pdf["full_name"].notna()
    pdf["name_full"] = pdf["full_name"].where(has_given, None)
    name_pinyin = pdf["name_pinyin"].map(lambda v: _letters(v) if isinstance(v, str) else None)
    pdf["name_full_pinyin"] = name_pinyin.where(has_given & name_pinyin.str.len().ge(3).fillna(False), None)
    # the standardiser's romanisations win; they are derived here only for hand-made records
    given_sp = pdf["surname_pinyin"].map(lambda v: _letters(v) or None if isinstance(v, str) else None)
    pdf["surname_pinyin"] = given_sp.where(given_sp.notna(), pdf["surname"].map(surname_pinyin))
    romanised = pdf["nickname_latin"].where(pdf["nickname_latin"].notna(), pdf["nickname_pinyin"])
    pdf["nick_key"] = [handle_key(n, p) for n, p in zip(pdf["nickname"], romanised)]
    # syllables of the handle (social records) or of the full name (records with a name):
    # compares 李倩芸 / liqianyun / qianyunli / 倩芸李 as the same three syllables
    letters = pdf["nick_key"].where(pdf["nick_key"].notna(), pdf["name_full_pinyin"])
    pdf["syll_key"] = [syllable_key(v) for v in letters]
    # a surname shared by under 1% of the named records ("rare") says more than 王 or 李
    named = pdf["surname_pinyin"].dropna()
    share = named.map(named.value_counts(normalize=True))
    pdf["surname_rare"] = share.lt(RARE_SURNAME_SHARE).reindex(pdf.index).astype("boolean")
    embedded = [embedded_surnames(k) for k in pdf["nick_key"]]
    pdf["nick_sn_first"] = [e[0] for e in embedded]
    pdf["nick_sn_last"] = [e[1] for e in embedded]
    # Latin-script names, full dates and street addresses (public benchmarks, Western CRMs)
    latin = [latin_name_parts(f, p, s, g) for f, p, s, g in
             zip(pdf["full_name"], pdf["name_pinyin"], pdf["surname"], pdf["given_name"])]
    pdf["name_first"] = [x[0] for x in latin]
    pdf["name_last"] = [x[1] for x in latin]
    pdf["latin_name"] = [x[2] for x in latin]
    full_date = pdf["birth_year"].notna() & pdf["birth_month"].notna() & pdf["birth_day"].notna()
    pdf["birth_ymd"] = None
    if full_date.any():
        d = pdf.loc[full_date]
        pdf.loc[full_date, "birth_ymd"] = (d["birth_year"].astype(int).map("{:04d}".format)
                                           + d["birth_month"].astype(int).map("{:02d}".format)
                                           + d["birth_day"].astype(int).map("{:02d}".format))
    street = [street_parts(a) for a in pdf["address"]]
    pdf["addr_number"] = [x[0] for x in street]
    pdf["addr_street"] = [x[1] for x in street]
    has_p3l4 = pdf["phone_prefix3"].notna() & pdf["phone_last4"].notna()
    pdf["phone_p3l4"] = (pdf["phone_prefix3"].astype(str) + pdf["phone_last4"].astype(str)).where(has_p3l4, None)
    return pdf.reset_index(drop=True)
