"""Behaviour features: participation, engagement, influence, KOL tier, allies and drift.

Windows are counted in business days (``timezone``) ending with the snapshot day: "30 days"
means the snapshot day and the 29 days before it; events after the snapshot day are
ignored, so a re-run of an old day gives that day's answer.  Formulas are in the
docstrings below and in docs/features.md.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.features._common import as_date, local_date, log_scale, require_columns, saturate
from transforms.features.params import AllyParams, EngagementParams, InfluenceParams, KolParams, ParticipationRule

SEGMENTS = ("creator", "occasional", "silent")
KOL_TIERS = ("none", "micro", "mid", "top")


def own_brand_mentions(map_col: Column, own_brands: list[str] | tuple[str, ...]) -> Column:
    """Mentions of our own brand(s) in a post, from the text helper's ``brand_mentions`` map<string,int>."""
    if not own_brands:
        return F.lit(0)
    counts = [F.coalesce(F.element_at(map_col, F.lit(b)), F.lit(0)) for b in own_brands]
    total = counts[0]
    for c in counts[1:]:
        total = total + c
    return total


def _age(ts: Column, snap: dt.date, timezone: str) -> Column:
    return F.datediff(F.lit(snap), local_date(ts, timezone))


def weibo_post_activity(
    posts: DataFrame,
    snapshot_date: str | dt.date,
    timezone: str = "Asia/Shanghai",
    own_mentions_col: str | None = "own_brand_mentions",
    positive_prob_col: str | None = "sentiment_positive_prob",
) -> DataFrame:
    """Per author ``uid``: post counts and the sentiment of own-brand mentions.

    Requires ``uid``, ``created_ts`` (UTC timestamp); optionally ``own_mentions_col`` (int,
    own-brand mentions per post) and ``positive_prob_col`` (double 0..1).  Returns ``uid``,
    ``posts_30d``, ``posts_90d`` (original posts and reposts), ``brand_posts_90d``,
    ``brand_posts_30d``, ``brand_posts_prev_30d`` (days 30-59 before the snapshot),
    ``brand_sentiment_90d``, ``brand_sentiment_30d``, ``brand_sentiment_prev_30d`` (mean
    positive probability of the brand-mentioning posts; null without such posts).
    """
    require_columns(posts, ["uid", "created_ts"], "weibo_post_activity(posts)")
    snap = as_date(snapshot_date)
    age = _age(F.col("created_ts"), snap, timezone)
    has_brand = own_mentions_col is not None and own_mentions_col in posts.columns
    has_sent = positive_prob_col is not None and positive_prob_col in posts.columns
    brand = (F.coalesce(F.col(own_mentions_col), F.lit(0)) > 0) if has_brand else F.lit(False)
    prob = F.col(positive_prob_col).cast("double") if has_sent else F.lit(None).cast("double")
    p = posts.where(F.col("uid").isNotNull()).select("uid", age.alias("age"), brand.alias("brand"), prob.alias("prob"))
    p = p.where((F.col("age") >= 0) & (F.col("age") < 90))
    last30 = F.col("age") < 30
    prev30 = (F.col("age") >= 30) & (F.col("age") < 60)
    b = F.col("brand")
    return p.groupBy("uid").agg(
        F.sum(last30.cast("int")).alias("posts_30d"),
        F.count(F.lit(1)).alias("posts_90d"),
        F.sum(b.cast("int")).alias("brand_posts_90d"),
        F.sum((b & last30).cast("int")).alias("brand_posts_30d"),
        F.sum((b & prev30).cast("int")).alias("brand_posts_prev_30d"),
        F.avg(F.when(b, F.col("prob"))).alias("brand_sentiment_90d"),
        F.avg(F.when(b & last30, F.col("prob"))).alias("brand_sentiment_30d"),
        F.avg(F.when(b & prev30, F.col("prob"))).alias("brand_sentiment_prev_30d"),
    ).select(
        "uid",
        *[F.col(c).cast("long").alias(c) for c in ("posts_30d", "posts_90d", "brand_posts_90d", "brand_posts_30d", "brand_posts_prev_30d")],
        "brand_sentiment_90d",
        "brand_sentiment_30d",
        "brand_sentiment_prev_30d",
    )


WECHAT_EVENTS = {"push_read": "push_reads_90d", "menu_click": "menu_clicks_90d", "service_chat": "service_chats_90d", "coupon_claim": "coupon_claims_90d"}


ACTIVE_EVENTS = ("service_chat", "menu_click", "coupon_claim")


def wechat_activity(interactions: DataFrame, snapshot_date: str | dt.date, timezone: str = "Asia/Shanghai") -> DataFrame:
    """Per ``openid``: ``push_reads_90d``, ``menu_clicks_90d``, ``service_chats_90d``, ``coupon_claims_90d``,
    ``service_chats_30d``, and ``active_events_30d`` / ``active_events_90d``.

    Active events are the follower's own moves towards the brand — service-chat messages,
    menu clicks, coupon claims — the WeChat counterpart of "post or reply"; reading a push
    is lurking and does not count.  Requires ``openid``, ``event_type``, ``event_ts`` (UTC
    timestamp).  Other event types (subscribe, unsubscribe) are not counted.
    """
    require_columns(interactions, ["openid", "event_type", "event_ts"], "wechat_activity(interactions)")
    snap = as_date(snapshot_date)
    age = _age(F.col("event_ts"), snap, timezone)
    ev = interactions.where(F.col("openid").isNotNull()).select("openid", "event_type", age.alias("age"))
    ev = ev.where((F.col("age") >= 0) & (F.col("age") < 90))
    et = F.col("event_type")
    aggs = [F.sum((et == F.lit(k)).cast("long")).alias(v) for k, v in WECHAT_EVENTS.items()]
    aggs.append(F.sum(((et == F.lit("service_chat")) & (F.col("age") < 30)).cast("long")).alias("service_chats_30d"))
    active = et.isin(*ACTIVE_EVENTS)
    aggs.append(F.sum((active & (F.col("age") < 30)).cast("long")).alias("active_events_30d"))
    aggs.append(F.sum(active.cast("long")).alias("active_events_90d"))
    return ev.groupBy("openid").agg(*aggs)


def participation_segment(a30: Column, a90: Column, rule: ParticipationRule = ParticipationRule()) -> Column:
    """'creator' when a30 >= creator_min_30d and a90 >= creator_min_90d; 'silent' when a90 <= silent_max_90d; else 'occasional'.

    ``a30``/``a90`` count posts, reposts and replies (Weibo posts; WeChat chats, menu clicks
    and coupon claims) in the last 30/90 days; nulls count as 0.
    """
    x30 = F.coalesce(a30, F.lit(0))
    x90 = F.coalesce(a90, F.lit(0))
    return (
        F.when((x30 >= rule.creator_min_30d) & (x90 >= rule.creator_min_90d), F.lit("creator"))
        .when(x90 <= rule.silent_max_90d, F.lit("silent"))
        .otherwise(F.lit("occasional"))
    )


def calibrate_participation(
    activity: DataFrame, a90_col: str = "activity_90d", creator_share: float = 0.05, silent_share: float = 0.20
) -> ParticipationRule:
    """Thresholds that split ``activity`` closest to the target shares (default 5% creators, 20% silent).

    ``silent_max_90d`` is the k >= 0 for which the share with a90 <= k is closest to
    ``silent_share``; ``creator_min_90d`` the c > silent_max_90d for which the share with
    a90 >= c is closest to ``creator_share`` (ties: the higher threshold); creator_min_30d =
    max(1, floor(creator_min_90d / 3)), i.e. a creator keeps a third of the 90-day pace in
    the last 30 days.  Runs one small aggregation (a histogram of a90) on the driver.
    """
    hist = {int(r[0]): int(r[1]) for r in activity.groupBy(F.coalesce(F.col(a90_col), F.lit(0))).count().collect()}
    if not hist:
        return ParticipationRule()
    total = sum(hist.values())
    values = sorted(hist)
    cum = 0
    at_most = {}
    for v in values:
        cum += hist[v]
        at_most[v] = cum / total
    silent_max = min((v for v in values if v >= 0), key=lambda v: (abs(at_most[v] - silent_share), v))
    candidates = [v for v in values if v > silent_max] or [silent_max + 1]

    def share_at_least(c: int) -> float:
        return sum(n for v, n in hist.items() if v >= c) / total

    creator_min = min(candidates, key=lambda c: (abs(share_at_least(c) - creator_share), -c))
    return ParticipationRule(creator_min_30d=max(1, creator_min // 3), creator_min_90d=creator_min, silent_max_90d=silent_max)


def influence_scores(
    accounts: DataFrame,
    posts: DataFrame,
    follows: DataFrame,
    account_keys: DataFrame,
    follower_actions: DataFrame,
    snapshot_date: str | dt.date,
    timezone: str = "Asia/Shanghai",
    params: InfluenceParams = InfluenceParams(),
    own_mentions_col: str | None = "own_brand_mentions",
) -> DataFrame:
    """Influence per Weibo account from what its followers do, not from its follower count alone.

    Inputs: ``accounts`` (``account_id``, ``followers_count``), ``posts`` (``uid``,
    ``created_ts``, ``reposts_count``, ``comments_count``, ``attitudes_count``, optionally
    ``own_mentions_col``), ``follows`` (``follower_uid``, ``followee_uid``),
    ``account_keys`` (``account_id``, ``customer_key``: the person behind a Weibo uid) and
    ``follower_actions`` (``customer_key``, ``action_ts``: purchases, coupon claims, menu
    clicks).  Output, one row per account: ``reposts_received_90d``,
    ``comments_received_90d``, ``likes_received_90d`` (on the account's posts of the
    window), ``reach_2nd_degree`` (distinct accounts following a follower, not the account
    itself nor its direct followers), ``converted_followers_90d`` (distinct followers whose
    person acted within ``exposure_days`` after one of the account's own-brand posts —
    any post when the posts carry no brand column or ``exposure_requires_brand`` is off),
    and ``influence_score`` =
    ``w_actions * (1 - exp(-(reposts + comments + like_weight * likes) / tau_actions))``
    ``+ w_conversions * (1 - exp(-converted / tau_conversions))``
    ``+ w_reach2 * min(1, ln(1 + reach2) / ln(1 + reach2_ref))``
    ``+ w_followers * min(1, ln(1 + followers_count) / ln(1 + followers_ref))``.
    """
    require_columns(accounts, ["account_id", "followers_count"], "influence_scores(accounts)")
    require_columns(posts, ["uid", "created_ts", "reposts_count", "comments_count", "attitudes_count"], "influence_scores(posts)")
    require_columns(follows, ["follower_uid", "followee_uid"], "influence_scores(follows)")
    require_columns(account_keys, ["account_id", "customer_key"], "influence_scores(account_keys)")
    require_columns(follower_actions, ["customer_key", "action_ts"], "influence_scores(follower_actions)")
    snap = as_date(snapshot_date)
    age = _age(F.col("created_ts"), snap, timezone)
    window = posts.where((age >= 0) & (age < params.window_days))
    received = window.groupBy(F.col("uid").alias("account_id")).agg(
        F.sum(F.coalesce(F.col("reposts_count"), F.lit(0))).cast("long").alias("reposts_received_90d"),
        F.sum(F.coalesce(F.col("comments_count"), F.lit(0))).cast("long").alias("comments_received_90d"),
        F.sum(F.coalesce(F.col("attitudes_count"), F.lit(0))).cast("long").alias("likes_received_90d"),
    )
    edges = (
        follows.where(F.col("follower_uid").isNotNull() & F.col("followee_uid").isNotNull() & (F.col("follower_uid") != F.col("followee_uid")))
        .select(F.col("followee_uid").alias("a"), F.col("follower_uid").alias("f"))
        .distinct()
    )
    second = (
        edges.join(edges.select(F.col("a").alias("f"), F.col("f").alias("g")), "f")
        .where(F.col("g") != F.col("a"))
        .select("a", "g")
        .distinct()
        .join(edges.select("a", F.col("f").alias("g")), ["a", "g"], "left_anti")
    )
    reach = second.groupBy(F.col("a").alias("account_id")).agg(F.count(F.lit(1)).alias("reach_2nd_degree"))
    exposures = window
    if params.exposure_requires_brand and own_mentions_col and own_mentions_col in posts.columns:
        exposures = exposures.where(F.coalesce(F.col(own_mentions_col), F.lit(0)) > 0)
    exposures = exposures.select(F.col("uid").alias("a"), F.col("created_ts").alias("post_ts"))
    keys = account_keys.select(F.col("account_id").alias("f"), F.col("customer_key").alias("f_key"))
    own_key = account_keys.select(F.col("account_id").alias("a"), F.col("customer_key").alias("a_key"))
    acts = follower_actions.select(F.col("customer_key").alias("f_key"), "action_ts")
    converted = (
        exposures.join(edges, "a")
        .join(keys, "f")
        .join(own_key, "a", "left")
        .where(F.col("a_key").isNull() | (F.col("a_key") != F.col("f_key")))
        .join(acts, "f_key")
        .where(
            (F.col("action_ts") > F.col("post_ts"))
            & (F.col("action_ts") <= F.col("post_ts") + F.make_dt_interval(days=F.lit(params.exposure_days)))
            & (F.datediff(F.lit(snap), local_date(F.col("action_ts"), timezone)) >= 0)
        )
        .groupBy(F.col("a").alias("account_id"))
        .agg(F.countDistinct("f").alias("converted_followers_90d"))
    )
    base = accounts.select("account_id", F.coalesce(F.col("followers_count"), F.lit(0)).cast("long").alias("followers_count")).distinct()
    out = base.join(received, "account_id", "left").join(reach, "account_id", "left").join(converted, "account_id", "left")
    counts = ["reposts_received_90d", "comments_received_90d", "likes_received_90d", "reach_2nd_degree", "converted_followers_90d"]
    out = out.fillna(0, subset=counts)
    actions = F.col("reposts_received_90d") + F.col("comments_received_90d") + F.lit(params.like_weight) * F.col("likes_received_90d")
    score = (
        F.lit(params.w_actions) * saturate(actions, params.tau_actions)
        + F.lit(params.w_conversions) * saturate(F.col("converted_followers_90d"), params.tau_conversions)
        + F.lit(params.w_reach2) * log_scale(F.col("reach_2nd_degree"), params.reach2_ref)
        + F.lit(params.w_followers) * log_scale(F.col("followers_count"), params.followers_ref)
    )
    return out.select("account_id", *[F.col(c).cast("long").alias(c) for c in counts], score.alias("influence_score"))


def kol_tier(followers: Column, influence: Column, params: KolParams = KolParams()) -> Column:
    """'top' / 'mid' / 'micro' by follower band (>= 1M / 100k / 10k), 'none' below 10k followers
    or when the influence score is under ``min_influence`` (followers who never act do not make a KOL)."""
    f = F.coalesce(followers, F.lit(0))
    gated = F.coalesce(influence, F.lit(0.0)) >= F.lit(params.min_influence)
    return (
        F.when(~gated, F.lit("none"))
        .when(f >= params.top_min_followers, F.lit("top"))
        .when(f >= params.mid_min_followers, F.lit("mid"))
        .when(f >= params.micro_min_followers, F.lit("micro"))
        .otherwise(F.lit("none"))
    )


def allies(df: DataFrame, params: AllyParams = AllyParams()) -> DataFrame:
    """Add ``is_ally``, ``brand_sentiment_change_30d`` and ``ally_drift`` to a per-account table.

    Requires ``kol_tier`` and the brand columns of :func:`weibo_post_activity`.
    ``is_ally`` = 1 for a KOL (tier not 'none') with >= ``min_mentions_90d`` own-brand posts in
    90 days whose mean positive probability is >= ``min_positive``.
    ``brand_sentiment_change_30d`` = mean of the last 30 days - mean of the 30 days before
    (null unless both periods have >= ``min_period_mentions`` brand posts).
    ``ally_drift`` = 1 for a KOL that was an ally in the previous period (mean >=
    ``min_positive``) and whose mean fell by more than ``drift_threshold``.
    """
    need = ["kol_tier", "brand_posts_90d", "brand_sentiment_90d", "brand_posts_30d", "brand_posts_prev_30d", "brand_sentiment_30d", "brand_sentiment_prev_30d"]
    require_columns(df, need, "allies(df)")
    kol = F.coalesce(F.col("kol_tier"), F.lit("none")) != F.lit("none")
    ally = kol & (F.coalesce(F.col("brand_posts_90d"), F.lit(0)) >= params.min_mentions_90d) & (F.col("brand_sentiment_90d") >= params.min_positive)
    both = (F.coalesce(F.col("brand_posts_30d"), F.lit(0)) >= params.min_period_mentions) & (
        F.coalesce(F.col("brand_posts_prev_30d"), F.lit(0)) >= params.min_period_mentions
    )
    change = F.when(both, F.col("brand_sentiment_30d") - F.col("brand_sentiment_prev_30d"))
    drift = kol & both & (F.col("brand_sentiment_prev_30d") >= params.min_positive) & (-change > params.drift_threshold)
    return df.withColumns(
        {
            "is_ally": F.coalesce(ally, F.lit(False)).cast("int"),
            "brand_sentiment_change_30d": change,
            "ally_drift": F.coalesce(drift, F.lit(False)).cast("int"),
        }
    )


def engagement_axes(df: DataFrame, params: EngagementParams = EngagementParams()) -> DataFrame:
    """Add the four engagement axes (0..1) and their mean to a per-customer table.

    Requires (nulls count as 0 / unknown): ``push_reads_90d``, ``menu_clicks_90d``,
    ``store_visit_days_90d``, ``service_chats_90d``, ``coupon_claims_90d``,
    ``brand_posts_90d``, ``orders_90d``, ``brand_sentiment_90d``, ``purchase_months_12m``,
    ``wechat_subscribed``, ``influence_score``.

    * involvement = 1 - exp(-(push reads + menu clicks + store_visit_weight x store-visit days) / tau_involvement)
    * interaction = 1 - exp(-(service chats + coupon claims + own-brand posts + orders) / tau_interaction)
    * intimacy = mean of the known parts of {brand sentiment, purchase months in 12 / 12,
      WeChat subscribed 0/1}; null when none is known
    * influence = the person's best Weibo influence score (0 without a Weibo account)
    * engagement_index = mean of the four axes that are not null
    """
    need = ["push_reads_90d", "menu_clicks_90d", "store_visit_days_90d", "service_chats_90d", "coupon_claims_90d", "brand_posts_90d",
            "orders_90d", "brand_sentiment_90d", "purchase_months_12m", "wechat_subscribed", "influence_score"]
    require_columns(df, need, "engagement_axes(df)")

    def n(c: str) -> Column:
        return F.coalesce(F.col(c).cast("double"), F.lit(0.0))

    involvement = saturate(n("push_reads_90d") + n("menu_clicks_90d") + F.lit(params.store_visit_weight) * n("store_visit_days_90d"), params.tau_involvement)
    interaction = saturate(n("service_chats_90d") + n("coupon_claims_90d") + n("brand_posts_90d") + n("orders_90d"), params.tau_interaction)
    parts = [F.col("brand_sentiment_90d").cast("double"), F.when(F.col("purchase_months_12m").isNotNull(), F.least(F.col("purchase_months_12m").cast("double") / 12.0, F.lit(1.0))), F.col("wechat_subscribed").cast("double")]
    known = sum((p.isNotNull().cast("int") for p in parts), F.lit(0))
    total = sum((F.coalesce(p, F.lit(0.0)) for p in parts), F.lit(0.0))
    intimacy = F.when(known > 0, total / known)
    influence = n("influence_score")
    out = df.withColumns(
        {
            "engagement_involvement": involvement,
            "engagement_interaction": interaction,
            "engagement_intimacy": intimacy,
            "engagement_influence": influence,
        }
    )
    axes = [F.col(c) for c in ("engagement_involvement", "engagement_interaction", "engagement_intimacy", "engagement_influence")]
    k = sum((a.isNotNull().cast("int") for a in axes), F.lit(0))
    s = sum((F.coalesce(a, F.lit(0.0)) for a in axes), F.lit(0.0))
    return out.withColumn("engagement_index", s / k)
