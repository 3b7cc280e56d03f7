"""Each source's silver entity -> RAW person records of the identity contract.

The raw person record (``docs/identity.md``) is what every source is mapped to before
standardisation: ``source``, ``record_id`` and any of ``name``, ``nickname``, ``gender``,
``birth_date`` (``YYYY-MM-DD`` or partial ``YYYY``, ``YYYY-MM``, ``--MM-DD``, ``--MM``),
``phone``, ``email``, ``id_number``, ``wechat_unionid``, ``wechat_openid``, ``qq``,
``province``, ``city``, ``address``, ``postcode``. Values are passed on as found (the
standardiser cleans them); this module only renames, recodes and pulls contact details
out of Weibo bios. A source column that is absent from the silver table becomes null, so
the mapping survives schema growth; a record without its id is an error, never dropped.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

RAW_COLUMNS = [
    "source", "record_id", "name", "nickname", "gender", "birth_date", "phone", "email", "id_number",
    "wechat_unionid", "wechat_openid", "qq", "province", "city", "address", "postcode",
]

# Contact details leaked in a bio ("合作请联系 xx@qq.com", "QQ: 12345678", "vx/电话 13812345678").
EMAIL_RE = r"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
QQ_RE = r"(?i)(?:qq|扣扣|企鹅)\s*(?:号)?\s*[:：]?\s*([1-9][0-9]{4,11})"
PHONE_RE = r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4})(?![0-9])"

ID_COLUMNS = {"crm": "customer_id", "weibo": "uid", "wechat": "openid"}


def _col(df: DataFrame, name: str) -> Column:
    """The column as a trimmed string, or null when the silver table lacks it."""
    if name not in df.columns:
        return F.lit(None).cast("string")
    c = F.trim(F.col(name).cast("string"))
    return F.when(c == "", None).otherwise(c)


def _extract(text: Column, pattern: str) -> Column:
    found = F.regexp_extract(text, pattern, 1)
    return F.when(found == "", None).otherwise(found)


def _crm(df: DataFrame) -> dict[str, Column]:
    raw_month = _col(df, "birth_month")
    digits = F.regexp_extract(raw_month, r"^\s*0?([1-9]|1[0-2])\s*月?\s*$", 1)  # 5, 05, 11月
    month = F.when(digits != "", F.lpad(digits, 2, "0"))
    return {
        "name": _col(df, "name"),
        "gender": F.when(_col(df, "gender").isin("男", "m", "M"), "m").when(_col(df, "gender").isin("女", "f", "F"), "f"),
        # an unreadable month is passed on as written: the standardiser reports it
        "birth_date": F.when(month.isNotNull(), F.concat(F.lit("--"), month)).otherwise(raw_month),
        "phone": _col(df, "mobile"), "email": _col(df, "email"), "wechat_openid": _col(df, "wechat_openid"),
        "province": _col(df, "province"), "city": _col(df, "city"), "address": _col(df, "address"),
        "postcode": _col(df, "postcode"),
    }


def _weibo_birthday(raw: Column) -> Column:
    """``1990-05-12`` / ``1990`` / ``1990-05`` stay; ``05-12`` becomes ``--05-12``; junk becomes null."""
    return (
        F.when(raw.rlike(r"^[0-9]{4}(-[0-9]{2}){0,2}$"), raw)
        .when(raw.rlike(r"^[0-9]{1,2}-[0-9]{1,2}$"),
              F.concat(F.lit("--"), F.lpad(F.split(raw, "-")[0], 2, "0"), F.lit("-"), F.lpad(F.split(raw, "-")[1], 2, "0")))
    )


def _weibo(df: DataFrame) -> dict[str, Column]:
    bio = F.coalesce(_col(df, "description"), F.lit(""))
    bio_phone = F.regexp_replace(_extract(bio, PHONE_RE), "[- ]", "")
    gender = _col(df, "gender")
    return {
        "nickname": _col(df, "screen_name"),
        "gender": F.when(gender.isin("m", "f"), gender),
        "birth_date": _weibo_birthday(_col(df, "birthday")),
        # a full number from the bio is stronger evidence than the masked profile number
        "phone": F.coalesce(bio_phone, _col(df, "masked_phone")),
        "email": _extract(bio, EMAIL_RE), "qq": _extract(bio, QQ_RE),
        "province": _col(df, "province"), "city": _col(df, "city"),
    }


def _wechat(df: DataFrame) -> dict[str, Column]:
    sex = _col(df, "sex")
    return {
        "nickname": _col(df, "nickname"),
        "gender": F.when(sex == "1", "m").when(sex == "2", "f"),
        "phone": _col(df, "phone"), "wechat_unionid": _col(df, "unionid"), "wechat_openid": _col(df, "openid"),
        "province": _col(df, "province"), "city": _col(df, "city"),
    }


_MAPPERS = {"crm": _crm, "weibo": _weibo, "wechat": _wechat}


def to_raw_person_records(df: DataFrame, source: str) -> DataFrame:
    """Map a silver entity (``crm`` customers, ``weibo`` users, ``wechat`` followers) to raw person records.

    Returns exactly :data:`RAW_COLUMNS`, one row per input row, ``record_id`` = the
    source's id (customer_id / uid / openid). Raises ValueError for an unknown source or a
    table without its id column; records whose id is empty are kept with a null
    ``record_id`` so the caller's quarantine (or the engine's check) names them.
    """
    if source not in _MAPPERS:
        raise ValueError(f"unknown person source {source!r}; expected one of {sorted(_MAPPERS)}")
    id_col = ID_COLUMNS[source]
    if id_col not in df.columns:
        raise ValueError(f"{source} table has no '{id_col}' column; cannot build person records without it")
    mapped = _MAPPERS[source](df)
    exprs = {"source": F.lit(source), "record_id": _col(df, id_col), **mapped}
    return df.select(*[exprs.get(c, F.lit(None).cast("string")).cast("string").alias(c) for c in RAW_COLUMNS])
