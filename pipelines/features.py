"""Silver -> feature tables: ``silver/features_customer_daily`` and ``silver/features_account``.

``build_features(settings, spark, snapshot_date)`` reads the silver tables through
:mod:`lake_io`, adapts their column names to the transforms' inputs, adds the text and
sentiment columns to the posts when the silver table does not carry them yet, calls the
pure transforms of :mod:`transforms.features` and writes:

* ``silver/features_account`` — replaced by each run (the latest snapshot);
* ``silver/features_customer_daily`` — partition ``snapshot_date`` replaced (a re-run of a
  day replaces that day, never duplicates it).

Missing input tables (a source not delivered yet) count as empty and are reported in the
summary; the identity snapshot used is the latest ``run_date`` on or before the day.
Also the ``scim features --date D`` command (``add_arguments``/``run``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.config import Settings
from transforms.dates import as_date

log = logging.getLogger("scim.features")

CUSTOMER_TABLE = "silver/features_customer_daily"
ACCOUNT_TABLE = "silver/features_account"

# table -> (columns the transforms need with their types, {transform name: silver name} aliases).
INPUTS: dict[str, tuple[str, dict[str, str]]] = {
    "silver/identity_clusters": ("source string, record_id string, customer_key string", {}),
    "silver/crm_customers": (
        "customer_id string, points_balance int, register_date date, marketing_consent boolean, member_tier string", {}
    ),
    "silver/orders": (
        "order_id string, line_no int, customer_id string, order_ts timestamp, order_date date, channel string, "
        "category string, amount decimal(18,2)",
        {"order_ts": "order_time"},
    ),
    "silver/points": ("customer_id string, txn_ts timestamp, points_delta int", {"txn_ts": "txn_time"}),
    "silver/social_accounts": (
        "platform string, account_id string, description string, tags array<string>, followers_count long, "
        "friends_count long, statuses_count long, verified boolean, subscribed boolean, updated_at timestamp",
        {},
    ),
    "silver/posts": (
        "mid string, uid string, created_ts timestamp, text string, reposts_count long, comments_count long, attitudes_count long",
        {"created_ts": "created_at"},
    ),
    "silver/interactions": (
        "event_id string, openid string, event_type string, event_ts timestamp, content string",
        {"openid": "wechat_openid_hash", "event_ts": "event_time"},
    ),
    "silver/follows": ("follower_uid string, followee_uid string", {}),
}


class FeatureInputError(ValueError):
    """A silver table lacks columns the features need; the message names table, columns and fix."""


def _read_input(lake, spark: SparkSession, table: str, missing: list[str]) -> DataFrame:
    """The table with the transforms' column names (aliases renamed); empty with the schema when absent."""
    schema, aliases = INPUTS[table]
    if not lake.exists(table):
        missing.append(table)
        return spark.createDataFrame([], schema)
    df = lake.read(table)
    for name, silver_name in aliases.items():
        if name not in df.columns and silver_name in df.columns:
            df = df.withColumnRenamed(silver_name, name)
    need = spark.createDataFrame([], schema).columns
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise FeatureInputError(
            f"{table} lacks column(s) {absent} needed by the features (it has {df.columns}); "
            f"rebuild it with the current ingest (scim ingest) or map the columns in pipelines/features.py INPUTS"
        )
    return df


def _clusters_as_of(clusters: DataFrame, snap: dt.date) -> DataFrame:
    """The identity snapshot of the latest run_date on or before ``snap`` (all rows when there is no run_date)."""
    if "run_date" not in clusters.columns:
        return clusters
    upto = clusters.where(F.col("run_date") <= F.lit(snap))
    latest = upto.agg(F.max("run_date").alias("_latest"))
    return upto.join(latest, F.col("run_date") == F.col("_latest")).drop("_latest")


def with_hashed_wechat_ids(clusters: DataFrame, hmac_key: bytes) -> DataFrame:
    """Identity clusters may carry the raw openid; silver WeChat tables carry its HMAC: use the HMAC.

    A record id that already is a 64-hex HMAC is kept (a raw openid never has that shape),
    so the join works whichever form the identity table stores.
    """
    from transforms.silver import id_hash_udf

    rid = F.col("record_id")
    hashed = F.when((F.col("source") != "wechat") | rid.rlike("^[0-9a-f]{64}$"), rid).otherwise(id_hash_udf(hmac_key)(rid))
    return clusters.select("source", hashed.alias("record_id"), "customer_key")


def _enrich_posts(posts: DataFrame, prefix: str) -> tuple[DataFrame, list[str]]:
    """Add tokens/brand mentions (text helper) and sentiment (sentiment helper) when absent; own-brand count."""
    from transforms.features.behaviour import own_brand_mentions
    from transforms.text import enrich_posts, load_brand_lexicon

    lexicon = load_brand_lexicon()
    prob = f"{prefix}_positive_prob"
    if "tokens" not in posts.columns or "brand_mentions" not in posts.columns:
        # Brand mentions and sentiment both read the author's own words: a bare repost of a
        # brand post is exposure, not the reposter's opinion of the brand.  Sentiment is
        # scored in the same pass (each post segmented once) unless already present.
        posts = enrich_posts(posts, "text", lexicon, brand_scope="own_text",
                             sentiment=None if prob in posts.columns else prefix)
    if prob not in posts.columns:
        from transforms.sentiment import add_sentiment

        posts = add_sentiment(posts, "own_text" if "own_text" in posts.columns else "text", prefix)
    own = [b.name for b in lexicon.brands if b.role == "own"]
    return posts.withColumn("own_brand_mentions", own_brand_mentions(F.col("brand_mentions"), own)), own


def build_features(settings: Settings, spark: SparkSession, snapshot_date: str | dt.date, *, lake=None,
                   params=None) -> dict[str, Any]:
    """Build both feature tables for ``snapshot_date`` and return a summary dict.

    Summary keys: ``snapshot_date``, ``customers``, ``accounts`` (rows written),
    ``customer_version``/``account_version`` (Delta versions), ``missing_inputs``,
    ``order_lines_without_key``, ``posts_without_key``, ``participation_shares`` (persons
    with a social account), ``participation_calibrated`` (the rule the 5/75/20 calibration
    would choose today), ``lifecycle_counts``, ``consent_share``, ``seconds``.
    Raises :class:`FeatureInputError` when a silver table lacks needed columns; writes
    nothing in that case.
    """
    from transforms.features import (
        FeatureParams,
        build_account_features,
        build_customer_features,
        calibrate_participation,
        load_interest_taxonomy,
        load_registry,
        load_trait_lexicon,
    )

    t0 = time.monotonic()
    if lake is None:
        from lake_io import Lake

        lake = Lake(settings, spark)
    snap = as_date(snapshot_date, "snapshot date")
    params = params or FeatureParams(timezone=settings.timezone)
    registry, taxonomy, traits = load_registry(), load_interest_taxonomy(), load_trait_lexicon()
    missing: list[str] = []
    t = {name: _read_input(lake, spark, name, missing) for name in INPUTS}
    clusters = with_hashed_wechat_ids(_clusters_as_of(t["silver/identity_clusters"], snap), settings.hmac_key_bytes()).persist()
    posts, own_brands = _enrich_posts(t["silver/posts"], params.sentiment_prefix)
    posts = posts.persist()
    try:
        account_df = build_account_features(
            t["silver/social_accounts"], posts, t["silver/interactions"], t["silver/follows"], clusters,
            t["silver/orders"], snap, registry, params,
        )
        comments = {f.name: f"{f.definition} [{f.unit}; {f.range}]" for f in registry.of("account")}
        account_version = lake.write(account_df, ACCOUNT_TABLE, mode="overwrite", schema_mode="overwrite",
                                     description="SCIM social account features (latest snapshot); see docs/features.md",
                                     column_comments=comments)
        accounts_written = lake.read(ACCOUNT_TABLE)
        customer_df = build_customer_features(
            clusters, t["silver/crm_customers"], t["silver/orders"], t["silver/points"], t["silver/social_accounts"],
            posts, t["silver/interactions"], accounts_written, snap, registry, taxonomy, traits, params,
        )
        comments = {f.name: f"{f.definition} [{f.unit}; {f.range}]" for f in registry.of("customer")}
        write_args = dict(partition_by=["snapshot_date"], description="SCIM per-customer daily features; see docs/features.md",
                          column_comments=comments, schema_mode="merge")
        if lake.exists(CUSTOMER_TABLE):
            write_args["replace_where"] = f"snapshot_date = '{snap.isoformat()}'"
        customer_version = lake.write(customer_df, CUSTOMER_TABLE, mode="overwrite", **write_args)
        summary = _summary(lake, spark, snap, clusters, t, posts, calibrate_participation)
    finally:
        posts.unpersist()
        clusters.unpersist()
    summary.update(customer_version=customer_version, account_version=account_version, missing_inputs=missing,
                   own_brands=own_brands, seconds=round(time.monotonic() - t0, 1))
    log.info("features %s: customers=%d accounts=%d missing_inputs=%s (%.1fs)", snap, summary["customers"],
             summary["accounts"], missing, summary["seconds"])
    return summary


def _summary(lake, spark, snap: dt.date, clusters: DataFrame, t: dict[str, DataFrame], posts: DataFrame, calibrate) -> dict:
    day = lake.read(CUSTOMER_TABLE).where(F.col("snapshot_date") == F.lit(snap))
    # One small aggregation gives the row count, consent share, lifecycle and participation mix.
    cells = day.groupBy("lifecycle_segment", "participation_segment").agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.col("marketing_consent").cast("int")).alias("consented")
    ).collect()
    total = sum(r["n"] for r in cells)
    lifecycle: dict[str, int] = {}
    seg: dict[str, int] = {}
    for r in cells:
        lifecycle[r["lifecycle_segment"]] = lifecycle.get(r["lifecycle_segment"], 0) + r["n"]
        if r["participation_segment"] is not None:
            seg[r["participation_segment"]] = seg.get(r["participation_segment"], 0) + r["n"]
    n_social = sum(seg.values())
    crm = clusters.where(F.col("source") == "crm").select(F.col("record_id").alias("customer_id"))
    wb = clusters.where(F.col("source") == "weibo").select(F.col("record_id").alias("uid"))
    rule = calibrate(day.where(F.col("participation_segment").isNotNull()))
    return {
        "snapshot_date": snap.isoformat(),
        "customers": int(total),
        "accounts": int(lake.read(ACCOUNT_TABLE).count()),
        "order_lines_without_key": int(t["silver/orders"].join(crm, "customer_id", "left_anti").count()),
        "posts_without_key": int(posts.join(wb, "uid", "left_anti").count()),
        "participation_shares": {k: round(v / n_social, 4) for k, v in sorted(seg.items())} if n_social else {},
        "participation_calibrated": {"creator_min_30d": rule.creator_min_30d, "creator_min_90d": rule.creator_min_90d,
                                     "silent_max_90d": rule.silent_max_90d},
        "lifecycle_counts": dict(sorted(lifecycle.items())),
        "consent_share": round(sum(r["consented"] or 0 for r in cells) / total, 4) if total else None,
    }


def _date_arg(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_date_arg, required=True, help="snapshot day (business day, Asia/Shanghai)")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")


def run(args: argparse.Namespace) -> int:
    from pipelines.config import load_settings
    from pipelines.spark import get_spark

    overrides = {"lake_root": args.lake} if getattr(args, "lake", None) else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    summary = build_features(settings, get_spark(settings), args.date)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0
