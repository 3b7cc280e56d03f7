"""Loading and checking the YAML taxonomies of the feature package.

``interests.yaml`` (interest categories and their terms) and ``traits.yaml`` (life events,
education levels, income signal groups) ship inside this package; a deployment can point at
its own files.  Loading validates the structure and raises :class:`LexiconError` naming the
file and the entry, so a typo fails the run before any Spark work starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
INTERESTS_FILE = PACKAGE_DIR / "interests.yaml"
TRAITS_FILE = PACKAGE_DIR / "traits.yaml"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class LexiconError(ValueError):
    """A taxonomy file is malformed; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class TermGroup:
    """A named group of terms: an interest category, a life event, an education level, an income signal."""

    key: str
    label: str
    terms: tuple[str, ...]
    weight: float = 1.0
    term_weights: tuple[tuple[str, float], ...] = ()

    def weight_of(self, term: str) -> float:
        return dict(self.term_weights).get(term, 1.0)


@dataclass(frozen=True)
class InterestTaxonomy:
    """Interest categories in file order (the order of the ``interest_<key>`` columns)."""

    categories: tuple[TermGroup, ...]
    source: str = "<dict>"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.categories)

    def term_rows(self) -> list[tuple[str, str, float]]:
        """``(term, category_key, term_weight)`` for every term of every category."""
        return [(t, c.key, c.weight_of(t)) for c in self.categories for t in c.terms]

    def all_terms(self) -> list[str]:
        return sorted({t for c in self.categories for t in c.terms})


@dataclass(frozen=True)
class TraitLexicon:
    """Life events, education levels and income signal groups."""

    life_events: tuple[TermGroup, ...]
    education: tuple[TermGroup, ...]
    income: tuple[TermGroup, ...]
    source: str = "<dict>"


def _groups(data: Any, section: str, source: str, weighted: bool) -> tuple[TermGroup, ...]:
    if not isinstance(data, list) or not data:
        raise LexiconError(f"{source}: section {section!r} must be a non-empty list of entries")
    seen: set[str] = set()
    out = []
    for i, entry in enumerate(data):
        where = f"{source}: {section}[{i}]"
        if not isinstance(entry, dict):
            raise LexiconError(f"{where} must be a mapping with key and terms")
        key = entry.get("key")
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise LexiconError(f"{where}: key {key!r} must be lower-case letters, digits and '_' (it names a column)")
        if key in seen:
            raise LexiconError(f"{where}: key {key!r} appears twice; keep one entry per key")
        seen.add(key)
        terms = entry.get("terms") or []
        extra = entry.get("weighted") or {}
        if not isinstance(terms, list) or not isinstance(extra, dict):
            raise LexiconError(f"{where} ({key}): terms must be a list and weighted a mapping term -> weight")
        all_terms = [str(t).strip() for t in [*terms, *extra.keys()]]
        if not all_terms or any(not t for t in all_terms):
            raise LexiconError(f"{where} ({key}): needs at least one non-empty term")
        term_weights = []
        for term, w in extra.items():
            if not isinstance(w, (int, float)) or w <= 0:
                raise LexiconError(f"{where} ({key}): weight of {term!r} must be a positive number, not {w!r}")
            term_weights.append((str(term).strip(), float(w)))
        weight = entry.get("weight", 1.0)
        if weighted and (not isinstance(weight, (int, float)) or not 0 < weight <= 1):
            raise LexiconError(f"{where} ({key}): weight must be in (0, 1], not {weight!r}")
        out.append(
            TermGroup(
                key=key,
                label=str(entry.get("label") or key),
                terms=tuple(dict.fromkeys(all_terms)),
                weight=float(weight),
                term_weights=tuple(term_weights),
            )
        )
    return tuple(out)


def _read(path: str | Path) -> tuple[dict, str]:
    path = Path(path)
    if not path.is_file():
        raise LexiconError(f"lexicon file {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LexiconError(f"lexicon file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"lexicon file {path} must hold a mapping at the top level")
    return data, str(path)


def interest_taxonomy_from_dict(data: dict, source: str = "<dict>") -> InterestTaxonomy:
    """Build an :class:`InterestTaxonomy` from ``{"categories": [...]}`` (the YAML shape)."""
    return InterestTaxonomy(_groups(data.get("categories"), "categories", source, weighted=False), source)


def trait_lexicon_from_dict(data: dict, source: str = "<dict>") -> TraitLexicon:
    """Build a :class:`TraitLexicon` from ``{"life_events", "education", "income"}`` (the YAML shape)."""
    return TraitLexicon(
        life_events=_groups(data.get("life_events"), "life_events", source, weighted=False),
        education=_groups(data.get("education"), "education", source, weighted=True),
        income=_groups(data.get("income"), "income", source, weighted=True),
        source=source,
    )


@lru_cache(maxsize=8)
def load_interest_taxonomy(path: str | None = None) -> InterestTaxonomy:
    """The interest taxonomy from ``path`` (default: the packaged ``interests.yaml``)."""
    data, source = _read(path or INTERESTS_FILE)
    return interest_taxonomy_from_dict(data, source)


@lru_cache(maxsize=8)
def load_trait_lexicon(path: str | None = None) -> TraitLexicon:
    """The trait lexicon from ``path`` (default: the packaged ``traits.yaml``)."""
    data, source = _read(path or TRAITS_FILE)
    lex = trait_lexicon_from_dict(data, source)
    for required in ("elite",):
        if required not in {g.key for g in lex.education}:
            raise LexiconError(f"{source}: education needs a level with key {required!r} (it drives edu_elite_school)")
    if "stable_job" not in {g.key for g in lex.income}:
        raise LexiconError(f"{source}: income needs a group with key 'stable_job' (it drives income_stable_job)")
    return lex
