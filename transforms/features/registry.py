"""The feature registry: one YAML file that defines every output column.

``features.yaml`` lists each feature of the two feature tables with its type, unit, range,
source and definition, and whether it is a marketing feature (nulled for persons without
marketing consent).  From it come the column order and types of the tables
(:func:`conform`), the consent mask (:func:`apply_consent`) and docs/features.md
(:func:`render_catalogue`), so the catalogue cannot drift from the code: a test compares
the tables and the document with the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.features.lexicons import PACKAGE_DIR, InterestTaxonomy, LexiconError, TraitLexicon, load_interest_taxonomy, load_trait_lexicon
from transforms.features.params import FeatureParams

REGISTRY_FILE = PACKAGE_DIR / "features.yaml"
TYPES = ("string", "int", "long", "double", "date", "boolean", "map<string,double>")
TABLES = ("customer", "account")


@dataclass(frozen=True)
class Feature:
    """One column of a feature table."""

    table: str
    group: str
    name: str
    type: str
    unit: str
    range: str
    source: str
    definition: str
    marketing: bool = False


@dataclass(frozen=True)
class Registry:
    features: tuple[Feature, ...]
    tables: dict
    groups: dict

    def columns(self, table: str) -> list[str]:
        return [f.name for f in self.features if f.table == table]

    def of(self, table: str) -> list[Feature]:
        return [f for f in self.features if f.table == table]

    def marketing_columns(self, table: str = "customer") -> list[str]:
        return [f.name for f in self.features if f.table == table and f.marketing]


def build_registry(
    data: dict, taxonomy: InterestTaxonomy, traits: TraitLexicon, params: FeatureParams = FeatureParams(), source: str = "<dict>"
) -> Registry:
    """Expand and check the registry mapping (the YAML shape); raises ``LexiconError`` naming the entry."""
    expansions = {
        "interests": [(c.key, c.label) for c in taxonomy.categories],
        "life_events": [(e.key, e.label) for e in traits.life_events],
    }
    out: list[Feature] = []
    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(data.get("features") or []):
        where = f"{source}: features[{i}] ({e.get('name')})"
        missing = [k for k in ("table", "group", "name", "type", "unit", "range", "source", "def") if k not in e]
        if missing:
            raise LexiconError(f"{where}: missing {missing}")
        if e["table"] not in TABLES or e["type"] not in TYPES:
            raise LexiconError(f"{where}: table must be one of {TABLES} and type one of {TYPES}")
        if e["group"] not in (data.get("groups") or {}):
            raise LexiconError(f"{where}: group {e['group']!r} has no entry under groups")
        keys = expansions.get(e["expand"]) if "expand" in e else [(None, None)]
        if keys is None:
            raise LexiconError(f"{where}: expand must be one of {sorted(expansions)}")
        for key, label in keys:
            name = e["name"].format(key=key) if key else e["name"]
            definition = str(e["def"]).replace("{label}", str(label)) if key else str(e["def"])
            definition = definition.format(p=params)
            if (e["table"], name) in seen:
                raise LexiconError(f"{where}: column {name!r} defined twice for table {e['table']}")
            seen.add((e["table"], name))
            out.append(Feature(e["table"], e["group"], name, e["type"], str(e["unit"]), str(e["range"]), str(e["source"]), definition, bool(e.get("marketing", False))))
    return Registry(tuple(out), data.get("tables") or {}, data.get("groups") or {})


@lru_cache(maxsize=4)
def load_registry(path: str | None = None, interests_path: str | None = None, traits_path: str | None = None) -> Registry:
    """The registry from ``features.yaml`` expanded with the (default or given) taxonomies."""
    p = Path(path or REGISTRY_FILE)
    data = yaml.safe_load(p.read_text(encoding="utf-8"))
    return build_registry(data, load_interest_taxonomy(interests_path), load_trait_lexicon(traits_path), FeatureParams(), str(p))


def conform(df: DataFrame, registry: Registry, table: str) -> DataFrame:
    """Select the registry's columns of ``table`` in registry order, cast to their types.

    Raises ``ValueError`` naming the columns the registry defines but ``df`` lacks (a feature
    added to the code without its catalogue entry fails the same way: extra columns are
    reported too).
    """
    cols = registry.columns(table)
    missing = [c for c in cols if c not in df.columns]
    extra = [c for c in df.columns if c not in cols]
    if missing or extra:
        raise ValueError(
            f"feature table {table!r} does not match transforms/features/features.yaml: "
            f"missing {missing}, not registered {extra}; add the entries to the registry or the columns to the transform"
        )
    return df.select(*[F.col(f.name).cast(f.type).alias(f.name) for f in registry.of(table)])


def apply_consent(df: DataFrame, registry: Registry, consent_col: str = "marketing_consent") -> DataFrame:
    """Null every marketing feature of the customer table where ``consent_col`` is not true."""
    ok = F.coalesce(F.col(consent_col), F.lit(False))
    return df.withColumns({c: F.when(ok, F.col(c)) for c in registry.marketing_columns("customer") if c in df.columns})


def render_catalogue(registry: Registry, params: FeatureParams = FeatureParams()) -> str:
    """docs/features.md as markdown text."""
    lines = [
        "# Feature catalogue",
        "",
        "<!-- Generated from transforms/features/features.yaml by",
        "     `python -m transforms.features > docs/features.md`; do not edit by hand. -->",
        "",
        "Features of SCIM: numbers computed from social and CRM data, merged per person",
        "(the SCIM core: *merge the new social data fields, compute numeric indicators from them,",
        "merge the indicators with the CRM data*).  Built nightly by `pipelines/features.py`",
        "from the silver tables; transforms in `transforms/features/`.",
        "Windows are business days (Asia/Shanghai) ending with the snapshot day; nothing after",
        "the snapshot day is used.  \"Masked\" = nulled without marketing consent.",
        "",
    ]
    for table in TABLES:
        meta = registry.tables.get(table, {})
        feats = registry.of(table)
        lines += [f"## {meta.get('title', table)}", "", f"Table `{meta.get('path', table)}`, {len(feats)} columns. " + str(meta.get("text", "")).format(p=params), ""]
        for group, gmeta in registry.groups.items():
            in_group = [f for f in feats if f.group == group]
            if not in_group:
                continue
            lines += [f"### {gmeta.get('title', group)} ({table})", ""]
            if table == "customer" or group not in {f.group for f in registry.of("customer")}:
                lines += [str(gmeta.get("text", "")).format(p=params), ""]
            lines += ["| feature | type | unit | range | source | definition | masked |", "| --- | --- | --- | --- | --- | --- | --- |"]
            for f in in_group:
                cells = [f"`{f.name}`", f.type, f.unit, f.range, f.source, f.definition, "yes" if f.marketing else ""]
                lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"

