"""Silver/identity/feature tables -> the gold BI tables (``gold/*``), then table maintenance.

``publish_gold(settings, spark, run_date)`` reads its inputs through :class:`lake_io.Lake`
(a missing input counts as empty and is reported), builds every mart with the pure
builders of :mod:`transforms.marts`, and for each table: checks the BI conventions (no
nested types, a comment for every column), writes it in ONE Delta commit (``overwrite``:
gold is a full recompute, so a re-run of a day gives the same table), sets the table
description and column comments from ``transforms/marts/tables.yaml``, compacts it
(Z-order on the usual filters where listed), writes a checkpoint and vacuums files older
than the retention. A failure while building or writing one table leaves that table at
its previous version; tables published before it stay published.

``headline_numbers`` / ``format_headline`` give the figures ``make run`` prints.
Also the ``scim publish --date D`` command (``add_arguments``/``run``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.config import Settings
from transforms.dates import as_date

log = logging.getLogger("scim.publish")

TABLES_FILE = Path(__file__).resolve().parent.parent / "transforms" / "marts" / "tables.yaml"

# silver table -> the columns the marts read (types of an empty stand-in when the table is absent).
INPUTS: dict[str, str] = {
    "silver/identity_clusters": "source string, record_id string, customer_key string, run_date date",
    "silver/identity_links": "run_date date, source_l string, source_r string, status string",
    "silver/identity_review_queue": "run_date date, source_l string, source_r string",
    "silver/person_records": "source string, record_id string, gender string, birth_year int, province string, city string",
    "silver/crm_customers": ("customer_id string, phone_masked string, email_masked string, member_tier string, "
                             "marketing_consent boolean, updated_at timestamp"),
    "silver/orders": ("order_id string, line_no int, customer_id string, order_time timestamp, order_date date, "
                      "store_id string, channel string, payment_method string, product_id string, product_name string, "
                      "category string, quantity int, unit_price decimal(18,2), amount decimal(18,2), "
                      "coupon_code string, campaign_id string"),
    "silver/campaigns": ("campaign_id string, name string, platform string, start_date date, end_date date, "
                         "coupon_code string, discount decimal(18,2)"),
    "silver/social_accounts": ("platform string, account_id string, nickname string, province string, "
                               "subscribed boolean, subscribe_time timestamp, updated_at timestamp"),
    "silver/posts": ("mid string, uid string, created_at timestamp, created_date date, text string, "
                     "retweeted_mid string, reposts_count long, comments_count long, attitudes_count long"),
    "silver/interactions": ("event_id string, wechat_openid_hash string, event_type string, event_time timestamp, "
                            "event_date date, coupon_code string, campaign_id string"),
    "silver/follows": "follower_uid string, followee_uid string, created_at timestamp",
    "silver/features_customer_daily": "customer_key string, snapshot_date date",
    "silver/features_account": ("platform string, account_id string, customer_key string, snapshot_date date, "
                                "followers_count long, influence_score double, kol_tier string, reach_2nd_degree long, "
                                "converted_followers_90d long, reposts_received_90d long, comments_received_90d long, "
                                "likes_received_90d long, brand_posts_90d long, brand_sentiment_90d double, "
                                "brand_sentiment_30d double, brand_sentiment_prev_30d double, "
                                "brand_sentiment_change_30d double, is_ally int, ally_drift int"),
}


class PublishError(RuntimeError):
    """A gold table breaks a BI convention or an input is unusable; the message names table and fix."""


def load_table_specs(path: str | Path | None = None) -> dict[str, Any]:
    """The gold metadata (``tables.yaml``): ``{"_common": {col: comment}, "tables": {table: spec}}``."""
    with open(path or TABLES_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _read(lake, spark: SparkSession, table: str, missing: list[str]) -> DataFrame:
    """The silver table (every column kept), or an empty stand-in with the needed columns when it is absent."""
    schema = INPUTS[table]
    if not lake.exists(table):
        missing.append(table)
        return spark.createDataFrame([], schema)
    df = lake.read(table)
    need = spark.createDataFrame([], schema).columns
    absent = [c for c in need if c not in df.columns]
    if absent:
        raise PublishError(f"{table} lacks column(s) {absent} that the gold marts read (it has {df.columns}); "
                           f"rebuild it with the current pipeline or adapt pipelines/publish.py INPUTS")
    return df


def _latest_snapshot(df: DataFrame, col: str, day: dt.date) -> DataFrame:
    """Rows of the latest ``col`` value on or before ``day``."""
    upto = df.where(F.col(col) <= F.lit(day))
    last = upto.agg(F.max(col).alias("_last"))
    return upto.join(last, F.col(col) == F.col("_last")).drop("_last")


def _keys(clusters: DataFrame, hmac_key: bytes) -> DataFrame:
    """(source, record_id, customer_key) with WeChat ids in their HMAC form, as silver stores them.

    One row per record: a WeChat id that already is an HMAC is kept, a raw openid is hashed
    (keeping both forms counted every WeChat account twice in dim_customer.wechat_accounts).
    """
    from pipelines.features import with_hashed_wechat_ids

    return with_hashed_wechat_ids(clusters, hmac_key).distinct()


def _enrich(posts: DataFrame) -> DataFrame:
    """Posts with hashtags, brand mentions (author's own words) and a sentiment label (``sentiment_label``)."""
    from transforms.sentiment import add_sentiment
    from transforms.text import enrich_posts, load_brand_lexicon

    if "brand_mentions" not in posts.columns or "hashtags" not in posts.columns:
        # A bare repost of a brand post is exposure, not the reposter's opinion of the brand.
        # Sentiment comes from the same pass (each post segmented once) unless already present.
        posts = enrich_posts(posts, "text", load_brand_lexicon(), brand_scope="own_text",
                             sentiment=None if "sentiment_label" in posts.columns else "sentiment")
    if "sentiment_label" not in posts.columns:
        posts = add_sentiment(posts, "own_text" if "own_text" in posts.columns else "text", "sentiment")
    return posts


def _follows(accounts: DataFrame, interactions: DataFrame, follows: DataFrame, keys: DataFrame,
             brand_uids: list[str], timezone: str) -> DataFrame:
    """Brand follows: platform, account_id, customer_key, follow_time, follow_date.

    WeChat: the earliest of the follower's subscribe_time and its subscribe events; Weibo:
    follow edges to the brand's own accounts (nickname = an own-brand name or alias).
    """
    from transforms.marts._common import local_date
    from transforms.marts.facts import account_keys

    wx = accounts.where((F.col("platform") == "wechat") & F.col("subscribe_time").isNotNull()).select(
        "account_id", F.col("subscribe_time").alias("follow_time")).unionByName(
        interactions.where(F.col("event_type") == "subscribe").select(
            F.col("wechat_openid_hash").alias("account_id"), F.col("event_time").alias("follow_time")))
    wx = wx.groupBy("account_id").agg(F.min("follow_time").alias("follow_time")).withColumn("platform", F.lit("wechat"))
    wx = wx.join(account_keys(keys, "wechat", "account_id"), "account_id", "left")
    wb = (follows.where(F.col("followee_uid").isin(brand_uids or ["\0"]) & F.col("created_at").isNotNull())
          .groupBy(F.col("follower_uid").alias("account_id")).agg(F.min("created_at").alias("follow_time"))
          .withColumn("platform", F.lit("weibo")).join(account_keys(keys, "weibo", "account_id"), "account_id", "left"))
    cols = ["platform", "account_id", "customer_key", "follow_time"]
    return wx.select(*cols).unionByName(wb.select(*cols)).withColumn("follow_date", local_date("follow_time", timezone))


def _brand_uids(accounts: DataFrame, own_names: list[str]) -> list[str]:
    """Weibo uids of the brand's own accounts (screen name = an own-brand name or alias); small, collected."""
    rows = (accounts.where((F.col("platform") == "weibo") & F.col("nickname").isin(own_names or ["\0"]))
            .select("account_id").distinct().limit(1000).collect())
    return [r[0] for r in rows]


def build_gold(settings: Settings, spark: SparkSession, run_date: str | dt.date, *, lake=None,
               params=None) -> tuple[dict[str, DataFrame], list[str], list[DataFrame]]:
    """Every gold DataFrame for ``run_date`` (not written): ``({table: df}, missing_inputs, persisted)``."""
    from transforms import marts as M
    from transforms.consent import wechat_subscription_state
    from transforms.marts.facts import own_brand_flag
    from transforms.text import load_brand_lexicon

    day = as_date(run_date, "run date")
    params = params or M.GoldParams(timezone=settings.timezone)
    if lake is None:
        from lake_io import Lake

        lake = Lake(settings, spark)
    missing: list[str] = []
    t = {name: _read(lake, spark, name, missing) for name in INPUTS}
    lexicon = load_brand_lexicon()
    roles = {b.name: b.role for b in lexicon.brands}
    own = [b.name for b in lexicon.brands if b.role == "own"]
    own_names = [s for b in lexicon.brands if b.role == "own" for s in (b.name, *b.aliases)]

    clusters_all = t["silver/identity_clusters"].where(F.col("run_date") <= F.lit(day))
    keys = _keys(_latest_snapshot(clusters_all, "run_date", day), settings.hmac_key_bytes()).persist()
    orders = t["silver/orders"].where(F.col("order_date") <= F.lit(day))
    posts = _enrich(t["silver/posts"].where(F.col("created_date") <= F.lit(day)))
    posts = M.campaign_of_hashtags(posts, t["silver/campaigns"]).persist()
    interactions = t["silver/interactions"].where(F.col("event_date") <= F.lit(day))
    accounts = t["silver/social_accounts"]
    features = t["silver/features_customer_daily"].where(F.col("snapshot_date") <= F.lit(day))
    persisted = [keys, posts]

    fact_purchase = M.build_fact_purchase(orders, keys).persist()
    persisted.append(fact_purchase)
    # consent uses the latest known WeChat state (all events, not only those up to the day):
    # a withdrawal is never undone by rebuilding a past day
    wechat_state = wechat_subscription_state(accounts, t["silver/interactions"])
    dim_customer = M.build_dim_customer(keys, t["silver/person_records"], t["silver/crm_customers"], features, day,
                                        wechat_state)
    dim_customer = dim_customer.persist()
    persisted.append(dim_customer)
    follows = _follows(accounts, interactions, t["silver/follows"], keys, _brand_uids(accounts, own_names),
                       settings.timezone)
    touches = M.build_touches(posts, interactions, keys)
    brand_posts = (posts.where(own_brand_flag(F.col("brand_mentions"), own))
                   .join(keys.where(F.col("source") == "weibo").select(F.col("record_id").alias("uid"), "customer_key"),
                         "uid").select("customer_key", "created_at"))
    first_day = min(dt.date(day.year - 3, 1, 1), _min_date(orders, "order_date", day),
                    _min_date(t["silver/campaigns"], "start_date", day))
    frames = {
        "gold/dim_date": M.build_dim_date(spark, first_day, dt.date(day.year, 12, 31)),
        "gold/dim_customer": dim_customer,
        "gold/dim_campaign": M.build_dim_campaign(t["silver/campaigns"]),
        "gold/fact_purchase": fact_purchase,
        "gold/fact_social_activity": M.build_fact_social_activity(posts, interactions, keys, own),
        "gold/brand_sentiment_daily": M.build_brand_sentiment_daily(posts, accounts, roles, "sentiment_label", params),
        "gold/share_of_voice_daily": M.build_share_of_voice_daily(posts, roles),
        "gold/hot_topics_daily": M.build_hot_topics_daily(posts, accounts, params),
        "gold/platform_attribution": M.build_platform_attribution(touches, fact_purchase, params),
        "gold/journey_funnel": M.build_journey_funnel(follows, fact_purchase, brand_posts, day),
        "gold/campaign_report": M.build_campaign_report(t["silver/campaigns"], follows, posts, interactions,
                                                        fact_purchase, keys),
        "gold/kol_report": M.build_kol_report(_latest_snapshot(t["silver/features_account"], "snapshot_date", day)),
        "gold/identity_quality_daily": M.build_identity_quality_daily(
            clusters_all, t["silver/identity_links"].where(F.col("run_date") <= F.lit(day)),
            t["silver/identity_review_queue"].where(F.col("run_date") <= F.lit(day))),
        "gold/identity_cluster_sizes": M.build_identity_cluster_sizes(
            clusters_all, t["silver/identity_review_queue"].where(F.col("run_date") <= F.lit(day))),
        "gold/crm_export_segments": M.build_crm_export_segments(dim_customer, keys, t["silver/crm_customers"], params),
    }
    return frames, missing, persisted


def _min_date(df: DataFrame, col: str, default: dt.date) -> dt.date:
    value = df.agg(F.min(col)).first()[0]
    return value if isinstance(value, dt.date) and value < default else default


def check_conventions(table: str, df: DataFrame, spec: dict[str, Any], common: dict[str, str]) -> dict[str, str]:
    """Refuse nested types and uncommented columns; return the column comments for ``df``."""
    nested = [f.name for f in df.schema.fields if isinstance(f.dataType, (T.ArrayType, T.MapType, T.StructType))]
    if nested:
        raise PublishError(f"{table}: nested column(s) {nested}; BI tables are flat (flatten them in transforms/marts)")
    ntz = [f.name for f in df.schema.fields if isinstance(f.dataType, T.TimestampNTZType)]
    if ntz:
        raise PublishError(f"{table}: timestamp_ntz column(s) {ntz}; gold timestamps are timezone-aware UTC")
    cols = spec.get("columns", {})
    comments = {c: cols.get(c) or common.get(c) for c in df.columns}
    uncommented = [c for c, v in comments.items() if not v]
    if uncommented:
        raise PublishError(f"{table}: no comment for column(s) {uncommented}; add them to {TABLES_FILE.name}")
    return comments


def publish_gold(settings: Settings, spark: SparkSession, run_date: str | dt.date, *, lake=None, params=None,
                 tables: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Build, write and maintain every gold table for ``run_date``.

    Returns ``{table: {"rows", "delta_version", "optimized_version", "files", "partition_by",
    "zorder_by", "vacuumed_files", "seconds"}}`` plus the key ``"_missing_inputs"`` (a list).
    ``tables`` restricts the run to some gold tables. Each table is one overwrite commit,
    then an OPTIMIZE commit (data unchanged), a checkpoint and a vacuum with
    ``params.vacuum_retention_hours``. When every table is written, the BI catalog
    (:mod:`pipelines.bi.catalog`) is refreshed to these versions. Raises :class:`PublishError` (before writing that
    table) when a table breaks the conventions.
    """
    from transforms.marts import GoldParams

    t0 = time.monotonic()
    if lake is None:
        from lake_io import Lake

        lake = Lake(settings, spark)
    params = params or GoldParams(timezone=settings.timezone)
    specs = load_table_specs()
    frames, missing, persisted = build_gold(settings, spark, run_date, lake=lake, params=params)
    out: dict[str, Any] = {}
    try:
        for table, df in frames.items():
            if tables and table not in tables:
                continue
            out[table] = _publish_one(lake, table, df, specs["tables"][table], specs["_common"], params)
    finally:
        for df in persisted:
            df.unpersist()
    out["_missing_inputs"] = missing
    from pipelines.bi.catalog import refresh_after_write

    refresh_after_write(settings, lake)  # BI moves to this night only now that every table is written
    log.info("publish %s: tables=%d missing_inputs=%s (%.1fs)", as_date(run_date, "run date"), len(out) - 1, missing,
             time.monotonic() - t0)
    return out


def _publish_one(lake, table: str, df: DataFrame, spec: dict[str, Any], common: dict[str, str], params) -> dict:
    t0 = time.monotonic()
    comments = check_conventions(table, df, spec, common)
    partition_by = spec.get("partition_by")
    version = lake.write(df, table, mode="overwrite", schema_mode="overwrite", partition_by=partition_by,
                         description=spec["description"], column_comments=comments)
    zorder = params.zorder.get(table) or spec.get("zorder")
    lake.optimize(table, zorder_by=zorder)
    lake.checkpoint(table)
    vacuumed = lake.vacuum(table, retention_hours=params.vacuum_retention_hours)
    info = lake.describe(table)
    result = {"rows": None if info["num_rows"] is None else int(info["num_rows"]), "delta_version": version, "optimized_version": int(info["version"]),
              "files": int(info["num_files"]), "partition_by": partition_by or [], "zorder_by": zorder or [],
              "vacuumed_files": len(vacuumed), "seconds": round(time.monotonic() - t0, 2)}
    log.info("publish table=%s rows=%s version=%d files=%d seconds=%.2f", table, result["rows"], version,
             result["files"], result["seconds"])
    return result


def headline_numbers(settings: Settings, spark: SparkSession, *, lake=None, top: int = 3) -> dict[str, Any]:
    """The figures ``make run`` prints, read back from the gold tables.

    ``customers`` (persons in dim_customer), ``social_customers`` (with a Weibo or WeChat
    account), ``link_rate`` (share of those that are also linked to a CRM record),
    ``consent_rate``, ``brand_sentiment_date`` with ``negative_positive_ratio`` (own brands,
    all regions, latest day; null without positives) and ``negative_spike``,
    ``top_campaigns`` (``top`` campaigns by revenue among those with social participants,
    i.e. whose conversion is measurable: id, name, revenue, conversion_rate) and
    ``campaigns_without_social`` (campaigns with revenue but no social participant in their
    period, left out of the ranking).

    Why the filter: conversion = participant buyers / participants, and participants are
    seen only on social media, whose sources hold weeks (WeChat 30 days, Weibo 90 days in
    the sample) while the CRM holds three years of orders. Ranked over all campaigns, the
    top by revenue are past campaigns (last year's 双十一, earlier member days) with no
    social data in their period: their conversion is unknown, and the headline printed
    ``n/a`` for every one.
    """
    if lake is None:
        from lake_io import Lake

        lake = Lake(settings, spark)
    c = lake.read("gold/dim_customer").agg(
        F.count(F.lit(1)).alias("customers"),
        F.count(F.when(F.col("has_weibo") | F.col("has_wechat"), 1)).alias("social"),
        F.count(F.when((F.col("has_weibo") | F.col("has_wechat")) & F.col("has_crm"), 1)).alias("linked"),
        F.count(F.when(F.col("marketing_consent"), 1)).alias("consent")).first()
    out: dict[str, Any] = {"customers": int(c["customers"]), "social_customers": int(c["social"]),
                           "link_rate": round(c["linked"] / c["social"], 4) if c["social"] else None,
                           "consent_rate": round(c["consent"] / c["customers"], 4) if c["customers"] else None}
    from transforms.marts import own_brand_daily

    last = own_brand_daily(lake.read("gold/brand_sentiment_daily")).orderBy(F.desc("date")).first()
    out["brand_sentiment_date"] = last["date"].isoformat() if last else None
    ratio = last["negative_positive_ratio"] if last else None
    out["negative_positive_ratio"] = None if ratio is None else round(ratio, 4)
    out["negative_spike"] = bool(last["negative_spike"]) if last else False
    report = lake.read("gold/campaign_report")
    camps = (report.where(F.col("participants") > 0).orderBy(F.desc("revenue"), F.asc("campaign_id")).limit(top)
             .select("campaign_id", "campaign_name", "revenue", "conversion_rate").collect())
    out["top_campaigns"] = [{"campaign_id": r[0], "name": r[1], "revenue": float(r[2]),
                             "conversion_rate": None if r[3] is None else round(r[3], 4)} for r in camps]
    out["campaigns_without_social"] = report.where((F.col("participants") == 0) & (F.col("revenue") > 0)).count()
    return out


def format_headline(d: dict[str, Any]) -> str:
    """A few lines for the terminal (no personal data)."""
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    ratio = d.get("negative_positive_ratio")
    lines = [
        f"customers: {d['customers']:,} (with a social account: {d['social_customers']:,}, "
        f"linked to the CRM: {pct(d['link_rate'])}, marketing consent: {pct(d['consent_rate'])})",
        f"own-brand negative:positive on {d.get('brand_sentiment_date') or 'n/a'}: "
        f"{'n/a' if ratio is None else f'{ratio:.2f}'}{'  NEGATIVE SPIKE' if d.get('negative_spike') else ''}",
        "top campaigns by revenue (with social participants, so conversion is measurable):",
    ]
    for i, c in enumerate(d.get("top_campaigns", []), 1):
        lines.append(f"  {i}. {c['name']} ({c['campaign_id']}): revenue {c['revenue']:,.2f}, "
                     f"conversion {pct(c['conversion_rate'])}")
    if not d.get("top_campaigns"):
        lines.append("  (no campaigns)")
    if d.get("campaigns_without_social"):
        lines.append(f"  ({d['campaigns_without_social']:,} campaigns with revenue but no social data in their "
                     f"period are not ranked: conversion unknown)")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, help="business day to publish (YYYY-MM-DD)")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    parser.add_argument("--table", action="append", help="publish only this gold table (repeatable)")


def run(args: argparse.Namespace) -> int:
    from pipelines.config import load_settings
    from pipelines.spark import get_spark

    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    spark = get_spark(settings)
    result = publish_gold(settings, spark, args.date, tables=args.table)
    for table, info in result.items():
        if not table.startswith("_"):
            print(f"{table}: rows={info['rows']} version={info['delta_version']}")
    print(format_headline(headline_numbers(settings, spark)))
    return 0
