"""The Splink model for Chinese customer data: comparisons, term frequencies, regularisation.

Which comparisons, blocking rules and EM passes a run uses is chosen from the records by
:mod:`transforms.matching.model_plan`; Latin-script comparisons are in
:mod:`transforms.matching.latin_comparisons`. The comparisons here are designed for what
Chinese customer data really looks like (see ``docs/identity.md``):

* CRM names are mostly a surname plus an honorific, so a bare surname agreeing with a full
  name is its own level ("compatible surname"), weighted by surname frequency;
* social profiles carry a nickname whose letters often spell the person's name in pinyin,
  so a nickname is compared with the other record's name pinyin, not only with nicknames;
* Weibo shows phones masked as ``138****5678``: prefix3 + last4 is a level of its own;
* birthdays are partial (CRM birth month only, Weibo ``05-12`` or a year): parts are
  compared, and only a known part that *differs* counts against;
* city agreement is adjusted by city frequency (a match in 北京 says less than in 丽水).

Unique identifiers (unionid, openid, email, QQ, id number) are *not* Splink comparisons:
the deterministic pass links on them, which also keeps EM away from levels it never
observes (Splink 5 refuses an m probability of 0.0). The full phone hash stays as the top
level of the phone comparison, because it is the evidence a masked phone is weighed against.

All SQL here runs unchanged on DuckDB and Spark (``instr``, ``substr``, ``length``,
``coalesce`` and Splink's own Jaro-Winkler levels).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator

#: Values of these columns held by more than ``max_block_records`` records are nulled before
#: matching: a masked phone or handle that common is junk (138****0000, "user") not evidence.
CAPPED_COLUMNS = ["phone_p3l4", "nick_key", "syll_key"]

#: Blocking-only copies of common-but-genuine values (王伟 is a real full name shared by
#: thousands): too-common values stop blocking but still count as evidence in comparisons.
BLOCKING_COPIES = {"blk_name": "name_full", "blk_name_pinyin": "name_full_pinyin", "blk_nickname": "nickname"}


def pair_excluded_term_frequencies(values: pd.Series, column: str) -> pd.DataFrame:
    """Splink term-frequency lookup (``column``, ``tf_<column>``) that leaves the pair out.

    Splink's own lookup is ``count(value) / count(non-null)``. A pair that agrees on a value
    holds two of its occurrences itself, so a handle used only by one person's WeChat and
    Weibo accounts gets the frequency of a value two people chose, and the rarest values,
    the strongest evidence, are understated the most. Here the two records of the pair are
    left out of the count: ``max(count - 2, 1) / count(non-null)`` (at least one other
    holder, so a value is never taken as impossible to share by chance). Common values
    (surnames, cities) keep practically Splink's frequency.
    """
    v = values.dropna()
    counts = v.value_counts()
    n = max(len(v), 1)
    return pd.DataFrame({column: counts.index.to_numpy(), f"tf_{column}": (counts.to_numpy() - 2).clip(min=1) / n})


def _null(sql: str, label: str) -> cll.CustomLevel:
    return cll.CustomLevel(sql, label_for_charts=label).configure(is_null_level=True)


def _level(sql: str, label: str, m: float, **extra: Any) -> cll.CustomLevel:
    # m is only the EM starting point (and the value kept if a training pass cannot run)
    return cll.CustomLevel(sql, label_for_charts=label).configure(m_probability=m, **extra)


def else_level(m: float) -> cll.ElseLevel:
    """The last level of a comparison, with its EM starting m."""
    return cll.ElseLevel().configure(m_probability=m)


def name_comparison() -> cl.CustomComparison:
    """Full name vs full name, and a bare surname vs any name (surname-frequency adjusted)."""
    return cl.CustomComparison(
        output_column_name="name",
        comparison_description="full name / pinyin / surname-only compatibility",
        comparison_levels=[
            _null("surname_l IS NULL OR surname_r IS NULL", "name missing"),
            _level("name_full_l = name_full_r", "full name exact", 0.55),
            _level("name_full_pinyin_l = name_full_pinyin_r", "full name pinyin exact", 0.1),
            cll.JaroWinklerLevel("name_full_pinyin", 0.92).configure(
                m_probability=0.05, label_for_charts="full name pinyin similar"
            ),
            _level(
                "surname_l = surname_r AND (name_full_l IS NULL OR name_full_r IS NULL)",
                "surname only, agrees", 0.2, tf_adjustment_column="surname", tf_adjustment_weight=1.0,
            ),
            _level("surname_l = surname_r", "surname agrees, given name differs", 0.03),
            _level("surname_pinyin_l = surname_pinyin_r", "surname sounds the same", 0.02),
            else_level(0.05),
        ],
    )


def handle_comparison() -> cl.CustomComparison:
    """A social handle against another record's handle (both records have one).

    Kept apart from :func:`handle_name_comparison` so that EM learns how often true pairs
    of *social* records share a handle, instead of averaging it with social-vs-CRM pairs
    (which never do).
    """
    return cl.CustomComparison(
        output_column_name="handle",
        comparison_description="handle vs handle: exact, same pinyin syllables, same letters, similar",
        comparison_levels=[
            _null("nickname_l IS NULL OR nickname_r IS NULL", "a record without a handle"),
            # exact levels are adjusted by the frequency of the value they compare:
            # "一只咸鱼" is a cliche, "一只咸鱼6356" is a person
            _level("nickname_l = nickname_r", "handle exact", 0.3,
                   tf_adjustment_column="nickname", tf_adjustment_weight=1.0),
            _level("syll_key_l = syll_key_r", "same pinyin syllables, any order", 0.1,
                   tf_adjustment_column="syll_key", tf_adjustment_weight=1.0),
            _level("nick_key_l = nick_key_r", "handle letters exact", 0.1,
                   tf_adjustment_column="nick_key", tf_adjustment_weight=1.0),
            cll.JaroWinklerLevel("nick_key", 0.9).configure(m_probability=0.05, label_for_charts="handle similar"),
            else_level(0.45),
        ],
    )


def handle_name_comparison() -> cl.CustomComparison:
    """A social handle against a record that has a name instead (a CRM customer)."""
    comparable = (
        "(nickname_l IS NOT NULL AND nickname_r IS NULL AND surname_pinyin_r IS NOT NULL)"
        " OR (nickname_r IS NOT NULL AND nickname_l IS NULL AND surname_pinyin_l IS NOT NULL)"
    )
    spells_name = (
        "(length(name_full_pinyin_r) >= 4 AND instr(nick_key_l, name_full_pinyin_r) > 0)"
        " OR (length(name_full_pinyin_l) >= 4 AND instr(nick_key_r, name_full_pinyin_l) > 0)"
    )
    embeds_surname = (
        "surname_pinyin_r = nick_sn_first_l OR surname_pinyin_r = nick_sn_last_l"
        " OR surname_pinyin_l = nick_sn_first_r OR surname_pinyin_l = nick_sn_last_r"
    )
    return cl.CustomComparison(
        output_column_name="handle_name",
        comparison_description="handle vs name: spells the name (any order), embeds the surname",
        comparison_levels=[
            _null(f"NOT ({comparable})", "not a handle-and-name pair"),
            _level(f"syll_key_l = syll_key_r OR {spells_name}", "handle spells the other's full name", 0.1),
            # surname frequency matters (王 is 7% of people): Splink's tf adjustment needs an
            # exact level, so rare and common surnames are two levels instead
            _level(f"({embeds_surname}) AND coalesce(surname_rare_l, surname_rare_r)",
                   "handle embeds the other's (rare) surname", 0.1),
            _level(embeds_surname, "handle embeds the other's (common) surname", 0.2),
            else_level(0.6),
        ],
    )


def phone_comparison() -> cl.CustomComparison:
    """Full number (hash), masked prefix3 + last4, last4 only."""
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_description="phone: full hash, masked prefix3+last4, last4",
        comparison_levels=[
            _null("phone_last4_l IS NULL OR phone_last4_r IS NULL", "phone missing"),
            _level("phone_hash_l = phone_hash_r", "same full number", 0.5),
            _level("phone_p3l4_l = phone_p3l4_r", "prefix3 + last4 agree (masked)", 0.3),
            _level("phone_last4_l = phone_last4_r", "last4 agree", 0.05),
            else_level(0.15),
        ],
    )


def birth_comparison() -> cl.CustomComparison:
    """Birth date parts: agreement on the parts both know; a known part that differs counts against."""

    def differs(part: str) -> str:
        return f"coalesce(birth_{part}_l <> birth_{part}_r, false)"

    def both(part: str) -> str:
        return f"birth_{part}_l IS NOT NULL AND birth_{part}_r IS NOT NULL"

    no_conflict = f"NOT ({differs('year')} OR {differs('month')} OR {differs('day')})"
    comparable = f"({both('year')}) OR ({both('month')})"
    return cl.CustomComparison(
        output_column_name="birth",
        comparison_description="birth year / month / day parts",
        comparison_levels=[
            _null(f"NOT ({comparable})", "no common birth part"),
            _level(f"{both('year')} AND {both('month')} AND {both('day')} AND {no_conflict}", "full date agrees", 0.3),
            _level(f"{both('month')} AND {both('day')} AND {no_conflict}", "month and day agree", 0.1),
            _level(f"{both('year')} AND {both('month')} AND {no_conflict}", "year and month agree", 0.1),
            _level(f"{both('month')} AND {no_conflict}", "month agrees", 0.3),
            _level(f"{both('year')} AND {no_conflict}", "year agrees", 0.1),
            else_level(0.1),
        ],
    )


def gender_comparison() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="gender",
        comparison_description="gender m/f",
        comparison_levels=[
            _null("gender_l IS NULL OR gender_r IS NULL", "gender missing"),
            _level("gender_l = gender_r", "gender agrees", 0.95),
            else_level(0.05),
        ],
    )


def location_comparison() -> cl.CustomComparison:
    """City (frequency adjusted), then province."""
    return cl.CustomComparison(
        output_column_name="location",
        comparison_description="city (term-frequency adjusted) / province",
        comparison_levels=[
            _null(
                "(city_l IS NULL OR city_r IS NULL) AND (province_l IS NULL OR province_r IS NULL)",
                "location missing",
            ),
            _level("city_l = city_r", "city agrees", 0.7, tf_adjustment_column="city", tf_adjustment_weight=1.0),
            _level("province_l = province_r", "province agrees", 0.15),
            else_level(0.15),
        ],
    )


def address_comparison() -> cl.CustomComparison:
    """Address text and postcode (mostly CRM duplicates)."""
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="address text / postcode",
        comparison_levels=[
            _null(
                "(address_l IS NULL OR address_r IS NULL) AND (postcode_l IS NULL OR postcode_r IS NULL)",
                "address missing",
            ),
            _level("address_l = address_r", "address exact", 0.5),
            cll.JaroWinklerLevel("address", 0.9).configure(m_probability=0.2, label_for_charts="address similar"),
            _level("postcode_l = postcode_r", "postcode agrees", 0.15),
            else_level(0.15),
        ],
    )


#: Unique identifiers whose agreement estimates the match prior when records share them.
PRIOR_KEYS = ["phone_hash", "wechat_unionid_hash", "wechat_openid_hash", "email_hash"]


def _apply_parameters(comps: list[cl.CustomComparison], model: dict[str, Any]) -> None:
    """Copy trained m/u probabilities from a saved model (any backend) onto the level creators."""
    saved = {c["output_column_name"]: c["comparison_levels"] for c in model["comparisons"]}
    for comp in comps:
        levels = saved.get(comp._output_column_name)
        if levels is None or len(levels) != len(comp._comparison_levels):
            raise ValueError(f"saved identity model does not fit comparison {comp._output_column_name!r}; retrain")
        for creator, level in zip(comp._comparison_levels, levels):
            if level.get("is_null_level"):
                continue
            params = {k: level[k] for k in ("m_probability", "u_probability") if isinstance(level.get(k), (int, float))}
            if params:
                creator.configure(**params)


def regularise(model: dict[str, Any], m_floor: float, u_floor: float) -> dict[str, Any]:
    """A copy of a trained model whose m and u probabilities are kept away from zero.

    Unsupervised EM on customer data drives the m of a disagreement level to 0 (a Bayes
    factor of 2^-50: one typo in a gender field vetoes a pair that agrees on everything
    else); a level never seen in u sampling gets no u. Each m is raised to at least
    ``m_floor`` and u to at least ``u_floor`` (``1 / u_max_pairs``: the resolution of the
    sample), then renormalised within its comparison.
    """
    import copy

    out = copy.deepcopy(model)
    for comp in out["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for key, floor in (("m_probability", m_floor), ("u_probability", u_floor)):
            values = [lv.get(key) if isinstance(lv.get(key), (int, float)) else floor for lv in levels]
            values = [max(float(v), floor) for v in values]
            total = sum(values)
            for lv, v in zip(levels, values):
                lv[key] = v / total
    return out


def settings_creator(plan: Any, probability_two_random_records_match: float = 1e-5,
                     model: dict[str, Any] | None = None) -> SettingsCreator:
    """A Splink model for person records (dedupe across all sources) with the comparisons and
    prediction blocking rules of ``plan`` (:class:`transforms.matching.model_plan.ModelPlan`).

    Untrained by default; with ``model`` (``linker.misc.save_model_to_json()`` of an earlier
    run, on any backend) it carries that model's prior and m/u probabilities, while the SQL
    is generated afresh for the backend at hand.
    """
    comps = plan.comparison_creators()
    if model is not None:
        _apply_parameters(comps, model)
        probability_two_random_records_match = model["probability_two_random_records_match"]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comps,
        blocking_rules_to_generate_predictions=[r.creator() for r in plan.prediction_rules],
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source"],
        max_iterations=20,
    )
