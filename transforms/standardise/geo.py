"""Provinces, cities, addresses and postcodes.

Provinces and cities become the standard short names of ``regions.yaml`` (广东省 /
广东 / Guangdong -> 广东; 广州市 -> 广州); a known city implies its province; a
municipality or SAR is its own city (北京 海淀区 -> 北京 / 北京); a province field that holds
a whole location (``广东 广州``, ``广东省广州市天河区``) is split. Values not in the table are
kept (cleaned, suffix removed) with an issue code; "no place" values (其他, 海外, 中国)
become null. Addresses are folded, simplified, de-spaced and lose a leading country /
province / city that repeats the record's own. Postcodes are six digits.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd

from transforms.standardise.lexicon import load
from transforms.standardise.pinyin import to_pinyin
from transforms.standardise.text import all_same, clean, has_han, is_han, to_simplified

_PROVINCE_SUFFIX = re.compile(r"(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$")
_COUNTRY_PREFIX = re.compile(r"^(中华人民共和国|中国大陆|中国)")
_POSTCODE = re.compile(r"[0-8]\d{5}")
# Postcodes of other countries: 3-10 letters and digits with at least one digit (2600, 75008,
# SW1A1AA, 100-0001 once folded).
_OTHER_POSTCODE = re.compile(r"(?=.*\d)[0-9A-Z]{3,10}")


class Region(NamedTuple):
    """Standard ``province`` and ``city`` (None where unknown), the province's GB/T 2260 code, ``issue``."""

    province: str | None = None
    city: str | None = None
    province_code: str | None = None
    issue: str | None = None


EMPTY = Region()
FIELDS = Region._fields


def _latin_key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@functools.lru_cache(maxsize=1)
def _tables() -> dict:
    data = load("regions")
    provinces: dict[str, str] = {}
    codes: dict[str, str] = {}
    municipalities: set[str] = set()
    for p in data["provinces"]:
        name = p["name"]
        codes[name] = p["code"]
        if p.get("municipality"):
            municipalities.add(name)
        for alias in (name, p["full"]):
            provinces[alias] = name
        if not p.get("no_generated_latin"):
            provinces[_latin_key(to_pinyin(name))] = name
        for alias in p.get("latin", []):
            provinces[_latin_key(alias)] = name
    ethnic = sorted(data["ethnic_groups"], key=len, reverse=True)
    cities: dict[str, list[tuple[str, str]]] = {}

    def add_city(alias: str, province: str, city: str) -> None:
        entries = cities.setdefault(alias, [])
        if (province, city) not in entries:
            entries.append((province, city))

    overrides = data.get("city_latin", {})
    for province, names in data["cities"].items():
        for city in names:
            add_city(city, province, city)
            add_city(city + "市", province, city)
            add_city(city + "地区", province, city)
            if city.endswith("盟"):
                add_city(city[:-1], province, city)
            add_city(_latin_key(to_pinyin(city)), province, city)
            for alias in overrides.get(city, []):
                add_city(_latin_key(alias), province, city)
    for name in municipalities:
        add_city(name, name, name)
        for alias, std in list(provinces.items()):
            if std == name:
                add_city(alias, name, name)
    aliases_of_province: dict[str, list[str]] = {}
    for alias, std in provinces.items():
        if has_han(alias):
            aliases_of_province.setdefault(std, []).append(alias)
    aliases_of_city: dict[str, list[str]] = {}
    for alias, pairs in cities.items():
        if has_han(alias):
            for _, city in pairs:
                aliases_of_city.setdefault(city, []).append(alias)
    unknown = frozenset(_latin_key(x) if x.isascii() else x for x in data["unknown_places"])
    return {
        "provinces": provinces,
        "codes": codes,
        "municipalities": frozenset(municipalities),
        "cities": cities,
        "ethnic": ethnic,
        "unknown": unknown,
        # Chinese spellings of each standard name, longest first (prefix stripping in addresses).
        "aliases_of_province": {k: sorted(v, key=len, reverse=True) for k, v in aliases_of_province.items()},
        "aliases_of_city": {k: sorted(set(v), key=len, reverse=True) for k, v in aliases_of_city.items()},
        # Longest first, for prefix matching inside free text.
        "province_prefixes": sorted((a for a in provinces if has_han(a)), key=len, reverse=True),
        "city_prefixes": sorted((a for a in cities if has_han(a)), key=len, reverse=True),
    }


def _key(text: str) -> str:
    text = to_simplified(text)
    return re.sub(r"\s+", "", text) if has_han(text) else _latin_key(text)


def _strip_prefecture(text: str) -> str:
    """延边朝鲜族自治州 -> 延边; 黔东南苗族侗族自治州 -> 黔东南; 大理市 -> 大理."""
    if text.endswith("自治州"):
        text = text[: -len("自治州")]
        changed = True
        while changed:
            changed = False
            for group in _tables()["ethnic"]:
                if text.endswith(group + "族") and len(text) > len(group) + 1:
                    text = text[: -len(group) - 1]
                    changed = True
    for suffix in ("地区", "市"):
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def lookup_province(text: str) -> str | None:
    """Standard province name for a province spelling (广东省, 广东, Guangdong), else None."""
    tables = _tables()
    key = _key(text)
    return tables["provinces"].get(key) or tables["provinces"].get(_PROVINCE_SUFFIX.sub("", key))


def lookup_city(text: str) -> list[tuple[str, str]]:
    """(province, city) pairs a city spelling may denote (广州市 -> [(广东, 广州)]); empty if unknown."""
    cities = _tables()["cities"]
    key = _key(text)
    return cities.get(key) or cities.get(_strip_prefecture(key)) or []


def parse_location(raw: object) -> Region:
    """Province and city from free text such as ``广东 广州``, ``广东省广州市天河区`` or ``Guangdong Guangzhou``."""
    text = clean(raw)
    if text is None:
        return EMPTY
    tables = _tables()
    text = _COUNTRY_PREFIX.sub("", to_simplified(text).strip())
    tokens = text.split()
    if len(tokens) >= 2:  # "广东 广州", "Guangdong Guangzhou"
        return normalise_region(tokens[0], " ".join(tokens[1:]))
    key = _key(text)
    for prefix in tables["province_prefixes"]:
        if key.startswith(prefix):
            rest = key[len(prefix):]
            return normalise_region(tables["provinces"][prefix], _city_prefix(rest) if rest else None)
    city = _city_prefix(key)
    if city is not None:
        return normalise_region(None, city)
    return normalise_region(text, None)


def _city_prefix(text: str) -> str | None:
    for prefix in _tables()["city_prefixes"]:
        if text.startswith(prefix):
            return prefix
    return text or None


def _region(province: str | None, city_pairs: list[tuple[str, str]], city_text: str | None) -> Region:
    tables = _tables()
    if province in tables["municipalities"]:
        return Region(province, province, tables["codes"][province])
    if city_pairs:
        provinces = [p for p, _ in city_pairs]
        if province is None and len(set(provinces)) == 1:
            province = provinces[0]
        match = [c for p, c in city_pairs if p == province]
        if match:
            return Region(province, match[0], tables["codes"].get(province))
        if province is None:  # several provinces have a city of that name
            return Region(None, city_pairs[0][1], None, "ambiguous_city")
        return Region(province, city_pairs[0][1], tables["codes"].get(province), "inconsistent_province_city")
    if city_text is not None:
        return Region(province, _strip_prefecture(_key(city_text)), tables["codes"].get(province), "unknown_city")
    return Region(province, None, tables["codes"].get(province))


@functools.lru_cache(maxsize=100_000)
def normalise_region(province_raw: object, city_raw: object) -> Region:
    """Standardise a (province, city) pair; see the module doc for the rules."""
    tables = _tables()
    p_text, c_text = clean(province_raw), clean(city_raw)
    if p_text is not None and (_key(p_text) in tables["unknown"] or p_text in tables["unknown"]):
        p_text = None
    if c_text is not None and (_key(c_text) in tables["unknown"] or c_text in tables["unknown"]):
        c_text = None
    if p_text is None and c_text is None:
        return EMPTY
    province = lookup_province(p_text) if p_text is not None else None
    if p_text is not None and province is None:
        pairs = lookup_city(p_text)
        if pairs and c_text is None:  # a city in the province field
            return _region(None, pairs, p_text)
        if " " in p_text.strip() or len(_key(p_text)) > 4:  # a whole location in one field
            loc = parse_location(p_text)
            if loc.province is not None and c_text is None:
                return loc
            if loc.province is not None:
                province = loc.province
        if province is None:
            kept = _PROVINCE_SUFFIX.sub("", _key(p_text)) or _key(p_text)
            city = _region(None, lookup_city(c_text), c_text).city if c_text else None
            return Region(kept, city, None, "unknown_province")
    if c_text is None:
        return _region(province, [], None)
    pairs = lookup_city(c_text)
    if not pairs and has_han(c_text):
        prefix = _city_prefix(_key(c_text))
        pairs = lookup_city(prefix) if prefix else []
    return _region(province, pairs, c_text)


def normalise_address(raw: object, province: str | None = None, city: str | None = None) -> str | None:
    """Folded, simplified address without spaces next to Chinese text and without a leading
    country / province / city that repeats the record's own ``province`` / ``city``."""
    text = clean(raw)
    if text is None:
        return None
    text = to_simplified(text).lower()
    # Spaces only matter between Latin words or numbers ("room 5"); next to Chinese they are noise.
    text = re.sub(r"\s*([\u3400-\u9fff])\s*", r"\1", text)
    text = _COUNTRY_PREFIX.sub("", text)
    tables = _tables()
    if province:
        for prefix in tables["aliases_of_province"].get(province, ()):
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
    if city:
        for prefix in tables["aliases_of_city"].get(city, ()):
            # Never strip to nothing, and keep a municipality's district: 北京市海淀区 -> 海淀区.
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix):]
                break
    text = text.strip(" ,，")
    return text or None


def normalise_postcode(raw: object, chinese: bool = True) -> tuple[str | None, str | None]:
    """(postcode or None, issue code or None): six digits for a Chinese record; for a record
    outside China (``chinese=False``) 3-10 letters and digits, upper-cased, spaces and
    hyphens removed."""
    text = clean(raw)
    if text is None:
        return None, None
    text = text.replace(" ", "").removesuffix(".0")
    if not chinese:
        text = text.replace("-", "").upper()
        if not _OTHER_POSTCODE.fullmatch(text):
            return None, "invalid_format"
    elif not _POSTCODE.fullmatch(text):
        return None, "invalid_format"
    if all_same(text):
        return None, "junk"
    return text, None


def normalise_region_frame(provinces: pd.Series, cities: pd.Series) -> pd.DataFrame:
    """Vectorised ``normalise_region`` over aligned province / city Series."""
    rows = [
        normalise_region(None if p is None or p != p else p, None if c is None or c != c else c)
        for p, c in zip(provinces.astype("object"), cities.astype("object"))
    ]
    return pd.DataFrame(rows, columns=list(FIELDS), index=provinces.index).astype("object")


__all__ = [
    "Region", "lookup_city", "lookup_province", "normalise_address", "normalise_postcode",
    "normalise_region", "normalise_region_frame", "parse_location", "is_han",
]
