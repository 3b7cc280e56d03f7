"""Attribution marts: social touches, gold/platform_attribution, gold/journey_funnel, gold/campaign_report."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from transforms.marts._common import date_key, money, require, safe_ratio
from transforms.marts.facts import account_keys
from transforms.marts.params import GoldParams

NO_CAMPAIGN = "none"


def campaign_of_hashtags(posts: DataFrame, campaigns: DataFrame) -> DataFrame:
    """``posts`` with ``campaign_id``: the campaign whose name is one of the post's hashtags and whose
    dates contain the post's local day (the smallest campaign_id if several match; else null).

    Inputs: ``posts`` (mid, created_date, hashtags), ``campaigns`` (campaign_id, name, start_date, end_date).
    """
    require(posts, ["mid", "created_date", "hashtags"], "campaign_of_hashtags", "posts")
    c = campaigns.select(F.col("campaign_id").alias("_cid"), F.col("name").alias("_cname"),
                         F.col("start_date").cast("date").alias("_cs"), F.col("end_date").cast("date").alias("_ce"))
    tagged = posts.select("mid", "created_date", F.explode(F.col("hashtags")).alias("_tag"))
    hit = tagged.join(F.broadcast(c), (F.col("_tag") == F.col("_cname"))
                      & F.col("created_date").between(F.col("_cs"), F.col("_ce")))
    first = hit.groupBy("mid").agg(F.min("_cid").alias("campaign_id"))
    return posts.drop(*[x for x in ["campaign_id"] if x in posts.columns]).join(first, "mid", "left")


def build_touches(posts: DataFrame, interactions: DataFrame, keys: DataFrame) -> DataFrame:
    """Every social touch of a known person: customer_key, platform, touch_time (UTC), touch_date, campaign_id.

    Inputs: ``posts`` (uid, created_at, created_date, campaign_id — see
    :func:`campaign_of_hashtags`), ``interactions`` (wechat_openid_hash, event_type,
    event_time, event_date, campaign_id), ``keys`` (source, record_id, customer_key).
    A Weibo post or repost and every WeChat event except ``unsubscribe`` is a touch;
    touches of accounts without a customer_key cannot be attributed and are left out.
    """
    require(posts, ["uid", "created_at", "created_date", "campaign_id"], "touches", "posts")
    require(interactions, ["wechat_openid_hash", "event_type", "event_time", "event_date", "campaign_id"], "touches",
            "interactions")
    wb = posts.join(account_keys(keys, "weibo", "uid"), "uid").select(
        "customer_key", F.lit("weibo").alias("platform"), F.col("created_at").alias("touch_time"),
        F.col("created_date").alias("touch_date"), "campaign_id")
    wx = (interactions.where(F.col("event_type") != "unsubscribe")
          .join(account_keys(keys, "wechat", "wechat_openid_hash"), "wechat_openid_hash").select(
        "customer_key", F.lit("wechat").alias("platform"), F.col("event_time").alias("touch_time"),
        F.col("event_date").alias("touch_date"), "campaign_id"))
    return wb.unionByName(wx)


def _orders(fact_purchase: DataFrame) -> DataFrame:
    """Order level: customer_key, order_id, order_time (first line), order_date, amount (sum of lines)."""
    return fact_purchase.groupBy("order_id").agg(
        F.first("customer_key", ignorenulls=True).alias("customer_key"), F.min("order_time").alias("order_time"),
        F.min("order_date").alias("order_date"), F.sum("amount").alias("amount"))


def build_platform_attribution(touches: DataFrame, fact_purchase: DataFrame, params: GoldParams = GoldParams()) -> DataFrame:
    """Social touches and the purchases they are credited with, by local day, platform and campaign.

    Inputs: ``touches`` (:func:`build_touches`), ``fact_purchase`` (order_id, customer_key,
    order_time, order_date, amount). Rule: an order is credited to a platform when the same
    person touched it within ``attribution_window_days`` before the order (touch_time <
    order_time <= touch_time + window); the latest such touch decides the campaign (``none``
    when it had none). One order can be credited to both platforms (each platform's view).
    Row grain: (date, platform, campaign_id); ``touches``/``touch_customers`` count the day's
    touches; ``attributed_*`` count orders placed that day. ``orders_total``/
    ``revenue_total`` are all orders of the day (repeated on each row of the day: do not
    sum them over rows), so ``attributed_revenue_share`` reconciles social activity with
    real sales.
    """
    require(touches, ["customer_key", "platform", "touch_time", "touch_date", "campaign_id"], "platform_attribution",
            "touches")
    require(fact_purchase, ["order_id", "customer_key", "order_time", "order_date", "amount"], "platform_attribution",
            "fact_purchase")
    window_s = params.attribution_window_days * 86400
    orders = _orders(fact_purchase)
    t = touches.select("customer_key", "platform", F.col("touch_time"), F.col("campaign_id").alias("_tc"))
    o = orders.where(F.col("customer_key").isNotNull())
    cand = o.join(t, "customer_key").where(
        (F.col("touch_time") < F.col("order_time"))
        & (F.col("order_time").cast("long") - F.col("touch_time").cast("long") <= window_s))
    w = Window.partitionBy("order_id", "platform").orderBy(F.desc("touch_time"), F.asc("_tc"))
    last = cand.withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1)
    credited = last.groupBy(F.col("order_date").alias("date"), "platform",
                            F.coalesce(F.col("_tc"), F.lit(NO_CAMPAIGN)).alias("campaign_id")).agg(
        F.countDistinct("order_id").alias("attributed_orders"),
        F.countDistinct("customer_key").alias("attributed_customers"),
        F.sum("amount").alias("attributed_revenue"))
    touched = touches.groupBy(F.col("touch_date").alias("date"), "platform",
                              F.coalesce(F.col("campaign_id"), F.lit(NO_CAMPAIGN)).alias("campaign_id")).agg(
        F.count(F.lit(1)).alias("touches"), F.countDistinct("customer_key").alias("touch_customers"))
    totals = orders.groupBy(F.col("order_date").alias("date")).agg(
        F.countDistinct("order_id").alias("orders_total"), F.sum("amount").alias("revenue_total"))
    out = touched.join(credited, ["date", "platform", "campaign_id"], "full").join(totals, "date", "left")
    zero = F.lit(0).cast("bigint")
    return out.select(
        date_key("date").alias("date_key"), F.col("date").cast("date").alias("date"), "platform", "campaign_id",
        F.coalesce(F.col("touches"), zero).cast("bigint").alias("touches"),
        F.coalesce(F.col("touch_customers"), zero).cast("bigint").alias("touch_customers"),
        F.coalesce(F.col("attributed_orders"), zero).cast("bigint").alias("attributed_orders"),
        F.coalesce(F.col("attributed_customers"), zero).cast("bigint").alias("attributed_customers"),
        money(F.coalesce(F.col("attributed_revenue"), F.lit(0))).alias("attributed_revenue"),
        F.coalesce(F.col("orders_total"), zero).cast("bigint").alias("orders_total"),
        money(F.coalesce(F.col("revenue_total"), F.lit(0))).alias("revenue_total"),
        safe_ratio(F.coalesce(F.col("attributed_revenue"), F.lit(0)), F.col("revenue_total")).alias(
            "attributed_revenue_share"),
        F.lit(params.attribution_window_days).alias("attribution_window_days"),
    )


def build_journey_funnel(follows: DataFrame, fact_purchase: DataFrame, brand_posts: DataFrame,
                         as_of: dt.date) -> DataFrame:
    """The follow -> purchase -> share journey per platform, for persons known up to ``as_of``.

    Inputs: ``follows`` (customer_key, platform, follow_time: when the person started
    following the brand there), ``fact_purchase`` (order_id, customer_key, order_time),
    ``brand_posts`` (customer_key, created_at: Weibo posts mentioning an own brand).
    ``followers`` = persons with a follow; ``purchased_after_follow`` = of them, with an order
    after their first follow on the platform; ``shared_after_purchase`` = of those, with a
    brand post after their first such order. Rates are step-to-step shares.
    """
    require(follows, ["customer_key", "platform", "follow_time"], "journey_funnel", "follows")
    require(fact_purchase, ["order_id", "customer_key", "order_time"], "journey_funnel", "fact_purchase")
    require(brand_posts, ["customer_key", "created_at"], "journey_funnel", "brand_posts")
    f = (follows.where(F.col("customer_key").isNotNull()).groupBy("customer_key", "platform")
         .agg(F.min("follow_time").alias("follow_time")))
    o = fact_purchase.where(F.col("customer_key").isNotNull()).select("customer_key", "order_time")
    bought = (f.join(o, "customer_key").where(F.col("order_time") > F.col("follow_time"))
              .groupBy("customer_key", "platform").agg(F.min("order_time").alias("first_order_after")))
    shared = (bought.join(brand_posts.select("customer_key", "created_at"), "customer_key")
              .where(F.col("created_at") > F.col("first_order_after")).select("customer_key", "platform").distinct())
    stages = (f.groupBy("platform").agg(F.countDistinct("customer_key").alias("followers"))
              .join(bought.groupBy("platform").agg(F.countDistinct("customer_key").alias("purchased_after_follow")),
                    "platform", "left")
              .join(shared.groupBy("platform").agg(F.countDistinct("customer_key").alias("shared_after_purchase")),
                    "platform", "left"))
    zero = F.lit(0).cast("bigint")
    fo = F.col("followers").cast("bigint")
    pa = F.coalesce(F.col("purchased_after_follow"), zero).cast("bigint")
    sh = F.coalesce(F.col("shared_after_purchase"), zero).cast("bigint")
    return stages.select(
        date_key(F.lit(as_of).cast("date")).alias("date_key"), F.lit(as_of).cast("date").alias("as_of_date"),
        "platform", fo.alias("followers"), pa.alias("purchased_after_follow"), sh.alias("shared_after_purchase"),
        safe_ratio(pa, fo).alias("follow_to_purchase_rate"), safe_ratio(sh, pa).alias("purchase_to_share_rate"),
    )


def build_campaign_report(campaigns: DataFrame, follows: DataFrame, posts: DataFrame, interactions: DataFrame,
                          fact_purchase: DataFrame, keys: DataFrame) -> DataFrame:
    """One row per campaign: what happened between its start_date and end_date (local days, inclusive).

    Inputs: ``campaigns`` (campaign_id, name, platform, start_date, end_date, coupon_code),
    ``follows`` (platform, account_id, follow_date), ``posts`` (mid, uid, created_date,
    retweeted_mid, campaign_id from :func:`campaign_of_hashtags`), ``interactions``
    (wechat_openid_hash, event_type, event_date, coupon_code, campaign_id), ``fact_purchase``
    (order_id, customer_key, order_date, amount, coupon_code, campaign_id), ``keys``.
    - ``new_followers``: follows started in the period on the campaign's platform (every
      platform for ``all``/``crm`` campaigns);
    - ``participants``: distinct persons (customer_key, or the account when not clustered)
      who posted with the campaign's #hashtag# or had a WeChat event tagged with the campaign;
    - ``reposts``: campaign posts that repost another post;
    - ``coupon_claims``: WeChat coupon claims of the campaign (its id or its coupon code);
    - ``coupon_redemptions``: orders using the campaign's coupon code;
    - ``purchases``/``buyers``/``revenue``: orders tagged with the campaign, their persons and amount;
    - ``participant_buyers``: participants who placed any order in the period;
      ``conversion_rate`` = participant_buyers / participants.
    """
    require(campaigns, ["campaign_id", "name", "platform", "start_date", "end_date", "coupon_code"],
            "campaign_report", "campaigns")
    require(follows, ["platform", "account_id", "follow_date"], "campaign_report", "follows")
    require(posts, ["mid", "uid", "created_date", "retweeted_mid", "campaign_id"], "campaign_report", "posts")
    require(interactions, ["wechat_openid_hash", "event_type", "event_date", "coupon_code", "campaign_id"],
            "campaign_report", "interactions")
    require(fact_purchase, ["order_id", "customer_key", "order_date", "amount", "coupon_code", "campaign_id"],
            "campaign_report", "fact_purchase")
    c = campaigns.select("campaign_id", F.col("name").alias("campaign_name"), F.col("platform").alias("campaign_platform"),
                         F.col("start_date").cast("date").alias("start_date"),
                         F.col("end_date").cast("date").alias("end_date"), F.col("coupon_code").alias("campaign_coupon"))
    cb = F.broadcast(c)
    in_period = lambda col: F.col(col).between(F.col("start_date"), F.col("end_date"))  # noqa: E731
    plat_ok = F.col("campaign_platform").isin("all", "crm") | (F.col("campaign_platform") == F.col("platform"))
    nf = (follows.join(cb, in_period("follow_date")).where(plat_ok)
          .groupBy("campaign_id").agg(F.countDistinct("platform", "account_id").alias("new_followers")))
    wb = posts.where(F.col("campaign_id").isNotNull()).join(account_keys(keys, "weibo", "uid"), "uid", "left")
    wb_part = wb.select("campaign_id", F.coalesce("customer_key", F.concat(F.lit("weibo:"), "uid")).alias("person"),
                        "customer_key")
    reposts = wb.where(F.col("retweeted_mid").isNotNull()).groupBy("campaign_id").agg(
        F.countDistinct("mid").alias("reposts"))
    wx = interactions.join(account_keys(keys, "wechat", "wechat_openid_hash"), "wechat_openid_hash", "left")
    wx_c = wx.join(cb.select("campaign_id", "start_date", "end_date", "campaign_coupon").withColumnRenamed(
        "campaign_id", "_cid"), (F.col("campaign_id") == F.col("_cid")) | (F.col("coupon_code") == F.col("campaign_coupon")))
    wx_c = wx_c.where(in_period("event_date"))
    wx_part = wx_c.where(F.col("campaign_id") == F.col("_cid")).select(
        F.col("_cid").alias("campaign_id"),
        F.coalesce("customer_key", F.concat(F.lit("wechat:"), "wechat_openid_hash")).alias("person"), "customer_key")
    claims = wx_c.where(F.col("event_type") == "coupon_claim").groupBy(F.col("_cid").alias("campaign_id")).agg(
        F.count(F.lit(1)).alias("coupon_claims"))
    parts = wb_part.unionByName(wx_part)
    n_part = parts.groupBy("campaign_id").agg(F.countDistinct("person").alias("participants"))
    fp = fact_purchase.drop("campaign_id").join(F.broadcast(c.withColumnRenamed("campaign_id", "_cid")),
                                                in_period("order_date"))
    redeem = (fp.where(F.col("coupon_code") == F.col("campaign_coupon")).groupBy(F.col("_cid").alias("campaign_id"))
              .agg(F.countDistinct("order_id").alias("coupon_redemptions")))
    tagged = fact_purchase.where(F.col("campaign_id").isNotNull()).join(
        c.select("campaign_id", "start_date", "end_date"), "campaign_id").where(in_period("order_date"))
    sales = tagged.groupBy("campaign_id").agg(F.countDistinct("order_id").alias("purchases"),
                                             F.countDistinct("customer_key").alias("buyers"),
                                             F.sum("amount").alias("revenue"))
    period_buyers = fp.where(F.col("customer_key").isNotNull()).select(F.col("_cid").alias("campaign_id"), "customer_key").distinct()
    conv = (parts.where(F.col("customer_key").isNotNull()).select("campaign_id", "customer_key").distinct()
            .join(period_buyers, ["campaign_id", "customer_key"]).groupBy("campaign_id")
            .agg(F.count(F.lit(1)).alias("participant_buyers")))
    out = c
    for part in (nf, n_part, reposts, claims, redeem, sales, conv):
        out = out.join(part, "campaign_id", "left")
    zero = F.lit(0).cast("bigint")
    cnt = lambda name: F.coalesce(F.col(name), zero).cast("bigint").alias(name)  # noqa: E731
    return out.select(
        "campaign_id", "campaign_name", F.col("campaign_platform").alias("platform"), "start_date", "end_date",
        date_key("start_date").alias("start_date_key"), date_key("end_date").alias("end_date_key"),
        cnt("new_followers"), cnt("participants"), cnt("reposts"), cnt("coupon_claims"), cnt("coupon_redemptions"),
        cnt("purchases"), cnt("buyers"), money(F.coalesce(F.col("revenue"), F.lit(0))).alias("revenue"),
        cnt("participant_buyers"),
        safe_ratio(F.coalesce(F.col("participant_buyers"), zero), F.col("participants")).alias("conversion_rate"),
    )
