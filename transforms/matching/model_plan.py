"""The Splink model chosen from the records themselves: comparisons, blocking rules, EM passes, prior.

A fixed list of comparisons written for our three sources breaks on any other data: a
comparison on a column nobody fills has only a null level, EM passes blocked on such a
column find no pairs, and a prior estimated from identifiers nobody shares is zero. So
:func:`plan_model` looks at the matching view first (:func:`profile`: how many records fill
each column, how many pairs an equality on it makes) and takes

* each **comparison** whose evidence enough records carry (``min_fill``); where two
  comparisons describe the same evidence in different forms (partial Chinese birthdays vs
  full dates, Chinese addresses vs street addresses) the form most records hold wins;
* each **prediction blocking rule** whose columns are filled and whose pairs stay below
  ``max_rule_pairs_per_record`` times the records (at least ``rule_pairs_floor``): a rule on an
  unselective column would make a quadratic block;
* **EM passes**: the rules of :data:`EM_RULES` that make between ``em_min_pairs`` and
  ``em_max_pairs`` pairs (larger ones are sampled by Splink), then more from
  :data:`EM_FALLBACK_RULES` until every chosen comparison is left free by at least one pass;
* **prior rules**: shared unique identifiers when the records have them, else agreement on
  a full name and a full date of birth, else none (the engine then uses a documented
  default, see :func:`default_prior`).

On our own sources every original comparison, rule and pass is chosen, in the original
order, so the model there is the one it always was. The rules here are about the data,
never about one data set: they hold for any records mapped to the person-record contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from transforms.matching import latin_comparisons as lc
from transforms.matching import splink_model as sm


@dataclass(frozen=True)
class Rule:
    """An equality blocking rule: every (left column, right column) pair must be equal.

    ``needs``: comparisons the rule serves; when given, the rule is used only in a model
    that has one of them (a full-date rule is no use to a model of partial birthdays).
    """

    on: tuple[tuple[str, str], ...]
    needs: tuple[str, ...] = ()

    @classmethod
    def same(cls, *columns: str, needs: tuple[str, ...] = ()) -> "Rule":
        return cls(tuple((c, c) for c in columns), needs)

    @property
    def columns(self) -> set[str]:
        return {c for pair in self.on for c in pair}

    @property
    def symmetric(self) -> bool:
        return all(a == b for a, b in self.on)

    @property
    def sql(self) -> str:
        return " AND ".join(f"l.{a} = r.{b}" for a, b in self.on)

    def creator(self) -> Any:
        from splink import block_on
        from splink.blocking_rule_library import CustomRule

        return block_on(*[a for a, _ in self.on]) if self.symmetric else CustomRule(self.sql)

    def pairs(self, m: pd.DataFrame) -> int:
        """Pairs of records the rule makes on ``m`` (for an asymmetric rule, ordered pairs: an upper bound)."""
        left = [a for a, _ in self.on]
        right = [b for _, b in self.on]
        if any(c not in m.columns for c in left + right):
            return 0
        lv = m[left].dropna()
        if lv.empty:
            return 0
        if self.symmetric:
            n = lv.value_counts().to_numpy()
            return int((n * (n - 1) // 2).sum())
        rv = m[right].dropna()
        rv.columns = left
        counts = lv.value_counts().rename("l").to_frame().join(rv.value_counts().rename("r"), how="inner")
        return int((counts["l"] * counts["r"]).sum())


@dataclass(frozen=True)
class ComparisonSpec:
    """A comparison the engine can use: its builder, the columns it reads, its evidence
    (at least one must be filled by ``min_fill`` of the records) and its frequency-adjusted columns."""

    name: str
    build: Callable[[], Any]
    columns: tuple[str, ...]
    evidence: tuple[str, ...]
    tf_columns: tuple[str, ...] = ()


COMPARISONS: dict[str, ComparisonSpec] = {s.name: s for s in [
    ComparisonSpec("name", sm.name_comparison,
                   ("surname", "surname_pinyin", "name_full", "name_full_pinyin"), ("surname",), ("surname",)),
    ComparisonSpec("handle", sm.handle_comparison, ("nickname", "syll_key", "nick_key"), ("nick_key",),
                   ("nickname", "syll_key", "nick_key")),
    ComparisonSpec("handle_name", sm.handle_name_comparison,
                   ("nickname", "surname_pinyin", "syll_key", "name_full_pinyin", "nick_key", "nick_sn_first",
                    "nick_sn_last", "surname_rare"), ("nick_key",)),
    ComparisonSpec("phone", sm.phone_comparison, ("phone_hash", "phone_p3l4", "phone_last4"), ("phone_last4",)),
    ComparisonSpec("birth", sm.birth_comparison, ("birth_year", "birth_month", "birth_day"),
                   ("birth_year", "birth_month")),
    ComparisonSpec("birth_date", lc.full_birth_date_comparison,
                   ("birth_ymd", "birth_year", "birth_month", "birth_day"), ("birth_ymd",)),
    ComparisonSpec("gender", sm.gender_comparison, ("gender",), ("gender",)),
    ComparisonSpec("location", sm.location_comparison, ("city", "province"), ("city", "province"), ("city",)),
    ComparisonSpec("address", sm.address_comparison, ("address", "postcode"), ("address", "postcode")),
    ComparisonSpec("latin_name", lc.latin_name_comparison, ("latin_name", "name_first", "name_last"),
                   ("latin_name",), ("latin_name", "name_last", "name_first")),
    ComparisonSpec("street_address", lc.street_address_comparison, ("address", "addr_number", "addr_street"),
                   ("addr_street",)),
    ComparisonSpec("postcode", lc.postcode_comparison, ("postcode",), ("postcode",), ("postcode",)),
]}

#: The order comparisons appear in a model (the original eight first, as they always were).
ORDER = ["name", "latin_name", "handle", "handle_name", "phone", "birth", "birth_date", "gender", "location",
         "address", "street_address", "postcode"]

_LATIN, _FULL_DATE, _STREET = ("latin_name",), ("birth_date",), ("street_address", "postcode")

# Prediction rules: the original ones for our sources (see splink_model), then Latin-script ones.
PREDICTION_RULES = [
    Rule.same("phone_p3l4"), Rule.same("blk_name"), Rule.same("blk_nickname"), Rule.same("nick_key"),
    Rule.same("syll_key"), Rule((("nick_key", "blk_name_pinyin"),)), Rule((("blk_name_pinyin", "nick_key"),)),
    Rule.same("surname", "phone_last4"),
    # a bare CRM surname meets a handle that embeds it, in the same city or birth month
    Rule((("surname_pinyin", "nick_sn_first"), ("city", "city"))),
    Rule((("nick_sn_first", "surname_pinyin"), ("city", "city"))),
    Rule((("surname_pinyin", "nick_sn_last"), ("city", "city"))),
    Rule((("nick_sn_last", "surname_pinyin"), ("city", "city"))),
    Rule((("surname_pinyin", "nick_sn_first"), ("birth_month", "birth_month"))),
    Rule((("nick_sn_first", "surname_pinyin"), ("birth_month", "birth_month"))),
    # two handles that embed the same surname, in the same city, of the same gender
    Rule.same("nick_sn_first", "city", "gender"),
    Rule.same("surname", "city", "birth_month"),
    Rule.same("surname_pinyin", "birth_year", "birth_month", "birth_day"),
    # Latin-script names (either order), full dates, street addresses, postcodes
    Rule.same("name_first", "name_last", needs=_LATIN),
    Rule((("name_first", "name_last"), ("name_last", "name_first")), _LATIN),
    Rule.same("latin_name", needs=_LATIN),
    Rule.same("birth_ymd", needs=_FULL_DATE),
    Rule.same("postcode", "addr_number", needs=_STREET),
    Rule.same("addr_street", "addr_number", needs=_STREET),
    Rule.same("name_last", "postcode", needs=_LATIN),
    Rule.same("name_first", "postcode", needs=_LATIN),
    Rule.same("name_last", "birth_year", needs=_LATIN),
    Rule.same("name_first", "birth_year", needs=_LATIN),
]

#: EM passes tried first (each frees the comparisons it does not block on).
EM_RULES = [
    Rule.same("phone_p3l4"), Rule.same("surname", "birth_month"), Rule.same("nick_key"),
    Rule.same("birth_ymd", needs=_FULL_DATE), Rule.same("postcode", needs=_STREET),
    Rule.same("name_first", "name_last", needs=_LATIN),
]
#: Further passes, used only while a chosen comparison is still blocked in every pass.
EM_FALLBACK_RULES = [
    Rule.same("latin_name", needs=_LATIN), Rule.same("name_last", needs=_LATIN), Rule.same("city", "birth_year"),
    Rule.same("birth_ymd"), Rule.same("phone_last4"), Rule.same("postcode"), Rule.same("address"),
    Rule.same("city", "gender"),
    Rule.same("surname"), Rule.same("city"), Rule.same("birth_year", "birth_month"), Rule.same("gender"),
]

#: Unique identifiers whose sharing estimates the prior (as before), then strong combinations.
PRIOR_RULES = [Rule.same(c) for c in sm.PRIOR_KEYS]
PRIOR_FALLBACK_RULES = [Rule.same("latin_name", "birth_ymd", needs=_LATIN), Rule.same("name_full", "birth_ymd")]


@dataclass(frozen=True)
class PlanLimits:
    """Thresholds of :func:`plan_model` (from ``EngineConfig``)."""

    min_fill: float = 0.01
    max_rule_pairs_per_record: float = 20.0
    rule_pairs_floor: int = 100_000  # small inputs may block widely: their pairs are few anyway
    em_min_pairs: int = 10
    em_max_pairs: int = 2_000_000
    max_em_passes: int = 4


@dataclass
class ModelPlan:
    """What :func:`plan_model` chose, and why (``notes``: one line per decision, no personal data)."""

    comparisons: list[str]
    prediction_rules: list[Rule]
    training_rules: list[Rule]
    prior_rules: list[Rule]
    notes: list[str] = field(default_factory=list)
    pairs: dict[Rule, int] = field(default_factory=dict)  # pairs each considered rule makes

    def count(self, rule: Rule, m: pd.DataFrame) -> int:
        if rule not in self.pairs:
            self.pairs[rule] = rule.pairs(m)
        return self.pairs[rule]

    @property
    def tf_columns(self) -> list[str]:
        return list(dict.fromkeys(c for n in self.comparisons for c in COMPARISONS[n].tf_columns))

    @property
    def columns(self) -> list[str]:
        """Columns the Splink input table needs (ids first)."""
        cols = [c for n in self.comparisons for c in COMPARISONS[n].columns]
        for rule in self.prediction_rules + self.training_rules + self.prior_rules:
            cols += sorted(rule.columns)
        return list(dict.fromkeys(["unique_id", "source", *cols]))

    def comparison_creators(self) -> list[Any]:
        return [COMPARISONS[n].build() for n in self.comparisons]

    def blocked(self, rule: Rule) -> set[str]:
        """Comparisons a pass blocked on ``rule`` cannot train (they read one of its columns)."""
        return {n for n in self.comparisons if rule.columns & set(COMPARISONS[n].columns)}


def profile(m: pd.DataFrame) -> dict[str, float]:
    """Share of records filling each column of the matching view."""
    n = max(len(m), 1)
    return {c: float(m[c].notna().sum()) / n for c in m.columns}


def _filled(m: pd.DataFrame, fill: dict[str, float], col: str, limits: PlanLimits) -> bool:
    return col in m.columns and fill.get(col, 0.0) >= limits.min_fill and int(m[col].notna().sum()) >= 2


def choose_comparisons(m: pd.DataFrame, limits: PlanLimits) -> tuple[list[str], list[str]]:
    """Names of the comparisons the records support, and one note per decision."""
    fill = profile(m)
    notes: list[str] = []
    supported = {n for n, s in COMPARISONS.items() if any(_filled(m, fill, c, limits) for c in s.evidence)}
    # Birth dates: parts (CRM birth month, Weibo "05-12") or full dates with typo levels,
    # whichever form most records that know a birth part hold.
    known = m["birth_year"].notna() | m["birth_month"].notna()
    full_share = float(m.loc[known, "birth_ymd"].notna().mean()) if known.any() else 0.0
    if {"birth", "birth_date"} <= supported:
        supported.discard("birth_date" if full_share < 0.5 else "birth")
    # Addresses: Chinese address text (with the postcode as a level) or street addresses with
    # house numbers (and postcodes compared on their own), whichever most addresses are.
    with_addr = m["address"].notna()
    street_share = float(m.loc[with_addr, "addr_street"].notna().mean()) if with_addr.any() else 0.0
    if "street_address" in supported and street_share >= 0.5:
        supported.discard("address")
    else:
        supported.discard("street_address")
        supported.discard("postcode")  # the address comparison holds the postcode level
    chosen = [n for n in ORDER if n in supported]
    for n in ORDER:
        if n not in chosen:
            ev = COMPARISONS[n].evidence
            notes.append(f"comparison {n} not used: {', '.join(ev)} filled by "
                         f"{max(fill.get(c, 0.0) for c in ev):.1%} of records")
    notes.append(f"comparisons: {', '.join(chosen) or 'none'} (full birth dates {full_share:.0%} of dated "
                 f"records, street addresses {street_share:.0%} of addresses)")
    return chosen, notes


def plan_model(m: pd.DataFrame, limits: PlanLimits = PlanLimits(), comparisons: list[str] | None = None) -> ModelPlan:
    """The model for the matching view ``m``; ``comparisons`` fixes the comparisons (a stored model)."""
    if comparisons is None:
        comparisons, notes = choose_comparisons(m, limits)
    else:
        unknown = [n for n in comparisons if n not in COMPARISONS]
        if unknown:
            raise ValueError(f"stored identity model uses unknown comparison(s) {unknown}; retrain the model")
        notes = [f"comparisons of the stored model: {', '.join(comparisons)}"]
    fill = profile(m)
    plan = ModelPlan(comparisons, [], [], [], notes)
    max_pairs = max(limits.max_rule_pairs_per_record * len(m), limits.rule_pairs_floor)

    def usable(rule: Rule) -> bool:
        if rule.needs and not set(rule.needs) & set(comparisons):
            return False
        return all(_filled(m, fill, c, limits) for c in rule.columns)

    for rule in PREDICTION_RULES:
        if not usable(rule):
            continue
        pairs = plan.count(rule, m)
        if pairs > max_pairs:
            notes.append(f"blocking rule {rule.sql} not used: {pairs} pairs, over {max_pairs:.0f} "
                         f"(max_rule_pairs_per_record x records)")
        elif pairs:
            plan.prediction_rules.append(rule)
    plan.training_rules = choose_training_rules(m, plan, limits, usable)
    shared = [r for r in PRIOR_RULES if plan.count(r, m)]  # any sharing counts, however rare
    plan.prior_rules = shared or [r for r in PRIOR_FALLBACK_RULES if usable(r) and plan.count(r, m)]
    notes.append(f"{len(plan.prediction_rules)} prediction blocking rules, {len(plan.training_rules)} EM passes, "
                 f"prior from {' / '.join(r.sql for r in plan.prior_rules) or 'the default'}")
    return plan


def choose_training_rules(m: pd.DataFrame, plan: ModelPlan, limits: PlanLimits,
                          usable: Callable[[Rule], bool]) -> list[Rule]:
    """EM passes: the primary rules that make enough pairs, then fallbacks until every comparison is free once."""

    def viable(rule: Rule) -> bool:
        return (usable(rule) and plan.count(rule, m) >= limits.em_min_pairs
                and plan.blocked(rule) != set(plan.comparisons))

    chosen = [r for r in EM_RULES if viable(r)][: limits.max_em_passes]
    free = set().union(*[set(plan.comparisons) - plan.blocked(r) for r in chosen]) if chosen else set()
    for rule in EM_FALLBACK_RULES:
        missing = set(plan.comparisons) - free
        if not missing or len(chosen) >= limits.max_em_passes + 2:
            break
        if rule not in chosen and viable(rule) and missing - plan.blocked(rule):
            chosen.append(rule)
            free |= set(plan.comparisons) - plan.blocked(rule)
    missing = set(plan.comparisons) - free
    if missing:
        plan.notes.append(f"no EM pass can train {', '.join(sorted(missing))}: their m values stay at the "
                          "starting values")
    return chosen


def default_prior(records: int) -> float:
    """The prior when no rule can estimate it: half the records have one other record of the
    same person, i.e. ``records / 4`` matching pairs among ``records (records - 1) / 2``."""
    return min(0.5, 1.0 / (2.0 * max(records - 1, 1)))
