"""The two feature tables: per social account, and the wide per-customer table.

:func:`build_account_features` and :func:`build_customer_features` compose the other
modules into the tables defined by the registry (``features.yaml``).  They are pure: the
pipeline (``pipelines/features.py``) reads the silver tables, calls them and writes the
result.  Input columns are listed per function; ``posts`` must already carry the text
helper's ``tokens`` and an own-brand mention count and the sentiment helper's positive
probability (columns named by the arguments; missing brand/sentiment columns make the
brand features zero/null rather than failing).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.consent import person_consent, wechat_subscription_state
from transforms.features import behaviour, interests, traits, value
from transforms.features._common import as_date, require_columns
from transforms.features.lexicons import InterestTaxonomy, TraitLexicon
from transforms.features.params import FeatureParams
from transforms.features.registry import Registry, apply_consent, conform

ACTION_EVENTS = ("coupon_claim", "menu_click")


def account_keys(clusters: DataFrame) -> DataFrame:
    """``(platform, account_id, customer_key)`` for the Weibo and WeChat records of ``clusters`` (source, record_id, customer_key)."""
    require_columns(clusters, ["source", "record_id", "customer_key"], "account_keys(clusters)")
    return clusters.where(F.col("source").isin("weibo", "wechat")).select(
        F.col("source").alias("platform"), F.col("record_id").alias("account_id"), "customer_key"
    ).distinct()


def crm_keys(clusters: DataFrame) -> DataFrame:
    """``(customer_id, customer_key)`` for the CRM records of ``clusters``."""
    return clusters.where(F.col("source") == "crm").select(F.col("record_id").alias("customer_id"), "customer_key").distinct()


def wechat_state(accounts: DataFrame, interactions: DataFrame) -> DataFrame:
    """Latest subscription state per WeChat account (:func:`transforms.consent.wechat_subscription_state`)
    from ``accounts`` (platform, account_id, subscribed, updated_at) and ``interactions`` (openid, event_type, event_ts)."""
    return wechat_subscription_state(accounts, interactions, event_account="openid", event_time="event_ts")


def person_actions(orders: DataFrame, interactions: DataFrame, clusters: DataFrame) -> DataFrame:
    """``(customer_key, action_ts)``: purchases (orders.order_ts) and WeChat coupon claims / menu clicks (event_ts)."""
    require_columns(orders, ["customer_id", "order_ts"], "person_actions(orders)")
    require_columns(interactions, ["openid", "event_type", "event_ts"], "person_actions(interactions)")
    buys = orders.join(crm_keys(clusters), "customer_id").select("customer_key", F.col("order_ts").alias("action_ts"))
    wx = account_keys(clusters).where(F.col("platform") == "wechat").select(F.col("account_id").alias("openid"), "customer_key")
    clicks = interactions.where(F.col("event_type").isin(*ACTION_EVENTS)).join(wx, "openid").select("customer_key", F.col("event_ts").alias("action_ts"))
    return buys.unionByName(clicks).where(F.col("action_ts").isNotNull())


def build_account_features(
    accounts: DataFrame,
    posts: DataFrame,
    interactions: DataFrame,
    follows: DataFrame,
    clusters: DataFrame,
    orders: DataFrame,
    snapshot_date: str | dt.date,
    registry: Registry,
    params: FeatureParams = FeatureParams(),
    own_mentions_col: str = "own_brand_mentions",
) -> DataFrame:
    """silver/features_account: one row per (platform, account_id) of ``accounts``.

    ``accounts``: platform ('weibo'/'wechat'), account_id, followers_count, friends_count,
    statuses_count, verified, subscribed, updated_at (a WeChat account's ``subscribed`` is
    its latest state: the follower record or a later (un)subscribe event).  ``posts``: uid,
    created_ts, reposts_count, comments_count, attitudes_count (+ ``own_mentions_col``,
    ``<sentiment_prefix>_positive_prob``).
    ``interactions``: openid, event_type, event_ts.  ``follows``: follower_uid, followee_uid.
    ``clusters``: source, record_id, customer_key.  ``orders``: customer_id, order_ts.
    """
    require_columns(accounts, ["platform", "account_id", "followers_count", "friends_count", "statuses_count", "verified", "subscribed", "updated_at"], "build_account_features(accounts)")
    snap = as_date(snapshot_date)
    tz = params.timezone
    prob_col = f"{params.sentiment_prefix}_positive_prob"
    keys = account_keys(clusters)
    base = accounts.select(
        "platform", "account_id", "followers_count", "friends_count", "statuses_count", "verified", "subscribed"
    ).dropDuplicates(["platform", "account_id"]).join(keys, ["platform", "account_id"], "left")
    weibo = base.where(F.col("platform") == "weibo")
    state = wechat_state(accounts, interactions).select("account_id", F.col("subscribed").alias("_state"))
    wechat = (base.where(F.col("platform") == "wechat").join(state, "account_id", "left")
              .withColumn("subscribed", F.coalesce(F.col("_state"), F.col("subscribed"))).drop("_state"))

    activity = behaviour.weibo_post_activity(posts, snap, tz, own_mentions_col, prob_col).withColumnRenamed("uid", "account_id")
    wb_keys = keys.where(F.col("platform") == "weibo").select("account_id", "customer_key")
    influence = behaviour.influence_scores(
        weibo.select("account_id", "followers_count"), posts, follows, wb_keys, person_actions(orders, interactions, clusters), snap, tz, params.influence, own_mentions_col
    ).drop("followers_count")
    wb_counts = ["posts_30d", "posts_90d", "brand_posts_90d", "brand_posts_30d", "brand_posts_prev_30d"]
    wb = weibo.join(activity, "account_id", "left").join(influence, "account_id", "left").fillna(0, subset=wb_counts)
    wb = wb.withColumn("kol_tier", behaviour.kol_tier(F.col("followers_count"), F.col("influence_score"), params.kol))
    wb = behaviour.allies(wb, params.ally).withColumns(
        {"activity_30d": F.col("posts_30d"), "activity_90d": F.col("posts_90d")}
    )

    wx_counts = ["push_reads_90d", "menu_clicks_90d", "service_chats_90d", "service_chats_30d", "coupon_claims_90d", "active_events_30d", "active_events_90d"]
    wx_act = behaviour.wechat_activity(interactions, snap, tz).withColumnRenamed("openid", "account_id")
    wx = wechat.join(wx_act, "account_id", "left").fillna(0, subset=wx_counts).withColumns(
        {"activity_30d": F.col("active_events_30d"), "activity_90d": F.col("active_events_90d")}
    ).drop("active_events_30d", "active_events_90d")
    both = wb.unionByName(wx, allowMissingColumns=True).withColumns(
        {
            "participation_segment": behaviour.participation_segment(F.col("activity_30d"), F.col("activity_90d"), params.participation),
            "snapshot_date": F.lit(snap),
        }
    )
    return conform(both, registry, "account")


def _person_social(account_features: DataFrame) -> DataFrame:
    """Per customer_key: the account features summed / maxed over the person's accounts."""
    tier_rank = F.create_map(*[x for i, t in enumerate(behaviour.KOL_TIERS) for x in (F.lit(t), F.lit(i))])
    is_wb = F.col("platform") == "weibo"
    is_wx = F.col("platform") == "wechat"

    def total(c: str):
        return F.sum(F.coalesce(F.col(c), F.lit(0))).cast("long").alias(c)

    return (
        account_features.where(F.col("customer_key").isNotNull())
        .groupBy("customer_key")
        .agg(
            *[total(c) for c in ("posts_30d", "posts_90d", "service_chats_90d", "activity_30d", "activity_90d", "push_reads_90d", "menu_clicks_90d", "coupon_claims_90d", "brand_posts_90d")],
            (F.sum(F.col("brand_sentiment_90d") * F.col("brand_posts_90d")) / F.sum(F.when(F.col("brand_sentiment_90d").isNotNull(), F.col("brand_posts_90d")))).alias("brand_sentiment_90d"),
            F.max(F.when(is_wx, F.col("subscribed").cast("int"))).alias("wechat_subscribed"),
            F.max(F.when(is_wb, F.col("influence_score"))).alias("influence_score"),
            F.max(F.when(is_wb, F.struct(tier_rank[F.col("kol_tier")].alias("r"), F.col("kol_tier").alias("t"))))["t"].alias("kol_tier"),
            F.max(F.when(is_wb, F.col("is_ally"))).alias("is_ally"),
            F.max(F.when(is_wb, F.col("ally_drift"))).alias("ally_drift"),
        )
    )


def build_customer_features(
    clusters: DataFrame,
    customers: DataFrame,
    orders: DataFrame,
    points: DataFrame,
    accounts: DataFrame,
    posts: DataFrame,
    interactions: DataFrame,
    account_features: DataFrame,
    snapshot_date: str | dt.date,
    registry: Registry,
    taxonomy: InterestTaxonomy,
    trait_lexicon: TraitLexicon,
    params: FeatureParams = FeatureParams(),
    tokens_col: str = "tokens",
) -> DataFrame:
    """silver/features_customer_daily for one snapshot day: one row per customer_key of ``clusters``.

    Inputs as in :func:`build_account_features`, plus ``customers`` (customer_id,
    points_balance, register_date, marketing_consent, member_tier), ``orders`` (order_id,
    customer_id, order_date, channel, category, amount), ``points`` (customer_id, txn_ts,
    points_delta), ``accounts`` with description and tags, ``posts`` with text and
    ``tokens_col``, and the output of :func:`build_account_features`.  ``marketing_consent``
    and ``wechat_unsubscribed`` come from :func:`transforms.consent.person_consent` (the rule
    gold/dim_customer uses too); marketing features are nulled without consent (see the registry).
    """
    require_columns(accounts, ["platform", "account_id", "description", "tags", "subscribed", "updated_at"], "build_customer_features(accounts)")
    require_columns(posts, ["uid", "created_ts", "text", tokens_col], "build_customer_features(posts)")
    snap = as_date(snapshot_date)
    tz = params.timezone
    people = clusters.where(F.col("customer_key").isNotNull()).select("customer_key").distinct()
    ck = crm_keys(clusters)
    counts = clusters.where(F.col("customer_key").isNotNull()).groupBy("customer_key").agg(
        F.countDistinct(F.when(F.col("source") == "crm", F.col("record_id"))).alias("crm_records"),
        F.countDistinct(F.when(F.col("source") == "weibo", F.col("record_id"))).alias("weibo_accounts"),
        F.countDistinct(F.when(F.col("source") == "wechat", F.col("record_id"))).alias("wechat_accounts"),
    )
    val = value.customer_value(orders, people.join(ck, "customer_key", "left"), snap, params.value)
    prof = value.crm_profile(customers, points, ck, snap, tz).drop("crm_records")
    social = _person_social(account_features)
    consent = person_consent(clusters, customers, wechat_state(accounts, interactions)).drop("crm_consent")

    keys = account_keys(clusters)
    wb_keys = keys.where(F.col("platform") == "weibo").select(F.col("account_id").alias("uid"), "customer_key")
    wb_accounts = accounts.where(F.col("platform") == "weibo").join(wb_keys.withColumnRenamed("uid", "account_id"), "account_id")
    keyed_posts = posts.join(wb_keys, "uid")
    docs = interests.profile_documents(wb_accounts, "customer_key", taxonomy).unionByName(
        interests.post_documents(keyed_posts, "customer_key", tokens_col)
    )
    interest_scores = interests.score_interests(docs, taxonomy, params.interests).withColumnRenamed("id", "customer_key")

    wx_keys = keys.where(F.col("platform") == "wechat").select(F.col("account_id").alias("openid"), "customer_key")
    no_ts = F.lit(None).cast("timestamp")
    texts = (
        wb_accounts.select(F.col("customer_key").alias("id"), F.lit("bio").alias("source"), F.col("description").alias("text"), no_ts.alias("ts"))
        .unionByName(wb_accounts.select(F.col("customer_key").alias("id"), F.lit("tag").alias("source"), F.concat_ws(" ", "tags").alias("text"), no_ts.alias("ts")))
        .unionByName(keyed_posts.select(F.col("customer_key").alias("id"), F.lit("post").alias("source"), F.col("text"), F.col("created_ts").alias("ts")))
    )
    if "content" in interactions.columns:
        chats = interactions.where(F.col("event_type") == "service_chat").join(wx_keys, "openid")
        texts = texts.unionByName(chats.select(F.col("customer_key").alias("id"), F.lit("post").alias("source"), F.col("content").alias("text"), F.col("event_ts").alias("ts")))
    trait_rows = traits.detect_traits(texts, trait_lexicon, snap, tz, params.traits).withColumnRenamed("id", "customer_key")

    wide = (
        people.join(counts, "customer_key", "left")
        .join(val, "customer_key", "left")
        .join(prof, "customer_key", "left")
        .join(social, "customer_key", "left")
        .join(consent, "customer_key", "left")
        .join(interest_scores, "customer_key", "left")
        .join(trait_rows, "customer_key", "left")
    )
    has_social = (F.col("weibo_accounts") + F.col("wechat_accounts")) > 0
    wide = wide.withColumns(
        {
            "participation_segment": F.when(has_social, behaviour.participation_segment(F.col("activity_30d"), F.col("activity_90d"), params.participation)),
            "marketing_consent": F.coalesce(F.col("marketing_consent"), F.lit(False)),
            "wechat_unsubscribed": F.coalesce(F.col("wechat_unsubscribed"), F.lit(False)),
            "snapshot_date": F.lit(snap),
        }
    )
    wide = behaviour.engagement_axes(wide, params.engagement)
    return apply_consent(conform(wide, registry, "customer"), registry)
