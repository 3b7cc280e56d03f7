"""gold/dim_campaign, gold/fact_purchase (order lines) and gold/fact_social_activity (customer x platform x day)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.marts._common import date_key, money, require, surrogate_key

WECHAT_EVENTS = {
    "push_reads": "push_read",
    "menu_clicks": "menu_click",
    "service_chats": "service_chat",
    "coupon_claims": "coupon_claim",
    "subscribes": "subscribe",
    "unsubscribes": "unsubscribe",
}
ACTIVITY_COUNTS = ["posts", "reposts", "brand_posts", "reposts_received", "comments_received", "likes_received",
                   *WECHAT_EVENTS]


def account_keys(keys: DataFrame, source: str, id_col: str) -> DataFrame:
    """``keys`` rows of one source as (``id_col``, customer_key)."""
    return keys.where(F.col("source") == source).select(F.col("record_id").alias(id_col), "customer_key").distinct()


def own_brand_flag(brand_mentions: Column, own_brands: list[str]) -> Column:
    """True when the map brand -> mentions has a positive count for one of ``own_brands``."""
    if not own_brands:
        return F.lit(False)
    return F.coalesce(F.greatest(*[F.coalesce(brand_mentions[F.lit(b)], F.lit(0)) for b in own_brands], F.lit(0)) > 0,
                      F.lit(False))


def build_dim_campaign(campaigns: DataFrame) -> DataFrame:
    """One row per campaign. Input ``campaigns``: campaign_id, name, platform, start_date, end_date, coupon_code, discount."""
    require(campaigns, ["campaign_id", "name", "platform", "start_date", "end_date", "coupon_code", "discount"],
            "dim_campaign", "campaigns")
    return campaigns.select(
        surrogate_key("campaign_id").alias("campaign_sk"), "campaign_id", F.col("name").alias("campaign_name"),
        "platform", F.col("start_date").cast("date").alias("start_date"), F.col("end_date").cast("date").alias("end_date"),
        date_key(F.col("start_date").cast("date")).alias("start_date_key"),
        date_key(F.col("end_date").cast("date")).alias("end_date_key"),
        "coupon_code", money("discount").alias("discount"),
        (F.datediff(F.col("end_date").cast("date"), F.col("start_date").cast("date")) + 1).alias("duration_days"),
    )


def build_fact_purchase(orders: DataFrame, keys: DataFrame) -> DataFrame:
    """Order lines with the person's keys and the date key; every input line comes out exactly once.

    Inputs: ``orders`` (order_id, line_no, customer_id, order_time UTC, order_date local, store_id,
    channel, payment_method, product_id, product_name, category, quantity, unit_price, amount,
    coupon_code, campaign_id), ``keys`` (source, record_id, customer_key; source ``crm``).
    A line whose CRM customer is not clustered yet keeps a null customer_key/customer_sk.
    ``order_month`` (first day of the local month) is the partition column.
    """
    require(orders, ["order_id", "line_no", "customer_id", "order_time", "order_date", "store_id", "channel",
                     "payment_method", "product_id", "product_name", "category", "quantity", "unit_price", "amount",
                     "coupon_code", "campaign_id"], "fact_purchase", "orders")
    crm = account_keys(keys, "crm", "customer_id")
    return orders.join(crm, "customer_id", "left").select(
        "order_id", F.col("line_no").cast("int").alias("line_no"),
        F.when(F.col("customer_key").isNotNull(), surrogate_key("customer_key")).alias("customer_sk"),
        "customer_key", date_key("order_date").alias("date_key"),
        F.col("order_time").alias("order_time"), F.col("order_date").cast("date").alias("order_date"),
        F.trunc("order_date", "month").alias("order_month"),
        "store_id", "channel", "payment_method", "product_id", "product_name", "category",
        F.col("quantity").cast("int").alias("quantity"), money("unit_price").alias("unit_price"),
        money("amount").alias("amount"), "coupon_code", "campaign_id",
        F.when(F.col("campaign_id").isNotNull(), surrogate_key("campaign_id")).alias("campaign_sk"),
    )


def build_fact_social_activity(posts: DataFrame, interactions: DataFrame, keys: DataFrame,
                               own_brands: list[str]) -> DataFrame:
    """Social activity per customer, platform and local day (counts only, no text, no account ids).

    Inputs: ``posts`` (mid, uid, created_date, retweeted_mid, reposts_count, comments_count,
    attitudes_count, brand_mentions map<string,int>), ``interactions`` (event_id,
    wechat_openid_hash, event_type, event_date), ``keys`` (source, record_id, customer_key;
    weibo record_id = uid, wechat record_id = the openid HMAC as in silver).
    Weibo: ``posts`` (original posts and reposts), ``reposts`` (posts that repost another),
    ``brand_posts`` (mentioning an own brand), counters received on the day's posts.
    WeChat: one count per event type of :data:`WECHAT_EVENTS`. Activity of an account not
    clustered yet is kept with a null customer_key. ``accounts`` = distinct accounts active.
    """
    require(posts, ["mid", "uid", "created_date", "retweeted_mid", "reposts_count", "comments_count",
                    "attitudes_count", "brand_mentions"], "fact_social_activity", "posts")
    require(interactions, ["event_id", "wechat_openid_hash", "event_type", "event_date"], "fact_social_activity",
            "interactions")
    zero = F.lit(0).cast("bigint")
    wb = posts.join(account_keys(keys, "weibo", "uid"), "uid", "left").groupBy(
        "customer_key", F.col("created_date").alias("activity_date")).agg(
        F.count("mid").alias("posts"),
        F.count(F.when(F.col("retweeted_mid").isNotNull(), 1)).alias("reposts"),
        F.count(F.when(own_brand_flag(F.col("brand_mentions"), own_brands), 1)).alias("brand_posts"),
        F.coalesce(F.sum("reposts_count"), zero).alias("reposts_received"),
        F.coalesce(F.sum("comments_count"), zero).alias("comments_received"),
        F.coalesce(F.sum("attitudes_count"), zero).alias("likes_received"),
        F.countDistinct("uid").alias("accounts"),
        *[zero.alias(c) for c in WECHAT_EVENTS],
    ).withColumn("platform", F.lit("weibo"))
    wx = interactions.join(account_keys(keys, "wechat", "wechat_openid_hash"), "wechat_openid_hash", "left").groupBy(
        "customer_key", F.col("event_date").alias("activity_date")).agg(
        *[zero.alias(c) for c in ACTIVITY_COUNTS[:6]],
        F.countDistinct("wechat_openid_hash").alias("accounts"),
        *[F.count(F.when(F.col("event_type") == ev, 1)).alias(c) for c, ev in WECHAT_EVENTS.items()],
    ).withColumn("platform", F.lit("wechat"))
    both = wb.unionByName(wx)
    return both.select(
        F.when(F.col("customer_key").isNotNull(), surrogate_key("customer_key")).alias("customer_sk"),
        "customer_key", "platform", date_key("activity_date").alias("date_key"),
        F.col("activity_date").cast("date").alias("activity_date"),
        F.trunc("activity_date", "month").alias("activity_month"),
        *[F.col(c).cast("bigint").alias(c) for c in ACTIVITY_COUNTS],
        (F.col("posts") + sum(F.col(c) for c in WECHAT_EVENTS)).cast("bigint").alias("interactions_total"),
        F.col("accounts").cast("int").alias("accounts"),
    )
