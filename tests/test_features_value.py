"""Value features (RFM, lifecycle, category shares, CRM profile) on hand-made orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from transforms.features.value import crm_profile, customer_value

SNAP = dt.date(2026, 11, 1)
ORDER_SCHEMA = "order_id string, line_no int, customer_id string, order_date date, channel string, category string, amount decimal(18,2)"
KEY_SCHEMA = "customer_id string, customer_key string"


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def orders_df(spark, rows):
    return spark.createDataFrame([(o, n, c, d(day), ch, cat, Decimal(a)) for o, n, c, day, ch, cat, a in rows], ORDER_SCHEMA)


def test_rfm_of_three_customers_and_a_prospect(spark):
    orders = orders_df(
        spark,
        [
            ("o1", 1, "cA", "2026-10-25", "store", "护肤", "60.00"),
            ("o1", 2, "cA", "2026-10-25", "store", "彩妆", "40.00"),
            ("o2", 1, "cA", "2026-06-01", "store", "护肤", "200.00"),
            ("o3", 1, "cA", "2025-12-01", "online", "护肤", "50.00"),
            ("o9", 1, "cA", "2026-11-05", "online", "护肤", "999.00"),  # after the snapshot: ignored
            ("o4", 1, "cB", "2026-09-01", "online", "彩妆", "500.00"),
            ("o5", 1, "cC", "2025-01-15", "store", "护肤", "80.00"),
            ("o6", 1, "cX", "2026-10-01", "store", "护肤", "10.00"),  # no identity key: left out
        ],
    )
    keys = spark.createDataFrame([("cA", "A"), ("cB", "B"), ("cC", "C"), ("cD", "D")], KEY_SCHEMA)
    out = customer_value(orders, keys, SNAP)
    got = out.select(
        "customer_key", "recency_days", "frequency_365d", "monetary_365d", "r_score", "f_score", "m_score",
        "orders_3y", "value_3y", "avg_order_value", "is_repeat_buyer", "repeat_purchase_rate",
        "orders_90d", "store_visit_days_90d", "purchase_months_12m", "lifecycle_segment", "category_share", "top_category",
    )
    # Recency: A 7 days, B 61, C 655 -> ranked worst first C, B, A: percent_rank 0, .5, 1 -> 1, 3, 5.
    # Frequency (365 d): C 0, B 1, A 3 -> 1, 3, 5.  Monetary (365 d): C 0, A 350, B 500 -> 1, 3, 5.
    # A bought in 2025-12, 2026-06, 2026-10: (3 - 1) / 11 months elapsed since 2025-12.
    expected = [
        Row(customer_key="A", recency_days=7, frequency_365d=3, monetary_365d=350.0, r_score=5, f_score=5, m_score=3,
            orders_3y=3, value_3y=350.0, avg_order_value=116.67, is_repeat_buyer=1, repeat_purchase_rate=2 / 11,
            orders_90d=1, store_visit_days_90d=1, purchase_months_12m=3, lifecycle_segment="existing",
            category_share={"护肤": round(310 / 350, 4), "彩妆": round(40 / 350, 4)}, top_category="护肤"),
        Row(customer_key="B", recency_days=61, frequency_365d=1, monetary_365d=500.0, r_score=3, f_score=3, m_score=5,
            orders_3y=1, value_3y=500.0, avg_order_value=500.0, is_repeat_buyer=0, repeat_purchase_rate=0.0,
            orders_90d=1, store_visit_days_90d=0, purchase_months_12m=1, lifecycle_segment="new",
            category_share={"彩妆": 1.0}, top_category="彩妆"),
        Row(customer_key="C", recency_days=(SNAP - d("2025-01-15")).days, frequency_365d=0, monetary_365d=0.0, r_score=1, f_score=1, m_score=1,
            orders_3y=1, value_3y=80.0, avg_order_value=80.0, is_repeat_buyer=0, repeat_purchase_rate=0.0,
            orders_90d=0, store_visit_days_90d=0, purchase_months_12m=0, lifecycle_segment="existing",
            category_share={"护肤": 1.0}, top_category="护肤"),
        Row(customer_key="D", recency_days=None, frequency_365d=0, monetary_365d=0.0, r_score=None, f_score=None, m_score=None,
            orders_3y=0, value_3y=0.0, avg_order_value=None, is_repeat_buyer=0, repeat_purchase_rate=None,
            orders_90d=0, store_visit_days_90d=0, purchase_months_12m=0, lifecycle_segment="prospect",
            category_share=None, top_category=None),
    ]
    assertDataFrameEqual(got, expected)


def test_lifecycle_loyal_needs_orders_span_and_recency(spark):
    rows = []
    # L: Miss Song, six orders from 2023-12 to 2026-10 (span > 730 days, last 20 days ago) -> loyal.
    for i, day in enumerate(["2023-12-10", "2024-05-01", "2024-11-11", "2025-06-18", "2026-03-08", "2026-10-12"]):
        rows.append((f"l{i}", 1, "cL", day, "store", "护肤", "100.00"))
    # S: six orders but all in 2026 (span < 730) -> existing.
    for i, day in enumerate(["2026-01-05", "2026-02-05", "2026-03-05", "2026-04-05", "2026-05-05", "2026-06-05"]):
        rows.append((f"s{i}", 1, "cS", day, "online", "护肤", "10.00"))
    # G: loyal history, but the last order is 400 days old -> existing.
    for i, day in enumerate(["2023-11-20", "2024-01-01", "2024-03-01", "2024-06-01", "2024-08-01", "2025-09-27"]):
        rows.append((f"g{i}", 1, "cG", day, "online", "护肤", "10.00"))
    keys = spark.createDataFrame([("cL", "L"), ("cS", "S"), ("cG", "G")], KEY_SCHEMA)
    got = customer_value(orders_df(spark, rows), keys, SNAP).select("customer_key", "orders_3y", "lifecycle_segment")
    assert (SNAP - d("2025-09-27")).days == 400
    assertDataFrameEqual(got, [Row(customer_key="L", orders_3y=6, lifecycle_segment="loyal"),
                               Row(customer_key="S", orders_3y=6, lifecycle_segment="existing"),
                               Row(customer_key="G", orders_3y=6, lifecycle_segment="existing")])


def test_crm_profile_merges_duplicate_records(spark):
    # consent is not read here: transforms.consent.person_consent is the one rule (tests/test_consent.py)
    customers = spark.createDataFrame(
        [("c1", 100, d("2020-01-01"), "银卡"), ("c2", 50, d("2021-05-05"), "金卡"), ("c3", 7, d("2026-10-01"), "普通")],
        "customer_id string, points_balance int, register_date date, member_tier string",
    )
    ts = dt.datetime
    points = spark.createDataFrame(
        [("c1", ts(2026, 10, 1, 2), 30), ("c1", ts(2026, 10, 2, 2), -10), ("c2", ts(2024, 1, 1, 2), 5), ("c3", ts(2026, 11, 2, 2), 99)],
        "customer_id string, txn_ts timestamp, points_delta int",
    )
    keys = spark.createDataFrame([("c1", "P"), ("c2", "P"), ("c3", "Q")], KEY_SCHEMA)
    got = crm_profile(customers, points, keys, SNAP)
    assertDataFrameEqual(
        got,
        [
            Row(customer_key="P", crm_records=2, points_balance=150, points_earned_365d=30, points_redeemed_365d=10,
                member_tier="金卡", tenure_days=(SNAP - d("2020-01-01")).days),
            Row(customer_key="Q", crm_records=1, points_balance=7, points_earned_365d=0, points_redeemed_365d=0,
                member_tier="普通", tenure_days=31),
        ],
    )
