"""The wide per-customer table and the account table, end to end on a hand-made world
(Miss Song, a beauty KOL she follows, Mr Wang without consent, Mr Zhao a CRM-only prospect,
Ms Li who consented in the CRM and then unsubscribed from the WeChat account),
and the registry that defines both tables and docs/features.md."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from transforms.features import (
    FeatureParams,
    build_account_features,
    build_customer_features,
    load_interest_taxonomy,
    load_registry,
    load_trait_lexicon,
    render_catalogue,
)

SNAP = dt.date(2026, 11, 1)
ROOT = Path(__file__).resolve().parents[1]


def at(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(SNAP - dt.timedelta(days=days_ago), dt.time(4))


def world(spark):
    clusters = spark.createDataFrame(
        [("crm", "c_song", "K_SONG"), ("weibo", "u_song", "K_SONG"), ("wechat", "o_song", "K_SONG"), ("weibo", "u_kol", "K_KOL"),
         ("crm", "c_wang", "K_WANG"), ("weibo", "u_wang", "K_WANG"), ("crm", "c_zhao", "K_ZHAO"),
         ("crm", "c_li", "K_LI"), ("wechat", "o_li", "K_LI")],
        "source string, record_id string, customer_key string",
    )
    customers = spark.createDataFrame(
        [("c_song", 1200, dt.date(2023, 1, 5), True, "钻石"), ("c_wang", 10, dt.date(2026, 1, 1), False, "普通"),
         ("c_zhao", 0, dt.date(2026, 10, 30), True, "普通"), ("c_li", 0, dt.date(2025, 1, 1), True, "普通")],
        "customer_id string, points_balance int, register_date date, marketing_consent boolean, member_tier string",
    )
    song_days = [dt.date(2023, 12, 10), dt.date(2024, 5, 1), dt.date(2024, 11, 11), dt.date(2025, 6, 18), dt.date(2026, 3, 8), SNAP - dt.timedelta(days=3)]
    order_rows = [(f"s{i}", 1, "c_song", dt.datetime.combine(d, dt.time(4)), d, "store", "零食", Decimal("100.00")) for i, d in enumerate(song_days)]
    order_rows.append(("w1", 1, "c_wang", at(12), SNAP - dt.timedelta(days=12), "online", "数码", Decimal("88.00")))
    orders = spark.createDataFrame(
        order_rows, "order_id string, line_no int, customer_id string, order_ts timestamp, order_date date, channel string, category string, amount decimal(18,2)"
    )
    points = spark.createDataFrame([("c_song", at(20), 100)], "customer_id string, txn_ts timestamp, points_delta int")
    accounts = spark.createDataFrame(
        [("weibo", "u_song", "复旦毕业，在银行上班，收入不错", ["艺术", "多肉", "零食"], 300, 200, 1000, False, None, at(30)),
         ("weibo", "u_kol", "美妆博主，护肤心得", ["美妆"], 20_000, 100, 5000, True, None, at(30)),
         ("weibo", "u_wang", "清华毕业 游戏玩家", [], 50, 10, 20, False, None, at(30)),
         ("wechat", "o_song", None, None, None, None, None, None, True, at(30)),
         # Ms Li's follower record still says subscribed: her unsubscribe event (below) is newer
         ("wechat", "o_li", None, None, None, None, None, None, True, at(40))],
        "platform string, account_id string, description string, tags array<string>, followers_count long, friends_count long, "
        "statuses_count long, verified boolean, subscribed boolean, updated_at timestamp",
    )
    post_rows = [
        ("m1", "u_song", at(20), "今天领证啦，我们结婚了！", ["今天", "领证", "啦", "我们", "结婚", "了"], 0, 0.95),
        ("m2", "u_song", at(5), "周末去看展", ["周末", "去", "看展"], 0, 0.8),
        ("m3", "u_song", at(3), "我的多肉又长大了", ["我", "的", "多", "肉", "又", "长大", "了"], 0, 0.7),
        ("m4", "u_song", at(2), "零食控，薯片停不下来", ["零食", "控", "薯片", "停不下来"], 0, 0.9),
        ("k1", "u_kol", at(5), "悦肤雪肌霜真好用", ["悦肤", "雪肌霜", "真", "好用"], 1, 0.9),
        ("k2", "u_kol", at(6), "悦肤防晒乳推荐", ["悦肤", "防晒乳", "推荐"], 1, 0.8),
        ("k3", "u_kol", at(35), "悦肤精华水", ["悦肤", "精华水"], 1, 0.9),
        ("k4", "u_kol", at(36), "悦肤护肤", ["悦肤", "护肤"], 1, 0.9),
        ("w1", "u_wang", at(1), "王者荣耀开黑", ["王者荣耀", "开黑"], 0, 0.6),
    ]
    posts = spark.createDataFrame(
        [(m, u, ts, text, toks, 100 if u == "u_kol" else 0, 20 if u == "u_kol" else 0, 0, b, p) for m, u, ts, text, toks, b, p in post_rows],
        "mid string, uid string, created_ts timestamp, text string, tokens array<string>, reposts_count long, comments_count long, "
        "attitudes_count long, own_brand_mentions int, sentiment_positive_prob double",
    )
    interactions = spark.createDataFrame(
        [("e1", "o_song", "push_read", at(1), None), ("e2", "o_song", "coupon_claim", at(4), None),
         ("e3", "o_song", "service_chat", at(6), "请问新婚礼盒还有吗"),
         ("l1", "o_li", "service_chat", at(20), "今天领证啦，我们结婚了！"), ("l2", "o_li", "unsubscribe", at(3), None)],
        "event_id string, openid string, event_type string, event_ts timestamp, content string",
    )
    follows = spark.createDataFrame([("u_song", "u_kol"), ("u_wang", "u_kol")], "follower_uid string, followee_uid string")
    return clusters, customers, orders, points, accounts, posts, interactions, follows


@pytest.fixture(scope="module")
def tables(spark):
    clusters, customers, orders, points, accounts, posts, interactions, follows = world(spark)
    reg, params = load_registry(), FeatureParams()
    acc = build_account_features(accounts, posts, interactions, follows, clusters, orders, SNAP, reg, params)
    acc_rows = acc.collect()
    acc_df = spark.createDataFrame(acc_rows, acc.schema)
    cust = build_customer_features(clusters, customers, orders, points, accounts, posts, interactions, acc_df, SNAP, reg,
                                   load_interest_taxonomy(), load_trait_lexicon(), params)
    return {r["account_id"]: r for r in acc_rows}, {r["customer_key"]: r for r in cust.collect()}, acc.columns, cust.columns


def test_tables_have_exactly_the_registry_columns(tables):
    _, _, acc_cols, cust_cols = tables
    reg = load_registry()
    assert acc_cols == reg.columns("account")
    assert cust_cols == reg.columns("customer")


def test_account_features(tables):
    acc, _, _, _ = tables
    assert set(acc) == {"u_song", "u_kol", "u_wang", "o_song", "o_li"}
    # WeChat subscription is the latest state: Ms Li's unsubscribe event is newer than her follower record
    assert (acc["o_song"]["subscribed"], acc["o_li"]["subscribed"]) == (True, False)
    kol = acc["u_kol"]
    # Miss Song follows the KOL and bought two days after its brand post of day -5.
    assert (kol["converted_followers_90d"], kol["reposts_received_90d"], kol["brand_posts_90d"]) == (1, 400, 4)
    assert (kol["kol_tier"], kol["is_ally"], kol["ally_drift"]) == ("micro", 1, 0)
    assert kol["brand_sentiment_change_30d"] == pytest.approx(0.85 - 0.9)
    assert (acc["u_song"]["kol_tier"], acc["u_song"]["posts_30d"], acc["u_song"]["participation_segment"]) == ("none", 4, "occasional")
    wx = acc["o_song"]
    # Active WeChat events: the coupon claim and the service chat (the push read is lurking).
    assert (wx["platform"], wx["customer_key"], wx["push_reads_90d"], wx["coupon_claims_90d"], wx["activity_90d"]) == ("wechat", "K_SONG", 1, 1, 2)
    assert wx["influence_score"] is None and wx["kol_tier"] is None


def test_miss_song_becomes_numbers_beside_her_value(tables):
    _, cust, _, _ = tables
    song = cust["K_SONG"]
    assert song["snapshot_date"] == SNAP and song["marketing_consent"] is True
    assert (song["crm_records"], song["weibo_accounts"], song["wechat_accounts"]) == (1, 1, 1)
    # Six orders from 2023-12 to three days ago: loyal; 2 orders / 200 yuan in 365 days.
    assert (song["lifecycle_segment"], song["orders_3y"], song["value_3y"], song["frequency_365d"], song["monetary_365d"]) == ("loyal", 6, 600.0, 2, 200.0)
    # Buyers: Song (3 days, 2 orders, 200) and Wang (12 days, 1 order, 88): Song tops all three.
    assert (song["r_score"], song["f_score"], song["m_score"]) == (5, 5, 5)
    assert (cust["K_WANG"]["r_score"], cust["K_WANG"]["f_score"], cust["K_WANG"]["m_score"]) == (1, 1, 1)
    assert song["category_share"] == {"零食": 1.0} and song["points_balance"] == 1200 and song["member_tier"] == "钻石"
    # Traits: elite school, stable job, good income, just married (the post of day -20 is the earliest).
    assert (song["edu_elite_school"], song["edu_level_score"], song["income_stable_job"]) == (1, 1.0, 1)
    assert song["income_signal_score"] == pytest.approx(0.7)
    assert (song["life_event_wedding"], song["life_event_wedding_date"]) == (1, SNAP - dt.timedelta(days=20))
    # Likes art, keeps succulents, loves snacks; nothing about cars.
    for key in ("art", "plants", "food_snacks"):
        assert song[f"interest_{key}"] > 0.3, key
    assert song["interest_cars"] == 0.0 and song["top_interest"] in ("art", "plants", "food_snacks")
    # Activity: 4 posts + a coupon claim + a service chat in 30 days -> occasional; WeChat subscribed.
    assert (song["activity_30d"], song["activity_90d"], song["participation_segment"], song["wechat_subscribed"]) == (6, 6, "occasional", 1)
    assert 0 < song["engagement_involvement"] < 1 and 0 < song["engagement_interaction"] < 1
    assert song["kol_tier"] == "none" and song["is_ally"] == 0


def test_consent_masks_marketing_features_only(tables):
    _, cust, _, _ = tables
    wang, kol = cust["K_WANG"], cust["K_KOL"]
    assert wang["marketing_consent"] is False and kol["marketing_consent"] is False  # a "no", and no CRM record
    for row in (wang, kol):
        assert row["interest_games"] is None and row["top_interest"] is None and row["edu_elite_school"] is None
        assert row["life_event_wedding"] is None and row["income_signal_score"] is None
    # Non-marketing features stay.
    assert (wang["lifecycle_segment"], wang["orders_3y"], wang["participation_segment"]) == ("new", 1, "occasional")
    assert (kol["lifecycle_segment"], kol["kol_tier"], kol["is_ally"]) == ("prospect", "micro", 1)
    assert kol["influence_score"] > 0.3


def test_wechat_unsubscribe_withdraws_consent(tables):
    _, cust, _, _ = tables
    li, song = cust["K_LI"], cust["K_SONG"]
    # CRM consent yes, but the WeChat unsubscribe (a withdrawal of marketing consent) wins
    assert (li["wechat_unsubscribed"], li["marketing_consent"], li["wechat_subscribed"]) == (True, False, 0)
    assert (song["wechat_unsubscribed"], song["marketing_consent"]) == (False, True)
    # her chat says just married (Miss Song's post with the same words gives life_event_wedding = 1): masked
    assert li["life_event_wedding"] is None and li["life_event_wedding_date"] is None and li["top_interest"] is None
    # her own dealings with the brand stay
    assert (li["service_chats_90d"], li["activity_90d"], li["wechat_accounts"]) == (1, 1, 1)
    assert all(cust[k]["wechat_unsubscribed"] is False for k in ("K_KOL", "K_WANG", "K_ZHAO"))


def test_crm_only_prospect(tables):
    _, cust, _, _ = tables
    zhao = cust["K_ZHAO"]
    assert (zhao["lifecycle_segment"], zhao["orders_3y"], zhao["r_score"], zhao["participation_segment"]) == ("prospect", 0, None, None)
    assert zhao["marketing_consent"] is True and zhao["interest_art"] is None and zhao["influence_score"] is None
    assert (zhao["engagement_involvement"], zhao["engagement_influence"]) == (0.0, 0.0)


def test_catalogue_is_generated_from_the_registry():
    reg = load_registry()
    doc = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert doc == render_catalogue(reg), "docs/features.md is stale: python -m transforms.features > docs/features.md"
    for f in reg.features:
        assert f"`{f.name}`" in doc and f.definition and f.unit and f.range and f.source


def test_registry_marks_inferred_traits_as_marketing():
    reg = load_registry()
    masked = set(reg.marketing_columns())
    assert {"interest_art", "top_interest", "life_event_wedding", "life_event_wedding_date", "edu_elite_school", "income_signal_score"} <= masked
    assert not masked & {"customer_key", "marketing_consent", "value_3y", "r_score", "participation_segment", "influence_score"}
    assert len([c for c in reg.columns("customer") if c.startswith("interest_")]) >= 15
