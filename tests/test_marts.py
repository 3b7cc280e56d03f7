"""Gold marts on tiny hand-made inputs: every figure below is computed by hand from the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.testing import assertDataFrameEqual

from transforms.marts import (
    GoldParams,
    MartInputError,
    build_brand_sentiment_daily,
    build_crm_export_segments,
    build_dim_customer,
    build_fact_purchase,
    build_fact_social_activity,
    build_hot_topics_daily,
    build_identity_cluster_sizes,
    build_identity_quality_daily,
    build_share_of_voice_daily,
    calendar_rows,
)

D = dt.date
UTC = dt.timezone.utc


def ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC)


@pytest.fixture
def keys(spark):
    return spark.createDataFrame(
        [("crm", "C1", "K1"), ("crm", "C2", "K1"), ("weibo", "u1", "K1"), ("wechat", "h1", "K1"),
         ("crm", "C3", "K2"), ("weibo", "u2", "K3")],
        "source string, record_id string, customer_key string")


def test_dim_date_flags():
    rows = {r[1]: r for r in calendar_rows(D(2026, 2, 16), D(2026, 2, 24))}
    assert not rows[D(2026, 2, 16)][9] and rows[D(2026, 2, 17)][9] and rows[D(2026, 2, 23)][9]
    assert not rows[D(2026, 2, 24)][9]  # festival day + 6 days
    r618 = calendar_rows(D(2026, 6, 18), D(2026, 6, 18))[0]
    assert r618[0] == 20260618 and r618[11] and r618[14] == "618"
    d11 = calendar_rows(D(2026, 10, 19), D(2026, 11, 11))
    assert d11[0][14] is None and d11[1][14] == "双十一" and d11[-1][12]
    with pytest.raises(ValueError, match="Spring Festival"):
        calendar_rows(D(2040, 1, 1), D(2040, 1, 2))


def test_dim_customer_and_export(spark, keys):
    persons = spark.createDataFrame(
        [("crm", "C1", "f", None, "上海", "上海"), ("weibo", "u1", "m", 1958, "北京", "北京"),
         ("crm", "C3", None, None, None, None), ("weibo", "u2", None, 2001, "广东", "广州")],
        "source string, record_id string, gender string, birth_year int, province string, city string")
    crm = spark.createDataFrame(
        [("C1", "138****5678", "z***@qq.com", "gold", True, ts("2026-01-01 00:00:00")),
         ("C2", "13912345678", "a***@163.com", "silver", True, ts("2026-05-01 00:00:00")),  # clear phone: never published
         ("C3", "137****0001", None, "basic", False, ts("2026-01-01 00:00:00"))],
        "customer_id string, phone_masked string, email_masked string, member_tier string, marketing_consent boolean, "
        "updated_at timestamp")
    feats = spark.createDataFrame(
        [("K1", D(2026, 10, 31), "new", 3), ("K1", D(2026, 11, 1), "loyal", 10), ("K2", D(2026, 11, 1), "existing", 200)],
        "customer_key string, snapshot_date date, lifecycle_segment string, recency_days int")
    wx = spark.createDataFrame([("h1", True)], "account_id string, subscribed boolean")
    dim = build_dim_customer(keys, persons, crm, feats, D(2026, 11, 1), wx)
    got = {r["customer_key"]: r for r in dim.collect()}
    k1 = got["K1"]
    assert (k1.phone_masked, k1.email_masked, k1.member_tier) == ("138****5678", "a***@163.com", "silver")
    assert (k1.gender, k1.age_band, k1.city) == ("f", "65+", "上海")  # crm gender/city first, weibo birth year (68)
    assert (k1.crm_records, k1.weibo_accounts, k1.wechat_accounts, k1.has_wechat) == (2, 1, 1, True)
    assert (k1.lifecycle_segment, k1.recency_days, k1.feature_snapshot_date) == ("loyal", 10, D(2026, 11, 1))
    assert (k1.marketing_consent, k1.wechat_unsubscribed) == (True, False)
    assert got["K2"].marketing_consent is False and got["K2"].age_band is None
    k3 = got["K3"]
    assert (k3.age_band, k3.has_crm, k3.marketing_consent, k3.lifecycle_segment) == ("25-34", False, False, None)
    assert "birth_year" not in dim.columns and dim.schema["value_3y"].dataType.simpleString() == "decimal(18,2)"

    export = build_crm_export_segments(dim, keys, crm, GoldParams(winback_days=180))
    # K1 is loyal with consent on both CRM records; K2 is a win-back target without consent: not exported.
    assertDataFrameEqual(export.select("customer_key", "crm_customer_id", "segment"),
                         [("K1", "C1", "loyal_vip"), ("K1", "C2", "loyal_vip")])


def test_wechat_unsubscribe_withdraws_consent_and_empties_the_export(spark, keys):
    """K1 consents in the CRM, but her WeChat follower (h1) unsubscribed after its last follower record."""
    from transforms.consent import wechat_subscription_state

    persons = spark.createDataFrame([], "source string, record_id string, gender string, birth_year int, "
                                        "province string, city string")
    crm = spark.createDataFrame(
        [("C1", None, None, "gold", True, ts("2026-01-01 00:00:00")),
         ("C2", None, None, "gold", True, ts("2026-01-01 00:00:00")),
         ("C3", None, None, "basic", True, ts("2026-01-01 00:00:00"))],
        "customer_id string, phone_masked string, email_masked string, member_tier string, marketing_consent boolean, "
        "updated_at timestamp")
    feats = spark.createDataFrame([("K1", D(2026, 11, 1), "loyal", 10), ("K2", D(2026, 11, 1), "new", 5)],
                                  "customer_key string, snapshot_date date, lifecycle_segment string, recency_days int")
    accounts = spark.createDataFrame([("wechat", "h1", True, ts("2026-10-01 08:00:00"))],
                                     "platform string, account_id string, subscribed boolean, updated_at timestamp")
    events = spark.createDataFrame([("h1", "unsubscribe", ts("2026-10-20 09:00:00"))],
                                   "wechat_openid_hash string, event_type string, event_time timestamp")
    dim = build_dim_customer(keys, persons, crm, feats, D(2026, 11, 1), wechat_subscription_state(accounts, events))
    got = {r.customer_key: (r.has_wechat, r.wechat_unsubscribed, r.marketing_consent) for r in dim.collect()}
    # K1: CRM yes twice, WeChat unsubscribed -> no consent; K2: CRM yes, no WeChat; K3: no CRM record.
    assert got == {"K1": (True, True, False), "K2": (False, False, True), "K3": (False, False, False)}
    export = build_crm_export_segments(dim, keys, crm, GoldParams())
    # K1 (loyal) would be loyal_vip with C1 and C2: the unsubscribe keeps her out; K2 is new_welcome with C3.
    assertDataFrameEqual(export.select("customer_key", "crm_customer_id", "segment"), [("K2", "C3", "new_welcome")])


def test_fact_purchase_keeps_every_line(spark, keys):
    orders = spark.createDataFrame(
        [("O1", 1, "C1", ts("2026-10-31 17:00:00"), D(2026, 11, 1), "S1", "store", "cash", "P1", "面霜", "skin", 2,
          Decimal("50.00"), Decimal("100.00"), None, "CMP1"),
         ("O2", 1, "C9", ts("2026-11-01 02:00:00"), D(2026, 11, 1), "S1", "online", "alipay", "P2", "口红", "makeup", 1,
          Decimal("80.00"), Decimal("80.00"), "HY", None)],
        "order_id string, line_no int, customer_id string, order_time timestamp, order_date date, store_id string, "
        "channel string, payment_method string, product_id string, product_name string, category string, quantity int, "
        "unit_price decimal(18,2), amount decimal(18,2), coupon_code string, campaign_id string")
    fact = build_fact_purchase(orders, keys)
    assertDataFrameEqual(fact.select("order_id", "customer_key", "date_key", "order_month", "amount"),
                         [("O1", "K1", 20261101, D(2026, 11, 1), Decimal("100.00")),
                          ("O2", None, 20261101, D(2026, 11, 1), Decimal("80.00"))])


def test_fact_social_activity(spark, keys):
    posts = spark.createDataFrame(
        [("m1", "u1", D(2026, 11, 1), None, 3, 1, 5, {"花漾": 1}), ("m2", "u1", D(2026, 11, 1), "m0", 0, 0, 1, {}),
         ("m3", "u9", D(2026, 11, 1), None, 0, 0, 0, {"露薇": 2})],
        "mid string, uid string, created_date date, retweeted_mid string, reposts_count long, comments_count long, "
        "attitudes_count long, brand_mentions map<string,int>")
    inter = spark.createDataFrame(
        [("e1", "h1", "push_read", D(2026, 11, 1)), ("e2", "h1", "coupon_claim", D(2026, 11, 1)),
         ("e3", "h1", "push_read", D(2026, 11, 2))],
        "event_id string, wechat_openid_hash string, event_type string, event_date date")
    fact = build_fact_social_activity(posts, inter, keys, ["花漾"])
    assertDataFrameEqual(
        fact.select("customer_key", "platform", "activity_date", "posts", "reposts", "brand_posts", "likes_received",
                    "push_reads", "coupon_claims", "interactions_total"),
        [("K1", "weibo", D(2026, 11, 1), 2, 1, 1, 6, 0, 0, 2), (None, "weibo", D(2026, 11, 1), 1, 0, 0, 0, 0, 0, 1),
         ("K1", "wechat", D(2026, 11, 1), 0, 0, 0, 0, 1, 1, 2), ("K1", "wechat", D(2026, 11, 2), 0, 0, 0, 0, 1, 0, 1)])


def test_brand_sentiment_spike_share_of_voice_and_topics(spark):
    # 花漾 in 上海: 1 negative a day on Oct 1-28 (trailing avg 1.0), then 3 negatives + 1 positive on Oct 29.
    rows = [(f"n{i}", "u1", D(2026, 10, 1) + dt.timedelta(days=i), {"花漾": 1}, "neg", ["护肤"]) for i in range(28)]
    rows += [("s1", "u1", D(2026, 10, 29), {"花漾": 2}, "neg", ["翻车"]), ("s2", "u2", D(2026, 10, 29), {"花漾": 1}, "neg", ["翻车"]),
             ("s3", "u3", D(2026, 10, 29), {"花漾": 1, "露薇": 1}, "neg", ["翻车", "护肤"]),
             ("s4", "u1", D(2026, 10, 29), {"花漾": 1}, "pos", []),
             ("s5", "u9", D(2026, 10, 29), {"露薇": 1}, None, ["护肤"])]
    posts = spark.createDataFrame(rows, "mid string, uid string, created_date date, brand_mentions map<string,int>, "
                                        "sentiment_label string, hashtags array<string>")
    authors = spark.createDataFrame([("weibo", "u1", "上海"), ("weibo", "u2", "上海"), ("weibo", "u3", "上海"),
                                     ("wechat", "u9", "北京")], "platform string, account_id string, province string")
    roles = {"花漾": "own", "露薇": "competitor"}
    bs = build_brand_sentiment_daily(posts, authors, roles, params=GoldParams(spike_factor=2.0, spike_min_negatives=3))
    day = {(r.brand, r.region): r for r in bs.where("date = DATE'2026-10-29'").collect()}
    hy = day[("花漾", "上海")]
    assert (hy.mentions, hy.mention_count, hy.positive, hy.negative) == (4, 5, 1, 3)
    assert hy.negative_positive_ratio == 3.0 and hy.trailing_negative_avg == 1.0
    assert hy.negative_spike is True and hy.brand_negative_spike is True  # 3 >= max(3, 2 x 1.0)
    lw = day[("露薇", "未知")]  # u9 is a WeChat id: no Weibo province
    assert (lw.mentions, lw.unscored, lw.negative_positive_ratio, lw.negative_spike) == (1, 1, None, False)
    assert bs.where("date = DATE'2026-10-28'").first().negative_spike is False  # 1 < 3

    sov = {r.brand: r for r in build_share_of_voice_daily(posts, roles).where("date = DATE'2026-10-29'").collect()}
    assert (sov["花漾"].mentions, sov["露薇"].mentions, sov["花漾"].total_mentions) == (4, 2, 6)
    assert sov["花漾"].share_of_voice == pytest.approx(4 / 6)

    topics = build_hot_topics_daily(posts, authors, GoldParams(hot_topics_per_region=1))
    assertDataFrameEqual(topics.where("date = DATE'2026-10-29'").select("region", "topic", "posts", "authors", "rank"),
                         [("上海", "翻车", 3, 3, 1), ("未知", "护肤", 1, 1, 1)])


def test_identity_quality(spark):
    r = D(2026, 11, 1)
    clusters = spark.createDataFrame(
        [(r, "crm", "C1", "K1"), (r, "crm", "C2", "K1"), (r, "weibo", "u1", "K1"), (r, "crm", "C3", "K2"),
         (r, "weibo", "u2", "K3"), (r, "wechat", "w1", "K3")],
        "run_date date, source string, record_id string, customer_key string")
    links = spark.createDataFrame([(r, "crm", "weibo", "merged"), (r, "weibo", "crm", "merged"),
                                   (r, "crm", "crm", "merged"), (r, "weibo", "wechat", "review")],
                                  "run_date date, source_l string, source_r string, status string")
    review = spark.createDataFrame([(r, "wechat", "weibo")], "run_date date, source_l string, source_r string")
    q = {(x.source, x.other_source): x for x in build_identity_quality_daily(clusters, links, review).collect()}
    assert len(q) == 9
    assert (q[("crm", "weibo")].records, q[("crm", "weibo")].linked_records, q[("crm", "weibo")].merged_links) == (3, 2, 2)
    assert q[("crm", "weibo")].link_rate == pytest.approx(2 / 3)
    assert (q[("crm", "crm")].linked_records, q[("crm", "crm")].merged_links) == (2, 1)
    assert (q[("weibo", "wechat")].linked_records, q[("weibo", "wechat")].review_pairs) == (1, 1)
    assert q[("wechat", "crm")].link_rate == 0.0
    sizes = build_identity_cluster_sizes(clusters, review)
    assertDataFrameEqual(sizes.select("cluster_size", "clusters", "records", "review_queue_size"),
                         [(3, 1, 3, 1), (1, 1, 1, 1), (2, 1, 2, 1)])


def test_missing_column_is_named(spark, keys):
    with pytest.raises(MartInputError, match="orders lacks column"):
        build_fact_purchase(spark.createDataFrame([("O1",)], "order_id string"), keys)
