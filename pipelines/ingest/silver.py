"""Bronze -> silver tables and silver/person_records.

Silver is recomputed from every bronze delivery up to and including the run date
(``batch_date <= date``): the dedup rules of :mod:`transforms.silver` need all versions of
a key, and a full recompute makes a re-run or a backfill of any day give the same table.
Each table is replaced in one Delta commit (readers see the old or the new table, never a
mix). At the data sizes of this project a recompute takes seconds; an incremental MERGE is
the upgrade path when bronze grows large (the dedup keys are the merge keys).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.config import Settings
from transforms.dates import as_date as _as_date
from transforms import silver as ts
from transforms.bronze import SPECS

log = logging.getLogger("scim.ingest")

SILVER_DESCRIPTIONS = {
    "silver/crm_customers": "CRM customers, latest version per customer_id by updated_at; identifiers hashed/masked",
    "silver/orders": "CRM order lines, one row per (order_id, line_no); amounts decimal(18,2), times UTC",
    "silver/points": "CRM loyalty-point transactions, one row per txn_id",
    "silver/communications": "CRM communications (SMS, calls, e-mail, WeChat), one row per comm_id",
    "silver/campaigns": "marketing campaigns with coupon codes and dates, one row per campaign_id",
    "silver/social_accounts": "Weibo users and WeChat followers, one row per (platform, account_id); "
    "WeChat ids only as HMAC",
    "silver/posts": "Weibo posts, one row per mid",
    "silver/interactions": "WeChat interaction events, one row per event_id; openid only as HMAC",
    "silver/follows": "Weibo follow edges, one row per (follower_uid, followee_uid)",
    "silver/person_records": "standardised person records (identity contract) of every CRM customer and social "
    "account",
}


def bronze_upto(lake, table: str, date: dt.date | None) -> DataFrame | None:
    """Bronze rows of ``table`` delivered up to ``date`` (all when None); None if the table is absent."""
    if not lake.exists(table):
        return None
    df = lake.read(table)
    return df if date is None else df.where(F.col("batch_date") <= F.lit(date))


def _write(lake, df: DataFrame, table: str) -> dict:
    started = time.monotonic()
    version = lake.write(df, table, mode="overwrite", description=SILVER_DESCRIPTIONS.get(table),
                         schema_mode="overwrite")
    rows = lake.describe(table)["num_rows"]
    if rows is None:
        rows = lake.read(table).count()
    seconds = time.monotonic() - started
    log.info("silver %s: rows=%d version=%d (%.1fs)", table, rows, version, seconds)
    return {"rows": rows, "delta_version": version, "seconds": round(seconds, 2)}


def build_silver(settings: Settings, spark: SparkSession, date: str | dt.date | None = None, *, lake=None) -> dict:
    """Rebuild every silver table from bronze delivered up to ``date`` (all of bronze when None).

    Returns ``{table: {"rows", "delta_version", "seconds"}}``; tables whose bronze input
    does not exist yet are skipped (and absent from the result).
    """
    from lake_io import Lake

    lake = lake or Lake(settings, spark)
    day = None if date is None else _as_date(date)
    key, tz = settings.hmac_key_bytes(), settings.timezone
    b = {name: bronze_upto(lake, spec.table, day) for name, spec in SPECS.items()}
    plans = {
        "silver/crm_customers": (["crm_customers"], lambda: ts.silver_crm_customers(b["crm_customers"], key, tz)),
        "silver/orders": (["crm_orders"], lambda: ts.silver_orders(b["crm_orders"], tz)),
        "silver/points": (["crm_points"], lambda: ts.silver_points(b["crm_points"], tz)),
        "silver/communications": (["crm_communications"], lambda: ts.silver_communications(b["crm_communications"], tz)),
        "silver/campaigns": (["crm_campaigns"], lambda: ts.silver_campaigns(b["crm_campaigns"])),
        "silver/posts": (["weibo_posts"], lambda: ts.silver_posts(b["weibo_posts"], tz)),
        "silver/follows": (["weibo_follows"], lambda: ts.silver_follows(b["weibo_follows"], tz)),
        "silver/interactions": (["wechat_interactions"],
                                lambda: ts.silver_interactions(b["wechat_interactions"], key, tz)),
    }
    out: dict[str, dict] = {}
    for table, (inputs, build) in plans.items():
        if any(b[i] is None for i in inputs):
            log.info("silver %s: no bronze input yet, skipped", table)
            continue
        out[table] = _write(lake, build(), table)
    if b["weibo_users"] is not None or b["wechat_followers"] is not None:
        accounts = ts.silver_social_accounts(b["weibo_users"], b["wechat_followers"], key, tz)
        out["silver/social_accounts"] = _write(lake, accounts, "silver/social_accounts")
    return out


class PersonRecordError(RuntimeError):
    """Person records that the identity contract rejects (a bug upstream: bronze requires ids)."""


def raw_person_records(lake, timezone: str, date: dt.date | None = None) -> DataFrame | None:
    """Raw person records of the latest version of every CRM customer, Weibo user and WeChat follower.

    Built from bronze, where the raw identifiers are, deduplicated like silver (newest
    ``updated_at`` first). None when no source has bronze yet.
    """
    from transforms.bronze import parse_ts_local, parse_ts_offset
    from transforms.person_sources import to_raw_person_records

    sources = [
        ("crm", "crm_customers", ["customer_id"], parse_ts_local),
        ("weibo", "weibo_users", ["uid"], parse_ts_offset),
        ("wechat", "wechat_followers", ["openid"], parse_ts_offset),
    ]
    parts = []
    for source, name, keys, parse_updated in sources:
        bronze = bronze_upto(lake, SPECS[name].table, date)
        if bronze is None:
            continue
        newest = parse_updated(F.col("updated_at"), timezone)
        latest = ts.latest_by(bronze.withColumn("_upd", newest), keys, [F.col("_upd").desc_nulls_last()])
        parts.append(to_raw_person_records(latest, source))
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def build_person_records(settings: Settings, spark: SparkSession, date: str | dt.date | None = None, *,
                         lake=None) -> dict:
    """Rebuild silver/person_records (standardised, no raw identifiers) from bronze up to ``date``.

    Returns ``{"silver/person_records": {"rows", "delta_version", "seconds", "by_source"}}``
    (empty when no source has bronze yet). Raises :class:`PersonRecordError` when the
    contract rejects a record (missing id, conflicting duplicate), naming the counts.
    """
    from lake_io import Lake
    from transforms.person_records import standardise_person_records, validate_person_records

    lake = lake or Lake(settings, spark)
    day = None if date is None else _as_date(date)
    raw = raw_person_records(lake, settings.timezone, day)
    if raw is None:
        log.info("silver/person_records: no bronze input yet, skipped")
        return {}
    raw = raw.persist()
    try:
        good, rejected = validate_person_records(raw)
        bad = rejected.groupBy("source", "reason").count().collect()
        if bad:
            summary = ", ".join(f"{r['source']} {r['reason']}={r['count']}" for r in bad)
            raise PersonRecordError(f"person records rejected by the identity contract: {summary}")
        std = standardise_person_records(good, settings.hmac_key_bytes(), today=day)
        # A WeChat record's id is its openid, a raw identifier: silver keys it by the openid's
        # HMAC instead, the same key as silver/social_accounts.account_id.
        std = std.withColumn("record_id", F.when(F.col("source") == "wechat", F.col("wechat_openid_hash"))
                             .otherwise(F.col("record_id")))
        result = _write(lake, std, "silver/person_records")
    finally:
        raw.unpersist()
    by_source = lake.read("silver/person_records").groupBy("source").count().collect()
    result["by_source"] = {r["source"]: r["count"] for r in by_source}
    return {"silver/person_records": result}
