"""Splink comparisons for Latin-script person data with full fields.

Western CRMs and public benchmarks (Febrl) hold what our Chinese sources rarely do: a
given name and a surname in Latin script, full dates of birth, street addresses with a
house number, and postcodes. Their errors are typing errors, so the levels are typo levels:

* names: the tokens in any order (a given name and surname are often swapped), one typo
  per token (Damerau-Levenshtein <= 1, a transposition counts once), Jaro-Winkler
  similarity, one token only (the other missing or different), each exact level adjusted
  by the frequency of the value (``smith`` says less than ``neumann``);
* dates of birth: exact, one digit off (``19651013`` vs ``19651018``, also an adjacent
  transposition), day and month swapped, two of the three parts agree;
* street addresses: exact, same house number with similar street words, similar, same
  house number only;
* postcodes: exact (frequency adjusted), one digit off.

Levels are written once and rendered per backend with the dialect's own function names,
so the same model runs on DuckDB and on Spark (Splink's similarity jar).
"""

from __future__ import annotations

from typing import Any

import splink.comparison_library as cl
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from transforms.matching.splink_model import else_level


class SqlLevel(ComparisonLevelCreator):
    """A level whose SQL names similarity functions as ``{dl}`` (Damerau-Levenshtein),
    ``{lev}`` (Levenshtein) and ``{jw}`` (Jaro-Winkler), filled in per backend."""

    def __init__(self, template: str, label: str):
        self.template = template
        self.label = label

    def create_sql(self, sql_dialect: Any) -> str:
        return self.template.format(dl=sql_dialect.damerau_levenshtein_function_name,
                                    lev=sql_dialect.levenshtein_function_name,
                                    jw=sql_dialect.jaro_winkler_function_name)

    def create_label_for_charts(self) -> str:
        return self.label


def typo1(a: str, b: str) -> str:
    """SQL: ``a`` and ``b`` are at most one typo apart (Damerau-Levenshtein <= 1: one letter
    inserted, deleted, replaced, or two neighbours swapped). The Levenshtein guard in front
    is implied by it and five times cheaper on DuckDB, so most random pairs (u sampling
    scores millions) never reach the Damerau-Levenshtein call."""
    return f"({{lev}}({a}, {b}) <= 2 AND {{dl}}({a}, {b}) <= 1)"


def _null(sql: str, label: str) -> SqlLevel:
    return SqlLevel(sql, label).configure(is_null_level=True)


def _level(sql: str, label: str, m: float, **extra: Any) -> SqlLevel:
    # m is only the EM starting point (and the value kept if no training pass can run)
    return SqlLevel(sql, label).configure(m_probability=m, **extra)


def latin_name_comparison() -> cl.CustomComparison:
    """Latin names as tokens in any order (``name_first``, ``name_last``, ``latin_name``)."""
    f_l, f_r, s_l, s_r = "name_first_l", "name_first_r", "name_last_l", "name_last_r"
    both_two = f"{s_l} IS NOT NULL AND {s_r} IS NOT NULL"
    same_dl = f"{typo1(f_l, f_r)} AND {typo1(s_l, s_r)}"
    swap_dl = f"{typo1(f_l, s_r)} AND {typo1(s_l, f_r)}"
    one_exact = f"{f_l} = {f_r} OR {f_l} = {s_r} OR {s_l} = {f_r} OR {s_l} = {s_r}"
    return cl.CustomComparison(
        output_column_name="latin_name",
        comparison_description="Latin name tokens in any order: exact, one typo each, similar, one token",
        comparison_levels=[
            _null("latin_name_l IS NULL OR latin_name_r IS NULL", "name missing"),
            _level("latin_name_l = latin_name_r", "same names, any order", 0.6,
                   tf_adjustment_column="latin_name", tf_adjustment_weight=1.0),
            _level(f"{both_two} AND (({same_dl}) OR ({swap_dl}))", "both names within one typo, any order", 0.15),
            _level(f"{both_two} AND {{jw}}({f_l}, {f_r}) >= 0.88 AND {{jw}}({s_l}, {s_r}) >= 0.88",
                   "both names similar", 0.05),
            _level(f"{s_l} = {s_r}", "last name agrees, first differs or is missing", 0.05,
                   tf_adjustment_column="name_last", tf_adjustment_weight=1.0),
            _level(f"{f_l} = {f_r}", "first name agrees, last differs or is missing", 0.05,
                   tf_adjustment_column="name_first", tf_adjustment_weight=1.0),
            _level(one_exact, "one name agrees with one of the other's", 0.04),
            else_level(0.06),
        ],
    )


def full_birth_date_comparison() -> cl.CustomComparison:
    """Full dates of birth (``birth_ymd`` = YYYYMMDD) with typo levels; partial dates fall back
    to agreement of the parts both know, and a known part that differs counts against."""
    y, m, d = "birth_year", "birth_month", "birth_day"

    def both(p: str) -> str:
        return f"{p}_l IS NOT NULL AND {p}_r IS NOT NULL"

    def differs(p: str) -> str:
        return f"coalesce({p}_l <> {p}_r, false)"

    no_conflict = f"NOT ({differs(y)} OR {differs(m)} OR {differs(d)})"
    full = "birth_ymd_l IS NOT NULL AND birth_ymd_r IS NOT NULL"
    return cl.CustomComparison(
        output_column_name="birth_date",
        comparison_description="full date of birth: exact, one digit off, day/month swapped, two parts agree",
        comparison_levels=[
            _null(f"NOT (({both(y)}) OR ({both(m)}))", "no common birth part"),
            _level("birth_ymd_l = birth_ymd_r", "full date exact", 0.8),
            _level(f"{full} AND {typo1('birth_ymd_l', 'birth_ymd_r')}", "one digit off", 0.08),
            _level(f"{full} AND {y}_l = {y}_r AND {m}_l = {d}_r AND {d}_l = {m}_r", "day and month swapped", 0.01),
            _level(f"{full} AND (({y}_l = {y}_r AND {m}_l = {m}_r) OR ({y}_l = {y}_r AND {d}_l = {d}_r)"
                   f" OR ({m}_l = {m}_r AND {d}_l = {d}_r))", "two of year, month, day agree", 0.05),
            _level(f"NOT ({full}) AND {no_conflict}", "partial date, the known parts agree", 0.02),
            else_level(0.04),
        ],
    )


def street_address_comparison() -> cl.CustomComparison:
    """Street addresses (``address``, ``addr_number``, ``addr_street``): exact, same number with
    similar street words, similar, same number only."""
    return cl.CustomComparison(
        output_column_name="street_address",
        comparison_description="street address: exact, same number + similar street, similar, same number",
        comparison_levels=[
            _null("address_l IS NULL OR address_r IS NULL", "address missing"),
            _level("address_l = address_r", "address exact", 0.6),
            # the number test first: the similarity is computed only for pairs that pass it
            _level("addr_number_l = addr_number_r AND {jw}(addr_street_l, addr_street_r) >= 0.85",
                   "same house number, similar street", 0.2),
            _level("{jw}(address_l, address_r) >= 0.85", "address similar", 0.05),
            _level("addr_number_l = addr_number_r", "same house number only", 0.05),
            else_level(0.1),
        ],
    )


def postcode_comparison() -> cl.CustomComparison:
    """Postcodes: exact (frequency adjusted), one character off."""
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="postcode: exact (term-frequency adjusted), one character off",
        comparison_levels=[
            _null("postcode_l IS NULL OR postcode_r IS NULL", "postcode missing"),
            _level("postcode_l = postcode_r", "postcode exact", 0.85,
                   tf_adjustment_column="postcode", tf_adjustment_weight=1.0),
            _level(typo1("postcode_l", "postcode_r"), "one character off", 0.08),
            else_level(0.07),
        ],
    )
