"""Brand and competitor lexicon: which brand a post mentions, and how often.

The lexicon is configuration (a YAML file, see ``brands.yaml`` beside this module), loaded
into an immutable :class:`BrandLexicon` that is small and picklable, so Spark ships it to
the workers inside a UDF closure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_LEXICON_PATH = Path(__file__).with_name("brands.yaml")
ROLES = ("own", "competitor")


class LexiconError(ValueError):
    """The brand lexicon file or mapping is malformed; the message names the entry and the fix."""


@dataclass(frozen=True)
class Brand:
    """One brand: its key ``name``, ``role`` (own/competitor) and every surface form that counts."""

    name: str
    role: str
    aliases: tuple[str, ...] = ()
    products: tuple[str, ...] = ()

    @property
    def surface_forms(self) -> tuple[str, ...]:
        """The name, aliases and products, de-duplicated, in that order."""
        seen: dict[str, None] = {}
        for form in (self.name, *self.aliases, *self.products):
            form = form.strip()
            if form:
                seen.setdefault(form, None)
        return tuple(seen)


@dataclass(frozen=True)
class BrandLexicon:
    """An ordered set of brands with a compiled matcher (built lazily, never pickled)."""

    brands: tuple[Brand, ...]
    source: str = "<dict>"
    _matcher: list = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "BrandLexicon":
        """Build a lexicon from a parsed YAML mapping.

        Accepts ``{"brands": [{"name"|"brand", "role"|"type", "aliases", "products"}, ...]}``
        or the sample-data shape ``{"own": {...}, "competitors": [{...}, ...]}``, where a
        product may be a mapping (its ``name`` counts; a generic ``short`` name such as 面霜
        does not) and ``official_weibo`` / ``official_wechat`` account names count as aliases.  Raises :class:`LexiconError`
        naming ``source`` and the entry when a brand has no name or an unknown role, or when
        two brands claim the same surface form (a mention must belong to one brand).
        """
        entries: list[tuple[dict, str | None]] = []
        if isinstance(data, dict) and "brands" in data:
            entries = [(e, None) for e in (data["brands"] or [])]
        elif isinstance(data, dict) and ("own" in data or "competitors" in data):
            own = data.get("own") or []
            own = own if isinstance(own, list) else [own]
            entries = [(e, "own") for e in own] + [(e, "competitor") for e in (data.get("competitors") or [])]
        else:
            raise LexiconError(f"brand lexicon {source}: expected a mapping with a 'brands' list (see {DEFAULT_LEXICON_PATH.name})")
        brands: list[Brand] = []
        owner: dict[str, str] = {}
        for i, (entry, implied_role) in enumerate(entries):
            if not isinstance(entry, dict):
                raise LexiconError(f"brand lexicon {source}: entry {i} is not a mapping")
            name = str(entry.get("name") or entry.get("brand") or "").strip()
            if not name:
                raise LexiconError(f"brand lexicon {source}: entry {i} has no 'name'")
            role = str(entry.get("role") or entry.get("type") or implied_role or "").strip().lower()
            role = {"ours": "own", "our": "own", "brand": "own", "competitors": "competitor"}.get(role, role)
            if role not in ROLES:
                raise LexiconError(f"brand lexicon {source}: brand {name!r} has role {role!r}; use one of {ROLES}")
            aliases = _strings(entry.get("aliases")) + _strings([entry.get("official_weibo"), entry.get("official_wechat")])
            brand = Brand(name, role, aliases, _strings(entry.get("products")))
            for form in brand.surface_forms:
                key = form.lower()
                if key in owner and owner[key] != name:
                    raise LexiconError(
                        f"brand lexicon {source}: {form!r} is listed for both {owner[key]!r} and {name!r}; keep it under one brand"
                    )
                owner[key] = name
            brands.append(brand)
        return cls(tuple(brands), source)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.brands)

    def role_of(self, name: str) -> str | None:
        return next((b.role for b in self.brands if b.name == name), None)

    def words(self) -> list[str]:
        """Every surface form, for adding to a segmenter's dictionary."""
        return [form for b in self.brands for form in b.surface_forms]

    def count_mentions(self, text: str | None) -> dict[str, int]:
        """Mentions per brand name in ``text`` (brands not mentioned are absent).

        Longest surface form wins and matches never overlap (``悦肤雪肌霜`` counts once, not
        as ``悦肤`` plus ``雪肌霜``); Latin forms match case-insensitively and only as whole
        words (``ELD`` does not match inside ``HELD``).  ``text`` should be simplified
        Chinese, as the lexicon is.
        """
        if not text:
            return {}
        pattern, form_to_brand = self._compiled()
        counts: dict[str, int] = {}
        for form in pattern.findall(text.lower()):
            brand = form_to_brand[form]
            counts[brand] = counts.get(brand, 0) + 1
        return counts

    def spans(self, text: str | None) -> list[tuple[int, int]]:
        """``(start, end)`` of every mention in ``text``, in order, as :meth:`count_mentions`
        finds them (so that segmentation can keep each one a single word).  Empty for a text
        whose lower-casing changes its length (a few non-Chinese letters do): offsets into
        the lower-cased text would not fit the original."""
        if not text:
            return []
        lower = text.lower()
        if len(lower) != len(text):
            return []
        return [m.span() for m in self._compiled()[0].finditer(lower)]

    def _compiled(self):
        if not self._matcher:
            form_to_brand = {form.lower(): b.name for b in self.brands for form in b.surface_forms}
            parts = []
            for form in sorted(form_to_brand, key=lambda f: (-len(f), f)):
                piece = re.escape(form)
                if form.isascii():
                    # Whole Latin words: no letter or digit before or after.  The look-behind
                    # sits after the first character (it checks the character before that one)
                    # so that every branch starts with a literal: the regex engine then skips
                    # ahead to a possible first character, about 20x faster on text without
                    # a mention than a pattern whose branches start with a look-behind.
                    first = re.escape(form[0])
                    piece = first + r"(?<![a-z0-9]" + first + ")" + re.escape(form[1:]) + r"(?![a-z0-9])"
                parts.append(piece)
            pattern = re.compile("|".join(parts)) if parts else re.compile(r"(?!x)x")
            self._matcher.append((pattern, form_to_brand))
        return self._matcher[0]

    def __getstate__(self):
        # The compiled pattern is rebuilt on the worker: cheap, and keeps the pickle small.
        return {"brands": self.brands, "source": self.source}

    def __setstate__(self, state):
        object.__setattr__(self, "brands", state["brands"])
        object.__setattr__(self, "source", state["source"])
        object.__setattr__(self, "_matcher", [])


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    out = []
    for v in value:
        if isinstance(v, dict):
            v = v.get("name")
        if v is not None and str(v).strip():
            out.append(str(v).strip())
    return tuple(out)


def load_brand_lexicon(path: str | Path | None = None) -> BrandLexicon:
    """Load a brand lexicon YAML file (the packaged ``brands.yaml`` when ``path`` is None)."""
    path = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LexiconError(f"brand lexicon {path}: file not found; pass an existing YAML file") from None
    except yaml.YAMLError as exc:
        raise LexiconError(f"brand lexicon {path}: not valid YAML ({exc})") from None
    return BrandLexicon.from_dict(data, source=str(path))
