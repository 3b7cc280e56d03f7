"""The erasure suppression list: keep erased persons from coming back (pure functions).

``scim erase`` records, for every identifier of an erased person, a **suppression token**
and the erasure time in ``_audit/suppression``. A token is
``HMAC-SHA256(key, "scim-erasure-v1|<kind>|<value>")`` where ``value`` is the identifier as
the lake stores it in silver (``phone_hash``, ``email_hash``, ``wechat_openid_hash``,
``wechat_unionid_hash``, or a plain source id such as a CRM ``customer_id`` / Weibo ``uid``).
The token differs from every value stored in the lake, so the suppression list holds no
hash a lake table carries, yet a record arriving later can be tested against it.

A record is *suppressed* when one of its identifiers has a token on the list and the
record is not newer than the erasure: its own time (``updated_at``, event time) is at or
before ``erased_at``, or, when it has no usable time, its drop date is on or before the
erasure day. A record updated after the erasure is a new relationship and passes.

Quarantined lines (the ``quarantine`` table keeps the raw line) are tested the same way by
:func:`split_suppressed_quarantine`: the identifiers are parsed from the raw line (JSON
fields by name, even in a truncated line; every field of a CSV line, whatever the header,
tried as each identifier kind of its entity) and so is the record's time when it can be.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.bronze import SPECS, TS_LOCAL, TS_OFFSET, parse_ts_local, parse_ts_offset
from transforms.standardise.email import normalise_email_series
from transforms.standardise.hashing import check_key, hmac_hex
from transforms.standardise.phone import normalise_phone_series

TOKEN_PREFIX = "scim-erasure-v1"

#: Kinds whose value is stored in silver as given (no hashing).
PLAIN_KINDS = ("crm_customer_id", "weibo_uid", "customer_key")
#: Kinds whose value is an HMAC hash as silver stores it.
HASH_KINDS = ("phone_hash", "email_hash", "wechat_openid_hash", "wechat_unionid_hash", "qq_hash", "id_number_hash")
#: Raw kinds (bronze values): normalised and hashed the way silver does, then tokenised as their hash kind.
RAW_KINDS = {"phone": "phone_hash", "email": "email_hash", "wechat_openid": "wechat_openid_hash",
             "wechat_unionid": "wechat_unionid_hash"}
KINDS = PLAIN_KINDS + HASH_KINDS + tuple(RAW_KINDS)

#: Which bronze columns identify a person, and the column giving the record's own time.
#: Used by ingestion (before writing bronze) and by ``scim erase``.
BRONZE_IDENTIFIERS: dict[str, tuple[dict[str, str], str | None]] = {
    "bronze/crm_customers": ({"customer_id": "crm_customer_id", "mobile": "phone", "email": "email",
                              "wechat_openid": "wechat_openid"}, "updated_at"),
    "bronze/crm_orders": ({"customer_id": "crm_customer_id"}, "order_time"),
    "bronze/crm_points": ({"customer_id": "crm_customer_id"}, "txn_time"),
    "bronze/crm_communications": ({"customer_id": "crm_customer_id"}, "comm_time"),
    "bronze/weibo_users": ({"uid": "weibo_uid"}, "updated_at"),
    "bronze/weibo_posts": ({"uid": "weibo_uid"}, "created_at"),
    "bronze/weibo_follows": ({"follower_uid": "weibo_uid", "followee_uid": "weibo_uid"}, "created_at"),
    "bronze/wechat_followers": ({"openid": "wechat_openid", "unionid": "wechat_unionid", "phone": "phone"},
                                "updated_at"),
    "bronze/wechat_interactions": ({"openid": "wechat_openid"}, "event_time"),
}


def subject_token(hmac_key: bytes, kind: str, value: str | None) -> str | None:
    """The suppression token of one identifier (``kind`` one of PLAIN_KINDS or HASH_KINDS); None stays None."""
    if kind not in PLAIN_KINDS + HASH_KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {PLAIN_KINDS + HASH_KINDS}")
    if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
        return None
    return hmac_hex(check_key(hmac_key), f"{TOKEN_PREFIX}|{kind}|{str(value).strip()}")


def raw_to_stored(kind: str, values: pd.Series, hmac_key: bytes) -> tuple[str, pd.Series]:
    """(stored kind, stored values) of raw bronze values: phones/e-mails normalised and hashed as silver does."""
    from transforms.standardise.hashing import hmac_series

    if kind not in RAW_KINDS:
        return kind, values.astype("object")
    if kind == "phone":
        normal = normalise_phone_series(values.astype("object"))["e164"]
    elif kind == "email":
        normal = normalise_email_series(values.astype("object"))["email"]
    else:  # WeChat ids: trimmed, as transforms.silver.id_hash_udf does
        normal = values.astype("object").map(lambda v: v.strip() if isinstance(v, str) and v.strip() else None)
    return RAW_KINDS[kind], hmac_series(hmac_key, normal)


def token_series(kind: str, values: pd.Series, hmac_key: bytes) -> pd.Series:
    """Suppression tokens of a Series of identifiers of ``kind`` (any of KINDS); nulls stay null."""
    stored_kind, stored = raw_to_stored(kind, values, hmac_key)
    return pd.Series([subject_token(hmac_key, stored_kind, v) for v in stored], index=values.index, dtype="object")


@functools.lru_cache(maxsize=64)
def _token_udf(kind: str, hmac_key: bytes):
    check_key(hmac_key)

    @F.pandas_udf("string")
    def token(values: pd.Series) -> pd.Series:
        return token_series(kind, values, hmac_key)

    return token


def token_column(col: Column | str, kind: str, hmac_key: bytes) -> Column:
    """Spark column: the suppression token of ``col`` read as identifier ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown identifier kind {kind!r}; expected one of {KINDS}")
    c = F.col(col) if isinstance(col, str) else col
    return _token_udf(kind, bytes(hmac_key))(c.cast("string"))


def split_suppressed(
    df: DataFrame,
    suppression: DataFrame | None,
    identifiers: Mapping[str, str],
    hmac_key: bytes,
    record_time: Column | None = None,
    record_date: Column | None = None,
) -> tuple[DataFrame, DataFrame]:
    """(kept, suppressed): ``df`` split by the suppression list; together they hold every row once.

    ``suppression`` has columns ``token`` and ``erased_at`` (UTC timestamp), as in
    ``_audit/suppression``; None or empty suppresses nothing. ``identifiers`` maps columns
    of ``df`` to their kind (KINDS). ``record_time`` is the record's own UTC time, if any;
    ``record_date`` (default: ``batch_date`` when present) is used when the time is null.
    A row is suppressed when any identifier's token is listed and the row is not newer
    than the latest erasure of that token; rows without a usable time or date count as old.
    The output has the columns of ``df``.
    """
    if not identifiers:
        raise ValueError("split_suppressed: name at least one identifier column")
    missing = sorted(set(identifiers) - set(df.columns))
    if missing:
        raise ValueError(f"split_suppressed: columns {missing} are not in the DataFrame ({df.columns})")
    if suppression is None:
        return df, df.limit(0)
    listed = suppression.groupBy("token").agg(F.max("erased_at").alias("erased_at"))
    if record_date is None and "batch_date" in df.columns:
        record_date = F.col("batch_date")
    out = df
    erased_cols = []
    for i, (col, kind) in enumerate(sorted(identifiers.items())):
        tok, at = f"_supp_tok_{i}", f"_supp_at_{i}"
        right = F.broadcast(listed.select(F.col("token").alias(tok), F.col("erased_at").alias(at)))
        out = out.withColumn(f"_supp_key_{i}", token_column(col, kind, hmac_key))
        out = out.join(right, out[f"_supp_key_{i}"] == right[tok], "left").drop(tok, f"_supp_key_{i}")
        erased_cols.append(F.col(at))
    erased_at = F.greatest(*erased_cols) if len(erased_cols) > 1 else erased_cols[0]
    out = out.withColumn("_supp_erased_at", erased_at)
    when = record_time if record_time is not None else F.lit(None).cast("timestamp")
    erased_day = F.to_date(F.col("_supp_erased_at"))
    is_old = F.coalesce(
        when <= F.col("_supp_erased_at"),
        (record_date <= erased_day) if record_date is not None else F.lit(None),
        F.lit(True),
    )
    flagged = out.withColumn("_supp_hit", F.col("_supp_erased_at").isNotNull() & is_old)
    cols = df.columns
    kept = flagged.where(~F.col("_supp_hit")).select(*cols)
    suppressed = flagged.where(F.col("_supp_hit")).select(*cols)
    return kept, suppressed


# -- quarantine -----------------------------------------------------------------------------------------
#: Columns that identify one quarantine row (``line_no`` is null for JDBC rows, hence ``raw_payload``).
QUARANTINE_ROW = ("source", "entity", "batch_date", "source_file", "line_no", "raw_payload")
# 'YYYY-MM-DD HH:MM:SS' (TS_LOCAL): the record time of a CRM CSV line (each CRM entity has one such field)
_LOCAL_TS_FIELD = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$"


def _json_field(raw: Column, name: str) -> Column:
    """The value of JSON field ``name`` in a raw line (a string or a bare number), null when absent.

    A regular expression, not a JSON parser: it also reads a truncated or otherwise broken line.
    """
    key = '"' + name + '"' + r"\s*:\s*"
    quoted = F.regexp_extract(raw, key + r'"((?:[^"\\]|\\.)*)"', 1)
    bare = F.regexp_extract(raw, key + r"(-?[0-9]+)", 1)
    return F.coalesce(F.nullif(F.trim(quoted), F.lit("")), F.nullif(bare, F.lit("")))


def _csv_fields(raw: Column) -> Column:
    """Every comma-separated field of a raw CSV line, surrounding quotes and blanks stripped.

    A plain split (no CSV parser), so a line with broken quoting still gives its fields; an
    identifier never contains a comma.
    """
    return F.transform(F.split(raw, ","), lambda v: F.trim(F.regexp_replace(v, r'^\s*"|"\s*$', "")))


def quarantine_candidates(quarantine: DataFrame, timezone: str) -> tuple[DataFrame, dict[str, str]]:
    """(candidates, identifiers): one row per quarantine row and identifier parsed from its raw line.

    ``candidates`` has the :data:`QUARANTINE_ROW` columns, ``_qtime`` (the record's own UTC
    time parsed from the line, or null) and one column ``_qid_<kind>`` per identifier kind
    (``identifiers`` maps those columns to their kind, for :func:`split_suppressed`; a
    candidate row fills one of them). A row's entity is found through ``source``
    (``crm_jdbc`` rows are CRM rows) and ``entity``; rows of entities without identifiers
    (campaigns) give no candidate.
    """
    missing = [c for c in QUARANTINE_ROW if c not in quarantine.columns]
    if missing:
        raise ValueError(f"quarantine_candidates: columns {missing} are not in the DataFrame ({quarantine.columns})")
    kinds = sorted({k for ids, _ in BRONZE_IDENTIFIERS.values() for k in ids.values()})
    identifiers = {f"_qid_{k}": k for k in kinds}
    raw = F.col("raw_payload")
    is_json = F.trim(raw).startswith("{")
    fields = _csv_fields(raw)
    base_source = F.regexp_replace(F.col("source"), "_jdbc$", "")
    csv_time = parse_ts_local(F.try_element_at(F.filter(fields, lambda v: v.rlike(_LOCAL_TS_FIELD)), F.lit(1)), timezone)
    cands = qtime = None
    for table, (ids, time_col) in BRONZE_IDENTIFIERS.items():
        spec = SPECS[table.removeprefix("bronze/")]
        match = (base_source == spec.source) & (F.col("entity") == spec.entity)
        # JSON lines: each identifier field by name; CSV lines: every field as every kind of the entity
        json_ids = F.array(*[F.struct(F.lit(k).alias("kind"), _json_field(raw, c).alias("value")) for c, k in ids.items()])
        entity_kinds = sorted(set(ids.values()))
        csv_ids = F.flatten(F.transform(fields, lambda v: F.array(
            *[F.struct(F.lit(k).alias("kind"), v.alias("value")) for k in entity_kinds])))
        time_type = next((f.type for f in spec.fields if f.name == time_col), None)
        text = _json_field(raw, time_col) if time_col else F.lit(None).cast("string")
        json_time = (parse_ts_offset(text, timezone) if time_type == TS_OFFSET
                     else parse_ts_local(text, timezone) if time_type == TS_LOCAL else F.lit(None).cast("timestamp"))
        c, t = F.when(is_json, json_ids).otherwise(csv_ids), F.when(is_json, json_time).otherwise(csv_time)
        cands = F.when(match, c) if cands is None else cands.when(match, c)
        qtime = F.when(match, t) if qtime is None else qtime.when(match, t)
    out = quarantine.where(raw.isNotNull()).select(*QUARANTINE_ROW, qtime.cast("timestamp").alias("_qtime"),
                                                   F.explode(cands).alias("_c"))
    out = out.where(F.col("_c.value").isNotNull() & (F.col("_c.value") != ""))
    return out.select(*QUARANTINE_ROW, "_qtime",
                      *[F.when(F.col("_c.kind") == k, F.col("_c.value")).alias(f"_qid_{k}") for k in kinds]), identifiers


def split_suppressed_quarantine(quarantine: DataFrame, suppression: DataFrame | None, hmac_key: bytes,
                                timezone: str, use_record_time: bool = True) -> tuple[DataFrame, DataFrame]:
    """(kept, suppressed): quarantine rows split by the suppression list; together they hold every row once.

    A quarantined line is suppressed when an identifier parsed from its raw line
    (:func:`quarantine_candidates`) has a token on the list and the line is not newer than
    the erasure: its own time parsed from the line, or else its drop date (``batch_date``),
    as :func:`split_suppressed`. ``use_record_time=False`` suppresses every matching line
    whatever its time (the erasure itself). A line from which no identifier can be parsed
    (an empty or undecodable line, one truncated before its id) is never suppressed.
    Both outputs have the columns of ``quarantine``.
    """
    if suppression is None:
        return quarantine, quarantine.limit(0)
    candidates, identifiers = quarantine_candidates(quarantine, timezone)
    if use_record_time:
        _, hit = split_suppressed(candidates, suppression, identifiers, hmac_key, record_time=F.col("_qtime"))
    else:
        _, hit = split_suppressed(candidates, suppression, identifiers, hmac_key,
                                  record_time=F.lit(None).cast("timestamp"), record_date=F.lit(None).cast("date"))
    rows = hit.select(*QUARANTINE_ROW).distinct()
    same = [quarantine[c].eqNullSafe(rows[c]) for c in QUARANTINE_ROW]
    cond = same[0]
    for c in same[1:]:
        cond = cond & c
    kept = quarantine.join(rows, cond, "left_anti")
    suppressed = quarantine.join(rows, cond, "left_semi")
    return kept, suppressed
