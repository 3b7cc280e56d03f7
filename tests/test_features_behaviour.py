"""Behaviour features on hand-made accounts: participation, influence, KOL tier, allies, engagement."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from transforms.features.behaviour import (
    allies,
    calibrate_participation,
    engagement_axes,
    influence_scores,
    kol_tier,
    participation_segment,
    wechat_activity,
    weibo_post_activity,
)
from transforms.features.params import ParticipationRule

SNAP = dt.date(2026, 11, 1)
POST_SCHEMA = "uid string, created_ts timestamp, own_brand_mentions int, sentiment_positive_prob double"


def at(days_ago: int, hour_utc: int = 4) -> dt.datetime:
    """A UTC timestamp whose Shanghai date is ``days_ago`` days before the snapshot (04:00 UTC = 12:00 local)."""
    return dt.datetime.combine(SNAP - dt.timedelta(days=days_ago), dt.time(hour_utc))


def test_participation_of_three_accounts(spark):
    rows = [("u1", at(i), 0, None) for i in range(0, 25, 5)]  # 5 posts in the last 30 days
    rows += [("u1", at(30 + i), 0, None) for i in range(8)]  # 8 more in days 30-37
    rows += [("u2", at(40), 0, None), ("u2", at(89), 0, None)]  # 2 in 90 days
    rows += [("u2", at(90), 0, None)]  # day 90 is outside the 90-day window
    rows += [("u3", at(120), 0, None)]  # only old posts
    # 2026-11-01 17:00 UTC is 2026-11-02 01:00 in Shanghai: after the snapshot day, ignored.
    rows += [("u3", dt.datetime(2026, 11, 1, 17), 0, None)]
    posts = spark.createDataFrame(rows, POST_SCHEMA)
    accounts = spark.createDataFrame([("u1",), ("u2",), ("u3",)], "uid string")
    act = weibo_post_activity(posts, SNAP, "Asia/Shanghai")
    got = accounts.join(act, "uid", "left").select(
        "uid", "posts_30d", "posts_90d", participation_segment(F.col("posts_30d"), F.col("posts_90d")).alias("segment")
    )
    assertDataFrameEqual(
        got,
        [Row(uid="u1", posts_30d=5, posts_90d=13, segment="creator"),
         Row(uid="u2", posts_30d=0, posts_90d=2, segment="occasional"),
         Row(uid="u3", posts_30d=None, posts_90d=None, segment="silent")],
    )


def test_creator_needs_the_last_30_days_too(spark):
    df = spark.createDataFrame([(3, 20), (4, 12), (0, 1), (0, 0)], "a30 int, a90 int")
    rule = ParticipationRule(creator_min_30d=4, creator_min_90d=12, silent_max_90d=0)
    got = [r[0] for r in df.select(participation_segment(F.col("a30"), F.col("a90"), rule)).collect()]
    assert got == ["occasional", "creator", "occasional", "silent"]


def test_calibration_reproduces_the_5_75_20_shares(spark):
    # 20 accounts: 4 silent, 15 posting 1-8 times, 1 heavy poster (40 in 90 days, 15 in 30).
    a90 = [0] * 4 + [1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 8] + [40]
    a30 = [0] * 4 + [0, 1, 0, 1, 2, 1, 1, 2, 1, 2, 3, 2, 3, 3, 4] + [15]
    df = spark.createDataFrame(list(zip(a30, a90)), "activity_30d int, activity_90d int")
    rule = calibrate_participation(df)
    # silent: share(a90 <= 0) = 4/20 = 20% exactly; creator: share(a90 >= 40) = 1/20 = 5%.
    assert rule == ParticipationRule(creator_min_30d=13, creator_min_90d=40, silent_max_90d=0)
    seg = participation_segment(F.col("activity_30d"), F.col("activity_90d"), rule)
    shares = {r[0]: r[1] / 20 for r in df.groupBy(seg).count().collect()}
    assert shares == {"creator": 0.05, "occasional": 0.75, "silent": 0.20}


def test_wechat_activity_counts_events_in_windows(spark):
    ev = spark.createDataFrame(
        [("o1", "push_read", at(1)), ("o1", "push_read", at(89)), ("o1", "push_read", at(90)), ("o1", "service_chat", at(10)),
         ("o1", "service_chat", at(45)), ("o1", "coupon_claim", at(3)), ("o1", "menu_click", at(3)), ("o1", "subscribe", at(3)),
         ("o2", "menu_click", at(-1))],
        "openid string, event_type string, event_ts timestamp",
    )
    got = wechat_activity(ev, SNAP)
    # Active events (chat, click, coupon; not reads): day 10 chat, day 3 coupon and click in 30 days, plus day 45 chat in 90.
    assertDataFrameEqual(got, [Row(openid="o1", push_reads_90d=2, menu_clicks_90d=1, service_chats_90d=2, coupon_claims_90d=1,
                                   service_chats_30d=1, active_events_30d=3, active_events_90d=4)])


def test_influence_comes_from_what_followers_do_not_follower_count(spark):
    accounts = spark.createDataFrame([("K", 20_000), ("P", 50_000), ("F1", 10)], "account_id string, followers_count long")
    posts = spark.createDataFrame(
        [("K", at(12), 30, 10, 100, 1), ("K", at(120), 9000, 9000, 9000, 1), ("P", at(11), 0, 0, 0, 0)],
        "uid string, created_ts timestamp, reposts_count int, comments_count int, attitudes_count int, own_brand_mentions int",
    )
    follows = spark.createDataFrame(
        [("F1", "K"), ("F2", "K"), ("F3", "P"), ("G1", "F1"), ("G2", "F1"), ("G2", "F2"), ("K", "F1"), ("F2", "F1"), ("F1", "K")],
        "follower_uid string, followee_uid string",
    )
    keys = spark.createDataFrame([("K", "pK"), ("F1", "pF1"), ("F2", "pF2"), ("F3", "pF3")], "account_id string, customer_key string")
    actions = spark.createDataFrame(
        [("pF1", at(10)),  # two days after K's brand post: converted
         ("pF2", at(1)),  # eleven days after: too late
         ("pF2", at(13)),  # before the post
         ("pF3", at(10)),  # P's post does not mention the brand: no exposure
         ("pK", at(11))],  # K's own purchase never counts
        "customer_key string, action_ts timestamp",
    )
    got = influence_scores(accounts, posts, follows, keys, actions, SNAP).orderBy("account_id").collect()
    by_id = {r["account_id"]: r for r in got}
    k, p, f1 = by_id["K"], by_id["P"], by_id["F1"]
    # K: followers F1, F2; their followers G1, G2, K, F2 -> second degree {G1, G2}.
    assert (k["reposts_received_90d"], k["comments_received_90d"], k["likes_received_90d"]) == (30, 10, 100)
    assert (k["reach_2nd_degree"], k["converted_followers_90d"]) == (2, 1)
    # F1: followers G1, G2, K, F2; their followers are F1 itself or F1's own followers -> 0.
    assert (f1["reach_2nd_degree"], p["reach_2nd_degree"], p["converted_followers_90d"]) == (0, 0, 0)
    expected_k = (0.35 * (1 - math.exp(-50 / 50)) + 0.30 * (1 - math.exp(-1 / 3))
                  + 0.20 * math.log1p(2) / math.log1p(10_000) + 0.15 * math.log1p(20_000) / math.log1p(1_000_000))
    expected_p = 0.15 * math.log1p(50_000) / math.log1p(1_000_000)
    assert k["influence_score"] == pytest.approx(expected_k)
    assert p["influence_score"] == pytest.approx(expected_p)
    assert k["influence_score"] > p["influence_score"]
    tiers = dict(
        spark.createDataFrame([("K", 20_000, expected_k), ("P", 50_000, expected_p), ("T", 2_000_000, 0.5), ("M", 200_000, 0.2), ("S", 500, 0.9)],
                              "id string, f long, i double")
        .select("id", kol_tier(F.col("f"), F.col("i")).alias("t")).collect()
    )
    # P has more followers than K but they never act: influence 0.12 < 0.2 -> no tier.
    assert tiers == {"K": "micro", "P": "none", "T": "top", "M": "mid", "S": "none"}


def test_ally_and_ally_drift_over_two_periods(spark):
    rows = [
        # A1: previous period 0.9, 0.8 (mean .85), last period 0.5, 0.6 (mean .55): fell by .30 -> drift.
        ("A1", at(40), 1, 0.9), ("A1", at(50), 1, 0.8), ("A1", at(5), 1, 0.5), ("A1", at(6), 2, 0.6),
        ("A1", at(7), 0, 0.0),  # no brand mention: not part of the brand sentiment
        # A2: .8, .8 then .7: fell by .1 only; 90-day mean .767 over 3 posts -> ally, no drift.
        ("A2", at(35), 1, 0.8), ("A2", at(36), 1, 0.8), ("A2", at(2), 1, 0.7),
        # A3: big fall but not a KOL.
        ("A3", at(40), 1, 0.9), ("A3", at(41), 1, 0.9), ("A3", at(1), 1, 0.2),
        # A4: a KOL that never leaned our way (.4 -> .1): no drift, not an ally.
        ("A4", at(40), 1, 0.4), ("A4", at(41), 1, 0.4), ("A4", at(1), 1, 0.1),
    ]
    posts = spark.createDataFrame(rows, POST_SCHEMA)
    tiers = spark.createDataFrame([("A1", "micro"), ("A2", "top"), ("A3", "none"), ("A4", "mid")], "uid string, kol_tier string")
    got = allies(weibo_post_activity(posts, SNAP).join(tiers, "uid")).select(
        "uid", "brand_posts_90d", "brand_sentiment_90d", "brand_sentiment_30d", "brand_sentiment_prev_30d",
        "brand_sentiment_change_30d", "is_ally", "ally_drift",
    )
    assertDataFrameEqual(
        got,
        [Row(uid="A1", brand_posts_90d=4, brand_sentiment_90d=0.7, brand_sentiment_30d=0.55, brand_sentiment_prev_30d=0.85,
             brand_sentiment_change_30d=-0.3, is_ally=1, ally_drift=1),
         Row(uid="A2", brand_posts_90d=3, brand_sentiment_90d=2.3 / 3, brand_sentiment_30d=0.7, brand_sentiment_prev_30d=0.8,
             brand_sentiment_change_30d=-0.1, is_ally=1, ally_drift=0),
         Row(uid="A3", brand_posts_90d=3, brand_sentiment_90d=2.0 / 3, brand_sentiment_30d=0.2, brand_sentiment_prev_30d=0.9,
             brand_sentiment_change_30d=-0.7, is_ally=0, ally_drift=0),
         Row(uid="A4", brand_posts_90d=3, brand_sentiment_90d=0.3, brand_sentiment_30d=0.1, brand_sentiment_prev_30d=0.4,
             brand_sentiment_change_30d=-0.3, is_ally=0, ally_drift=0)],
    )


def test_engagement_axes_formulas(spark):
    cols = ("push_reads_90d long, menu_clicks_90d long, store_visit_days_90d long, service_chats_90d long, coupon_claims_90d long, "
            "brand_posts_90d long, orders_90d long, brand_sentiment_90d double, purchase_months_12m long, wechat_subscribed int, influence_score double")
    df = spark.createDataFrame([(6, 2, 1, 1, 1, 2, 1, 0.8, 6, 1, 0.4), (None,) * 11], cols)
    got = engagement_axes(df).select("engagement_involvement", "engagement_interaction", "engagement_intimacy", "engagement_influence", "engagement_index").collect()
    inv = 1 - math.exp(-(6 + 2 + 2 * 1) / 10)  # reads + clicks + 2 x store-visit days
    inter = 1 - math.exp(-(1 + 1 + 2 + 1) / 5)  # chats + coupons + brand posts + orders
    intim = (0.8 + 6 / 12 + 1) / 3
    assert got[0].asDict() == pytest.approx(
        {"engagement_involvement": inv, "engagement_interaction": inter, "engagement_intimacy": intim,
         "engagement_influence": 0.4, "engagement_index": (inv + inter + intim + 0.4) / 4}
    )
    # Nothing known: zero involvement/interaction/influence, unknown intimacy, index over three axes.
    assert got[1].asDict() == {"engagement_involvement": 0.0, "engagement_interaction": 0.0, "engagement_intimacy": None,
                               "engagement_influence": 0.0, "engagement_index": 0.0}
