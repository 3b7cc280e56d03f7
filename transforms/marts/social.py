"""Social listening marts: gold/brand_sentiment_daily, gold/share_of_voice_daily, gold/hot_topics_daily."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from transforms.marts._common import date_key, require, safe_ratio
from transforms.marts.params import GoldParams

UNKNOWN_REGION = "未知"


def _posts_with_region(posts: DataFrame, authors: DataFrame) -> DataFrame:
    """Posts with the author's province as ``region`` (``未知`` when unknown)."""
    prov = (authors.where(F.col("platform") == "weibo")
            .select(F.col("account_id").alias("uid"), F.col("province").alias("_province")).dropDuplicates(["uid"]))
    return posts.join(prov, "uid", "left").withColumn("region", F.coalesce(F.col("_province"), F.lit(UNKNOWN_REGION)))


def _mentions(posts: DataFrame, brand_roles: dict[str, str]) -> DataFrame:
    """One row per (post, brand mentioned) with the brand's role (``unknown`` outside the lexicon)."""
    roles = F.create_map(*[x for b, r in brand_roles.items() for x in (F.lit(b), F.lit(r))]) if brand_roles else None
    ex = posts.select("*", F.explode(F.col("brand_mentions")).alias("brand", "mention_count"))
    ex = ex.where(F.col("mention_count") > 0)
    role = F.coalesce(roles[F.col("brand")], F.lit("unknown")) if roles is not None else F.lit("unknown")
    return ex.withColumn("brand_role", role)


def build_brand_sentiment_daily(posts: DataFrame, authors: DataFrame, brand_roles: dict[str, str],
                                label_col: str = "sentiment_label", params: GoldParams = GoldParams()) -> DataFrame:
    """Brand mentions and their sentiment by local day, brand, platform and region.

    Inputs: ``posts`` (mid, uid, created_date, brand_mentions map<string,int>, ``label_col``
    pos/neu/neg or null), ``authors`` (platform, account_id, province) for the region.
    ``mentions`` = posts mentioning the brand; ``mention_count`` = mentions inside them;
    ``positive``/``neutral``/``negative`` = those posts by sentiment label (``unscored`` when
    null); ``negative_positive_ratio`` = negative / positive (null without positives).
    ``trailing_negative_avg`` = negatives of the ``spike_trailing_days`` days before, divided
    by that number of days (missing days are 0); ``negative_spike`` when the day's negatives
    are >= max(spike_min_negatives, spike_factor x trailing average) in this region's series;
    ``brand_negative_spike`` applies the same rule to the brand's all-region series of the
    platform (the national early warning), repeated on each region row of that brand-day.
    """
    require(posts, ["mid", "uid", "created_date", "brand_mentions", label_col], "brand_sentiment_daily", "posts")
    require(authors, ["platform", "account_id", "province"], "brand_sentiment_daily", "authors")
    m = _mentions(_posts_with_region(posts, authors), brand_roles).withColumn("platform", F.lit("weibo"))
    lab = F.col(label_col)
    daily = m.groupBy(F.col("created_date").alias("date"), "brand", "brand_role", "platform", "region").agg(
        F.countDistinct("mid").alias("mentions"),
        F.sum("mention_count").cast("bigint").alias("mention_count"),
        F.count(F.when(lab == "pos", 1)).alias("positive"),
        F.count(F.when(lab == "neu", 1)).alias("neutral"),
        F.count(F.when(lab == "neg", 1)).alias("negative"),
        F.count(F.when(lab.isNull(), 1)).alias("unscored"),
    )
    n = params.spike_trailing_days
    day_no = F.datediff(F.col("date"), F.lit("1970-01-01").cast("date"))

    def spike(df: DataFrame, keys: list[str], out: str) -> DataFrame:
        w = Window.partitionBy(*keys).orderBy("_day").rangeBetween(-n, -1)
        avg = F.coalesce(F.sum("negative").over(w), F.lit(0)) / F.lit(float(n))
        return (df.withColumn("_day", day_no).withColumn(f"{out}_avg", avg)
                .withColumn(out, (F.col("negative") >= F.greatest(F.lit(float(params.spike_min_negatives)),
                                                                  F.lit(params.spike_factor) * F.col(f"{out}_avg"))))
                .drop("_day"))

    regional = spike(daily, ["brand", "platform", "region"], "negative_spike")
    national = spike(daily.groupBy("date", "brand", "platform").agg(F.sum("negative").alias("negative")),
                     ["brand", "platform"], "brand_negative_spike").select(
        "date", "brand", "platform", "brand_negative_spike")
    out = regional.join(national, ["date", "brand", "platform"], "left")
    return out.select(
        date_key("date").alias("date_key"), F.col("date").cast("date").alias("date"), "brand", "brand_role", "platform",
        "region", F.col("mentions").cast("bigint").alias("mentions"), "mention_count",
        *[F.col(c).cast("bigint").alias(c) for c in ("positive", "neutral", "negative", "unscored")],
        safe_ratio(F.col("negative"), F.col("positive")).alias("negative_positive_ratio"),
        F.col("negative_spike_avg").cast("double").alias("trailing_negative_avg"),
        "negative_spike", "brand_negative_spike",
    )



def own_brand_daily(brand_sentiment: DataFrame) -> DataFrame:
    """Dell's KPI over all own brands, per day: the headline's and the chart's series.

    Input: rows of ``gold/brand_sentiment_daily`` (``build_brand_sentiment_daily``). Output
    one row per ``date``: ``negative`` and ``positive`` (posts, summed over the own brands,
    platforms and regions), ``negative_positive_ratio`` (null without positives) and
    ``negative_spike`` (true when any own brand's national series spiked that day, its
    ``brand_negative_spike``).
    """
    require(brand_sentiment, ["date", "brand_role", "negative", "positive", "brand_negative_spike"],
            "own_brand_daily", "brand_sentiment_daily")
    own = brand_sentiment.where(F.col("brand_role") == "own")
    day = own.groupBy("date").agg(F.sum("negative").cast("bigint").alias("negative"),
                                  F.sum("positive").cast("bigint").alias("positive"),
                                  F.coalesce(F.max("brand_negative_spike"), F.lit(False)).alias("negative_spike"))
    return day.select("date", "negative", "positive",
                      safe_ratio(F.col("negative"), F.col("positive")).alias("negative_positive_ratio"),
                      "negative_spike")


def own_brand_spikes(brand_sentiment: DataFrame) -> DataFrame:
    """The own brands' national negative spikes (the early warning): one row per ``date``,
    ``brand`` and ``platform`` whose all-region series spiked (``brand_negative_spike``), with
    that day's ``negative`` and ``positive`` posts over all regions and their
    ``negative_positive_ratio``.

    Input: rows of ``gold/brand_sentiment_daily``.
    """
    require(brand_sentiment, ["date", "brand", "brand_role", "platform", "negative", "positive",
                              "brand_negative_spike"], "own_brand_spikes", "brand_sentiment_daily")
    spiked = brand_sentiment.where((F.col("brand_role") == "own") & F.col("brand_negative_spike"))
    per = spiked.groupBy("date", "brand", "platform").agg(F.sum("negative").cast("bigint").alias("negative"),
                                                          F.sum("positive").cast("bigint").alias("positive"))
    return per.withColumn("negative_positive_ratio", safe_ratio(F.col("negative"), F.col("positive")))


def build_share_of_voice_daily(posts: DataFrame, brand_roles: dict[str, str]) -> DataFrame:
    """Share of voice by local day and platform: each brand's mentioning posts over all brands' ones.

    Input ``posts``: mid, created_date, brand_mentions. A post mentioning two brands counts
    once for each, so shares of a day sum to 1 over the brands.
    """
    require(posts, ["mid", "created_date", "brand_mentions"], "share_of_voice_daily", "posts")
    m = _mentions(posts, brand_roles).withColumn("platform", F.lit("weibo"))
    per = m.groupBy(F.col("created_date").alias("date"), "platform", "brand", "brand_role").agg(
        F.countDistinct("mid").cast("bigint").alias("mentions"))
    w = Window.partitionBy("date", "platform")
    return per.select(
        date_key("date").alias("date_key"), F.col("date").cast("date").alias("date"), "platform", "brand", "brand_role",
        "mentions", F.sum("mentions").over(w).cast("bigint").alias("total_mentions"),
        safe_ratio(F.col("mentions"), F.sum("mentions").over(w)).alias("share_of_voice"),
    )


def build_hot_topics_daily(posts: DataFrame, authors: DataFrame, params: GoldParams = GoldParams()) -> DataFrame:
    """The day's most discussed #话题# hashtags per region (the author's province).

    Inputs: ``posts`` (mid, uid, created_date, hashtags array<string>), ``authors``
    (platform, account_id, province). ``posts`` = distinct posts carrying the topic,
    ``authors`` = distinct authors; ``rank`` 1 = most posts (ties by more authors, then by
    topic text); only ranks up to ``hot_topics_per_region`` are kept.
    """
    require(posts, ["mid", "uid", "created_date", "hashtags"], "hot_topics_daily", "posts")
    p = _posts_with_region(posts, authors)
    topics = p.select("mid", "uid", "region", F.col("created_date").alias("date"),
                      F.explode(F.array_distinct(F.col("hashtags"))).alias("topic")).where(F.length("topic") > 0)
    agg = topics.groupBy("date", "region", "topic").agg(F.countDistinct("mid").cast("bigint").alias("posts"),
                                                       F.countDistinct("uid").cast("bigint").alias("authors"))
    w = Window.partitionBy("date", "region").orderBy(F.desc("posts"), F.desc("authors"), F.asc("topic"))
    ranked = agg.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= params.hot_topics_per_region)
    return ranked.select(date_key("date").alias("date_key"), F.col("date").cast("date").alias("date"), "region",
                         "topic", "posts", "authors", F.col("rank").cast("int").alias("rank"))
