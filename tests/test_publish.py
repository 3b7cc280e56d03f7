"""publish_gold end to end on a tiny hand-made silver layer, read back by an independent reader
(deltalake -> Arrow -> DuckDB), scanned for clear personal data, and documented by table_docs."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from decimal import Decimal

import pytest

D = dt.date
UTC = dt.timezone.utc
RUN = D(2026, 11, 1)
# WeChat record ids as the identity tables and silver store them: HMACs of the openid (64 hex)
H1, H5 = "a1" * 32, "a5" * 32


def ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=UTC)


SILVER = {
    "silver/identity_clusters": (
        "source string, record_id string, customer_key string, key_since date, run_date date",
        [("crm", "C1", "K1", RUN, RUN), ("weibo", "u1", "K1", RUN, RUN), ("wechat", H1, "K1", RUN, RUN),
         ("crm", "C2", "K2", RUN, RUN), ("weibo", "u2", "K3", RUN, RUN), ("weibo", "hy", "K4", RUN, RUN),
         # K5 consented in the CRM but unsubscribed from the WeChat account (event e4 below)
         ("crm", "C5", "K5", RUN, RUN), ("wechat", H5, "K5", RUN, RUN)]),
    "silver/identity_links": (
        "run_date date, source_l string, record_id_l string, source_r string, record_id_r string, status string",
        [(RUN, "crm", "C1", "weibo", "u1", "merged"), (RUN, "crm", "C1", "wechat", H1, "merged")]),
    "silver/identity_review_queue": (
        "run_date date, source_l string, record_id_l string, source_r string, record_id_r string, reason string",
        [(RUN, "crm", "C2", "weibo", "u2", "uncertain")]),
    "silver/person_records": (
        "source string, record_id string, gender string, birth_year int, province string, city string",
        [("crm", "C1", "f", None, "上海", "上海"), ("weibo", "u1", "f", 1994, "上海", "上海"),
         ("crm", "C2", "m", None, "北京", "北京"), ("weibo", "u2", None, 1955, "北京", "北京")]),
    "silver/crm_customers": (
        "customer_id string, phone_hash string, phone_masked string, email_masked string, member_tier string, "
        "marketing_consent boolean, updated_at timestamp",
        [("C1", "a" * 64, "138****5678", "z***@qq.com", "gold", True, ts("2026-01-01 00:00:00")),
         # a clear number where a masked one belongs must never reach gold
         ("C2", "b" * 64, "13912345678", None, "basic", False, ts("2026-01-01 00:00:00")),
         ("C5", "c" * 64, None, None, "gold", True, ts("2026-01-01 00:00:00"))]),
    "silver/orders": (
        "order_id string, line_no int, customer_id string, order_time timestamp, order_date date, store_id string, "
        "channel string, payment_method string, product_id string, product_name string, category string, "
        "quantity int, unit_price decimal(18,2), amount decimal(18,2), coupon_code string, campaign_id string",
        [("O1", 1, "C1", ts("2026-10-30 02:00:00"), D(2026, 10, 30), "S1", "online", "alipay", "P1", "面霜", "skin",
          1, Decimal("60.00"), Decimal("60.00"), "HY1111-26", "CMP1"),
         ("O1", 2, "C1", ts("2026-10-30 02:00:00"), D(2026, 10, 30), "S1", "online", "alipay", "P2", "口红", "makeup",
          1, Decimal("40.00"), Decimal("40.00"), "HY1111-26", "CMP1"),
         ("O2", 1, "C2", ts("2026-10-31 03:00:00"), D(2026, 10, 31), "S2", "store", "cash", "P1", "面霜", "skin",
          1, Decimal("50.00"), Decimal("50.00"), None, None),
         ("O3", 1, "C1", ts("2026-11-03 03:00:00"), D(2026, 11, 3), "S2", "store", "cash", "P1", "面霜", "skin",
          1, Decimal("70.00"), Decimal("70.00"), None, None)]),  # after the run date: not published
    "silver/campaigns": (
        "campaign_id string, name string, platform string, start_date date, end_date date, coupon_code string, "
        "discount decimal(18,2)",
        [("CMP1", "双十一狂欢", "all", D(2026, 10, 20), D(2026, 11, 11), "HY1111-26", Decimal("0.75")),
         ("CMP2", "公众号会员日10月", "wechat", D(2026, 10, 15), D(2026, 10, 17), "WXVIP-2610", Decimal("0.90"))]),
    "silver/social_accounts": (
        "platform string, account_id string, nickname string, province string, subscribed boolean, "
        "subscribe_time timestamp, wechat_openid_hash string, updated_at timestamp",
        [("weibo", "u1", "小美", "上海", None, None, None, ts("2026-10-01 00:00:00")),
         ("weibo", "u2", "老王", "北京", None, None, None, ts("2026-10-01 00:00:00")),
         ("weibo", "hy", "花漾", "上海", None, None, None, ts("2026-10-01 00:00:00")),
         ("wechat", H1, "美美", "上海", True, ts("2026-10-16 01:00:00"), H1, ts("2026-10-16 01:00:00")),
         # the follower record of h5 still says subscribed: the unsubscribe event e4 is newer
         ("wechat", H5, "小五", "上海", True, None, H5, ts("2026-10-01 00:00:00"))]),
    "silver/posts": (
        "mid string, uid string, created_at timestamp, created_date date, text string, retweeted_mid string, "
        "reposts_count long, comments_count long, attitudes_count long",
        [("m1", "u1", ts("2026-10-29 02:00:00"), D(2026, 10, 29), "#双十一狂欢# 花漾的面霜太好用了，超级喜欢！", None, 2, 1, 5),
         ("m2", "u2", ts("2026-10-31 02:00:00"), D(2026, 10, 31), "露薇的粉底真难用，失望", None, 0, 0, 0),
         ("m3", "u1", ts("2026-10-31 05:00:00"), D(2026, 10, 31), "又回购了花漾，推荐 联系我13800138000", None, 0, 0, 1)]),
    "silver/interactions": (
        "event_id string, wechat_openid_hash string, event_type string, event_time timestamp, event_date date, "
        "article_id string, coupon_code string, campaign_id string",
        [("e1", H1, "subscribe", ts("2026-10-16 01:00:00"), D(2026, 10, 16), None, None, "CMP2"),
         ("e2", H1, "coupon_claim", ts("2026-10-28 01:00:00"), D(2026, 10, 28), None, "HY1111-26", "CMP1"),
         ("e3", H1, "push_read", ts("2026-10-29 01:00:00"), D(2026, 10, 29), "A1", None, None),
         # after the run date, yet it counts: consent is the latest known state (a backfill never undoes a withdrawal)
         ("e4", H5, "unsubscribe", ts("2026-11-02 01:00:00"), D(2026, 11, 2), None, None, None)]),
    "silver/follows": ("follower_uid string, followee_uid string, created_at timestamp",
                       [("u1", "hy", ts("2026-10-01 00:00:00")), ("u2", "u1", ts("2026-10-01 00:00:00"))]),
    "silver/features_customer_daily": (
        "customer_key string, snapshot_date date, lifecycle_segment string, recency_days int, value_3y double, "
        "kol_tier string, is_ally int, ally_drift int",
        [("K1", RUN, "loyal", 2, 100.0, "micro", 1, 0), ("K2", RUN, "existing", 1, 50.0, None, None, None),
         ("K3", RUN, "prospect", None, 0.0, "none", 0, 0), ("K5", RUN, "loyal", 3, 80.0, None, None, None)]),
    "silver/features_account": (
        "platform string, account_id string, customer_key string, snapshot_date date, followers_count long, "
        "influence_score double, kol_tier string, reach_2nd_degree long, converted_followers_90d long, "
        "reposts_received_90d long, comments_received_90d long, likes_received_90d long, brand_posts_90d long, "
        "brand_sentiment_90d double, brand_sentiment_30d double, brand_sentiment_prev_30d double, "
        "brand_sentiment_change_30d double, is_ally int, ally_drift int",
        [("weibo", "u1", "K1", RUN, 20000, 0.5, "micro", 300, 2, 2, 1, 6, 2, 0.9, 0.9, None, None, 1, 0),
         ("weibo", "u2", "K3", RUN, 10, 0.01, "none", 0, 0, 0, 0, 0, 0, None, None, None, None, 0, 0)]),
}

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
OPENID = re.compile(r"\bo[A-Za-z0-9_\-]{27}\b")


@pytest.fixture(scope="module")
def published(spark, tmp_path_factory):
    from lake_io import Lake
    from pipelines.config import load_settings
    from pipelines.publish import headline_numbers, publish_gold

    settings = load_settings(environ={"SCIM_HMAC_KEY": "test-key-0123456789abcdef"},
                             lake_root=str(tmp_path_factory.mktemp("gold") / "lake"))
    lake = Lake(settings, spark)
    for table, (schema, rows) in SILVER.items():
        lake.write(spark.createDataFrame(rows, schema), table, mode="overwrite",
                   description=f"test {table}" if table == "silver/orders" else None)
    result = publish_gold(settings, spark, RUN.isoformat(), lake=lake)
    return settings, lake, result, headline_numbers(settings, spark, lake=lake)


def _partitions(lake, table):
    from deltalake import DeltaTable

    return {tuple(sorted(p.items())) for p in DeltaTable(lake.uri(table)).partitions()}


def _duck(lake):
    """An independent reader: each gold table as Arrow straight from delta-rs, queried with DuckDB."""
    import duckdb
    from deltalake import DeltaTable

    con = duckdb.connect()
    for t in lake.list_tables("gold"):
        con.register(t.split("/")[1], DeltaTable(lake.uri(t)).to_pyarrow_table())
    return con


def test_publish_writes_documented_maintained_tables(published):
    settings, lake, result, _ = published
    from pipelines.publish import load_table_specs

    specs = load_table_specs()["tables"]
    assert set(specs) <= set(result) and result["_missing_inputs"] == []
    for table in specs:
        info = lake.describe(table)
        assert info["description"], table
        assert all(c["comment"] for c in info["columns"]), (table, [c["name"] for c in info["columns"] if not c["comment"]])
        assert not any(isinstance(c["type"], dict) or str(c["type"]).startswith(("array", "map", "struct"))
                       for c in info["columns"]), table
        # compacted (one file per partition at this size) and checkpointed at the current version
        assert info["num_files"] <= max(1, len(_partitions(lake, table))), table
        assert (Path(lake.uri(table)) / "_delta_log" / f"{info['version']:020d}.checkpoint.parquet").exists(), table
    assert lake.describe("gold/fact_purchase")["partition_by"] == ["order_month"]
    assert result["gold/fact_purchase"]["rows"] == 3 and result["gold/fact_purchase"]["zorder_by"]
    types = {c["name"]: c["type"] for c in lake.describe("gold/fact_purchase")["columns"]}
    assert types["amount"] == "decimal(18,2)" and types["order_time"] == "timestamp"


def test_bi_questions_answered_by_duckdb(published):
    _, lake, _, _ = published
    con = _duck(lake)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    # revenue per campaign and local day, through the star schema (fact -> dim_campaign, dim_date)
    assert q("""select c.campaign_name, d.date, sum(f.amount) from fact_purchase f
                join dim_campaign c using (campaign_sk) join dim_date d using (date_key)
                group by all order by 2""") == [("双十一狂欢", D(2026, 10, 30), Decimal("100.00"))]
    # revenue during the 双十一 run-up, by customer lifecycle
    assert q("""select c.lifecycle_segment, sum(f.amount) from fact_purchase f join dim_customer c using (customer_sk)
                join dim_date d using (date_key) where d.shopping_festival = '双十一' group by 1 order by 1""") == [
        ("existing", Decimal("50.00")), ("loyal", Decimal("100.00"))]
    # customers by age band (65+ kept), with consent
    assert q("""select customer_key, age_band, marketing_consent, wechat_unsubscribed, phone_masked from dim_customer
                order by 1""") == [
        ("K1", "25-34", True, False, "138****5678"), ("K2", None, False, False, None), ("K3", "65+", False, False, None),
        ("K4", None, False, False, None), ("K5", None, False, True, None)]
    # one WeChat account each (the HMAC record id is not counted a second time in another form)
    assert q("select customer_key, wechat_accounts from dim_customer where has_wechat order by 1") == [("K1", 1), ("K5", 1)]
    # brand mentions per brand (own vs competitor) and share of voice on Oct 31
    assert q("""select brand, brand_role, mentions, positive + neutral + negative + unscored from brand_sentiment_daily
                where date = DATE '2026-10-31' order by brand""") == [("花漾", "own", 1, 1), ("露薇", "competitor", 1, 1)]
    assert q("select brand, share_of_voice from share_of_voice_daily where date = DATE '2026-10-31' order by brand") == [
        ("花漾", 0.5), ("露薇", 0.5)]
    assert q("select region, topic, posts from hot_topics_daily") == [("上海", "双十一狂欢", 1)]
    # attribution: O1 (Oct 30) follows a Weibo campaign post (Oct 29) and a WeChat push read (Oct 29)
    assert q("""select platform, campaign_id, attributed_orders, attributed_revenue, orders_total, revenue_total
                from platform_attribution where date = DATE '2026-10-30' order by 1""") == [
        ("wechat", "none", 1, Decimal("100.00"), 1, Decimal("100.00")),
        ("weibo", "CMP1", 1, Decimal("100.00"), 1, Decimal("100.00"))]
    # journey: K1 follows on both platforms, bought O1 after, then posted about the brand (m3)
    assert q("""select platform, followers, purchased_after_follow, shared_after_purchase from journey_funnel
                order by 1""") == [("wechat", 1, 1, 1), ("weibo", 1, 1, 1)]
    assert q("""select campaign_id, new_followers, participants, coupon_claims, coupon_redemptions, purchases, revenue,
                conversion_rate from campaign_report order by 1""") == [
        ("CMP1", 0, 1, 1, 1, 1, Decimal("100.00"), 1.0), ("CMP2", 1, 1, 0, 0, 0, Decimal("0.00"), 0.0)]
    assert q("select weibo_uid, kol_tier, is_ally from kol_report") == [("u1", "micro", 1)]
    # K5 (loyal, CRM consent) unsubscribed on WeChat: not on the CRM's contact lists
    assert q("select crm_customer_id, segment from crm_export_segments order by 2") == [("C1", "advocate"),
                                                                                        ("C1", "loyal_vip")]
    assert q("""select link_rate from identity_quality_daily where source = 'crm' and other_source = 'weibo'""") == [
        (pytest.approx(1 / 3),)]
    assert q("select sum(review_queue_size) from identity_cluster_sizes where cluster_size = 3") == [(1,)]


def test_no_clear_pii_in_gold(published):
    import pyarrow as pa
    from deltalake import DeltaTable

    _, lake, _, _ = published
    hits = []
    for t in lake.list_tables("gold"):
        table = DeltaTable(lake.uri(t)).to_pyarrow_table()
        for name in table.column_names:
            if not pa.types.is_string(table.schema.field(name).type):
                continue
            for v in table.column(name).to_pylist():
                for label, rx in (("mobile", MOBILE), ("email", EMAIL), ("id", ID_NUMBER), ("openid", OPENID)):
                    if v and rx.search(v):
                        hits.append((t, name, label))
    assert hits == []
    assert MOBILE.search("x13912345678") and not MOBILE.search("138****5678") and not EMAIL.search("z***@qq.com")


def test_headline_and_table_docs(published, tmp_path):
    from pipelines.publish import format_headline
    from pipelines.table_docs import generate

    settings, _, _, head = published
    # 4 persons with a social account (K1, K3, K4, K5), two of them linked to a CRM record; consent: K1 only
    assert (head["customers"], head["social_customers"], head["link_rate"]) == (5, 4, 0.5)
    assert head["consent_rate"] == 0.2
    assert head["top_campaigns"][0]["campaign_id"] == "CMP1" and head["brand_sentiment_date"] == "2026-10-31"
    text = format_headline(head)
    assert "customers: 5" in text and "双十一狂欢" in text
    md = generate(settings.lake_root, tmp_path / "tables.md")
    assert "### `gold/dim_customer`" in md and "| `age_band` | string |" in md
    assert "### `silver/orders`" in md and "`silver/posts`" in md.split("without a description")[1]


def test_headline_ranks_campaigns_whose_conversion_is_measurable(spark, settings):
    """Social sources hold weeks, the CRM three years: the campaigns with the most revenue are past ones
    without any social participant in their period, whose conversion is unknown (the headline showed n/a
    for all three). The headline ranks the campaigns with participants and counts the others."""
    from lake_io import Lake
    from pipelines.publish import format_headline, headline_numbers

    lake = Lake(settings, spark)
    lake.write(spark.createDataFrame([(True, False, True, True)],
                                     "has_weibo boolean, has_wechat boolean, has_crm boolean, marketing_consent boolean"),
               "gold/dim_customer", mode="overwrite")
    lake.write(spark.createDataFrame([("own", D(2026, 11, 1), 1, 4, False)],
                                     "brand_role string, date date, negative long, positive long, "
                                     "brand_negative_spike boolean"), "gold/brand_sentiment_daily", mode="overwrite")
    lake.write(spark.createDataFrame([
        ("CMP20251020", "双十一狂欢", Decimal("12000.00"), 0, None),       # last year: no social data then
        ("CMP20260915", "公众号会员日9月", Decimal("9800.00"), 0, None),    # before the 30 WeChat days
        ("CMP2026W2", "微博话题挑战赛2", Decimal("7100.00"), 0, None),      # nobody used the hashtag
        ("CMP20261015", "公众号会员日10月", Decimal("8400.00"), 10, 0.3),
        ("CMP20261020", "双十一狂欢", Decimal("4700.00"), 40, 0.125),
        ("CMP20261201", "双十二会员专享", Decimal("0.00"), 0, None),         # not started: no revenue, not counted
    ], "campaign_id string, campaign_name string, revenue decimal(18,2), participants long, conversion_rate double"),
        "gold/campaign_report", mode="overwrite")
    head = headline_numbers(settings, spark, lake=lake)
    assert [(c["campaign_id"], c["conversion_rate"]) for c in head["top_campaigns"]] == [
        ("CMP20261015", 0.3), ("CMP20261020", 0.125)]
    assert head["campaigns_without_social"] == 3
    text = format_headline(head)
    assert "conversion 30.0%" in text and "conversion 12.5%" in text and "conversion n/a" not in text
    assert "3 campaigns with revenue but no social data in their period" in text


def test_conventions_refuse_nested_and_uncommented_columns(spark):
    from pipelines.publish import PublishError, check_conventions

    spec = {"columns": {"a": "A column."}}
    flat = spark.createDataFrame([], "a string, date_key int")
    assert check_conventions("gold/x", flat, spec, {"date_key": "Day key."}) == {"a": "A column.", "date_key": "Day key."}
    with pytest.raises(PublishError, match="no comment for column.*'b'"):
        check_conventions("gold/x", spark.createDataFrame([], "a string, b int"), spec, {})
    with pytest.raises(PublishError, match="nested column.*'a'"):
        check_conventions("gold/x", spark.createDataFrame([], "a array<string>"), spec, {})


def test_format_headline_without_data():
    from pipelines.publish import format_headline

    text = format_headline({"customers": 0, "social_customers": 0, "link_rate": None, "consent_rate": None,
                            "brand_sentiment_date": None, "negative_positive_ratio": None, "top_campaigns": []})
    assert "customers: 0" in text and "n/a" in text and "(no campaigns)" in text
