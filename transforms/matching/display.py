"""Masked display values of person records for reviewers and reports (pure pandas).

Reviewers and the identity report see pairs of person records side by side, but nothing
leaves the restricted silver tables in clear (docs/privacy.md): names and handles keep
their first character (``王**``), phones their prefix and last four digits
(``138****5678``, the form Weibo itself shows), e-mails their first character and domain
(``z***@qq.com``), addresses and postcodes their first three characters; pseudonymised
identifiers (``*_hash``) are shown only as present (``●``), never as values. Surnames,
gender, birth year and month, province and city are kept: they are what a reviewer weighs
and each is shared by a great many people.

:data:`RULES` names the rule of every column of the matching view
(the columns any :class:`transforms.matching.model_plan.ModelPlan` reads, and the blocking copies) and of
the standardised person record; :func:`mask_frame` refuses a value column without a rule,
so a column added to the model needs a masking decision before it reaches a report.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from transforms.silver import mask_name, mask_phone

PRESENT = "●"


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _keep(v: Any) -> Any:
    return None if _missing(v) else v


def _name(v: Any) -> str | None:
    return None if _missing(v) else mask_name(str(v))


def _prefix3(v: Any) -> str | None:
    return None if _missing(v) else mask_name(str(v), keep=3)


def _present(v: Any) -> str | None:
    return None if _missing(v) or str(v) == "" else PRESENT


def _hidden(v: Any) -> str | None:
    return None if _missing(v) else "**"


def _p3l4(v: Any) -> str | None:
    text = None if _missing(v) else str(v)
    return mask_phone(None, text[:3], text[3:], None) if text and len(text) == 7 else _prefix3(text)


def _tokens(v: Any) -> Any:
    if isinstance(v, str) or not hasattr(v, "__iter__"):
        return _name(v)
    return [mask_name(str(t)) for t in v]


KEEP = ("unique_id", "source", "record_id", "surname", "surname_pinyin", "nick_sn_first", "nick_sn_last",
        "surname_rare", "gender", "birth_year", "birth_month", "phone_prefix3", "phone_last4", "phone_type",
        "phone_masked", "province", "province_code", "city", "std_issues")
NAMES = ("full_name", "given_name", "name_full", "blk_name", "name_pinyin", "given_pinyin", "name_full_pinyin",
         "blk_name_pinyin", "nickname", "blk_nickname", "nickname_pinyin", "nickname_latin", "nick_key", "syll_key",
         "name_first", "name_last", "latin_name")
HASHES = ("phone_hash", "email_hash", "id_number_hash", "qq_hash", "wechat_unionid_hash", "wechat_openid_hash")

RULES: dict[str, Callable[[Any], Any]] = {
    **{c: _keep for c in KEEP},
    **{c: _name for c in NAMES},
    **{c: _present for c in HASHES},
    "name_tokens": _tokens,
    "birth_day": _hidden,
    "birth_ymd": _hidden,  # the full date: year and month are shown by their own columns
    "addr_number": _hidden,
    "addr_street": _prefix3,
    "phone_p3l4": _p3l4,
    "address": _prefix3,
    "postcode": _prefix3,
}


def mask_value(column: str, value: Any) -> Any:
    """The display value of one column's value; raises KeyError for a column without a rule."""
    if column not in RULES:
        raise KeyError(f"no masking rule for column {column!r}: add it to transforms.matching.display.RULES")
    return RULES[column](value)


def mask_frame(df: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
    """A copy of ``df`` whose value columns (each of ``value_columns``, bare or with the
    ``_l`` / ``_r`` suffix of a pair) hold display values; other columns are unchanged.

    Raises KeyError for a value column without a rule in :data:`RULES`.
    """
    out = df.copy()
    for col in value_columns:
        rule = RULES.get(col)
        for name in (col, f"{col}_l", f"{col}_r"):
            if name not in out.columns:
                continue
            if rule is None:
                raise KeyError(f"no masking rule for column {col!r}: add it to transforms.matching.display.RULES")
            out[name] = [rule(v) for v in out[name].astype(object)]
    return out
