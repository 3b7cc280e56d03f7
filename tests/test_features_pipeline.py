"""pipelines/features.py: silver column names, identity snapshot as of the day, hashed WeChat
ids, missing inputs, and the two writes (against an in-memory lake with the lake_io interface)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from pipelines.features import ACCOUNT_TABLE, CUSTOMER_TABLE, FeatureInputError, build_features
from transforms.standardise.hashing import hmac_hex

SNAP = dt.date(2026, 11, 1)


class MemoryLake:
    """The part of lake_io.Lake that build_features uses, holding tables in memory."""

    def __init__(self, spark, tables):
        self.spark, self.tables, self.writes = spark, dict(tables), []

    def exists(self, table):
        return table in self.tables

    def read(self, table, version=None):
        return self.tables[table]

    def write(self, df, table, mode="append", partition_by=None, replace_where=None, **kwargs):
        data = self.spark.createDataFrame(df.collect(), df.schema)
        if replace_where and table in self.tables:
            data = self.tables[table].where(f"NOT ({replace_where})").unionByName(data)
        self.tables[table] = data
        self.writes.append((table, mode, partition_by, replace_where))
        return len(self.writes)


def at(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(SNAP - dt.timedelta(days=days_ago), dt.time(4))


def silver(spark, key: bytes):
    openid_hash = hmac_hex(key, "oRAW1")
    return {
        "silver/identity_clusters": spark.createDataFrame(
            [("crm", "c1", "K_OLD", SNAP - dt.timedelta(days=1)), ("crm", "c1", "K1", SNAP), ("weibo", "u1", "K1", SNAP),
             ("wechat", "oRAW1", "K1", SNAP), ("crm", "c2", "K2", SNAP), ("crm", "c2", "K_FUTURE", SNAP + dt.timedelta(days=1))],
            "source string, record_id string, customer_key string, run_date date",
        ),
        "silver/crm_customers": spark.createDataFrame(
            [("c1", 10, dt.date(2024, 1, 1), True, "金卡"), ("c2", 0, dt.date(2026, 1, 1), False, "普通")],
            "customer_id string, points_balance int, register_date date, marketing_consent boolean, member_tier string",
        ),
        "silver/orders": spark.createDataFrame(
            [("o1", 1, "c1", at(2), (SNAP - dt.timedelta(days=2)), "store", "零食", Decimal("30.00")),
             ("o2", 1, "cX", at(2), (SNAP - dt.timedelta(days=2)), "store", "零食", Decimal("5.00"))],
            "order_id string, line_no int, customer_id string, order_time timestamp, order_date date, channel string, category string, amount decimal(18,2)",
        ),
        "silver/points": spark.createDataFrame([("c1", at(3), 5)], "customer_id string, txn_time timestamp, points_delta int"),
        "silver/social_accounts": spark.createDataFrame(
            [("weibo", "u1", "爱看展", ["艺术"], 10, 5, 3, False, None, at(9)),
             ("wechat", openid_hash, None, None, None, None, None, None, True, at(9))],
            "platform string, account_id string, description string, tags array<string>, followers_count long, friends_count long, "
            "statuses_count long, verified boolean, subscribed boolean, updated_at timestamp",
        ),
        "silver/posts": spark.createDataFrame(
            [("m1", "u1", at(1), "看展", ["看展"], {}, 0.7, 0, 0, 0), ("m2", "u9", at(1), "x", ["x"], {"悦肤": 1}, 0.9, 0, 0, 0)],
            "mid string, uid string, created_at timestamp, text string, tokens array<string>, brand_mentions map<string,int>, "
            "sentiment_positive_prob double, reposts_count long, comments_count long, attitudes_count long",
        ),
        "silver/interactions": spark.createDataFrame(
            [("e1", openid_hash, "push_read", at(1), None)],
            "event_id string, wechat_openid_hash string, event_type string, event_time timestamp, content string",
        ),
    }


def previous_run(spark, rows):
    """A customer table as an earlier run left it: only key columns filled."""
    from transforms.features import load_registry

    feats = load_registry().of("customer")
    data = spark.createDataFrame(rows, "customer_key string, snapshot_date date")
    return data.select(*[(F.col(f.name) if f.name in data.columns else F.lit(None)).cast(f.type).alias(f.name) for f in feats])


def test_build_features_reads_silver_and_writes_both_tables(spark, settings):
    from transforms.text import load_brand_lexicon

    tables = silver(spark, settings.hmac_key_bytes())
    tables[CUSTOMER_TABLE] = previous_run(spark, [("K_PREV", SNAP - dt.timedelta(days=1)), ("K_STALE", SNAP)])
    lake = MemoryLake(spark, tables)
    summary = build_features(settings, spark, SNAP, lake=lake)
    # The account table is replaced; the day's partition of the customer table is replaced.
    assert [(w[0], w[2], w[3]) for w in lake.writes] == [
        (ACCOUNT_TABLE, None, None), (CUSTOMER_TABLE, ["snapshot_date"], "snapshot_date = '2026-11-01'")]
    assert summary["missing_inputs"] == ["silver/follows"]
    assert (summary["customers"], summary["accounts"], summary["order_lines_without_key"], summary["posts_without_key"]) == (2, 2, 1, 1)
    assert summary["lifecycle_counts"] == {"new": 1, "prospect": 1} and summary["consent_share"] == 0.5
    assert summary["participation_shares"] == {"occasional": 1.0}
    assert summary["own_brands"] == [b.name for b in load_brand_lexicon().brands if b.role == "own"]
    rows = {(r["customer_key"], r["snapshot_date"]): r for r in lake.tables[CUSTOMER_TABLE].collect()}
    # The identity snapshot of the day (not the older or the later run) decides the keys.
    assert set(rows) == {("K_PREV", SNAP - dt.timedelta(days=1)), ("K1", SNAP), ("K2", SNAP)}
    k1 = rows[("K1", SNAP)]
    # WeChat: the raw openid of the cluster matched the hashed openid of the silver tables.
    assert (k1["wechat_accounts"], k1["push_reads_90d"], k1["wechat_subscribed"], k1["points_earned_365d"]) == (1, 1, 1, 5)
    assert (k1["orders_3y"], k1["posts_30d"], k1["marketing_consent"]) == (1, 1, True) and k1["interest_art"] > 0


def test_missing_column_names_table_and_fix(spark, settings):
    tables = silver(spark, settings.hmac_key_bytes())
    tables["silver/posts"] = tables["silver/posts"].drop("uid")
    with pytest.raises(FeatureInputError, match=r"silver/posts lacks column\(s\) \['uid'\]"):
        build_features(settings, spark, SNAP, lake=MemoryLake(spark, tables))
