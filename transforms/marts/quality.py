"""gold/kol_report (influencers, allies, drift) and the identity quality marts."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from transforms.marts._common import date_key, require, safe_ratio, surrogate_key

KOL_COLUMNS = ["followers_count", "influence_score", "kol_tier", "reach_2nd_degree", "converted_followers_90d",
               "reposts_received_90d", "comments_received_90d", "likes_received_90d", "brand_posts_90d",
               "brand_sentiment_90d", "brand_sentiment_30d", "brand_sentiment_prev_30d", "brand_sentiment_change_30d",
               "is_ally", "ally_drift"]


def build_kol_report(features_account: DataFrame) -> DataFrame:
    """Weibo influencers worth a marketer's attention: KOLs (tier micro/mid/top), allies and drifting allies.

    Input ``features_account``: platform, account_id, customer_key, snapshot_date and
    :data:`KOL_COLUMNS`. ``weibo_uid`` is the public account id of a public profile (KOL
    accounts only; ordinary users never appear here); ``influence_rank`` 1 = highest
    influence_score of the snapshot (ties by account id).
    """
    require(features_account, ["platform", "account_id", "customer_key", "snapshot_date", *KOL_COLUMNS], "kol_report",
            "features_account")
    kol = features_account.where((F.col("platform") == "weibo") & (
        F.col("kol_tier").isin("micro", "mid", "top") | (F.col("is_ally") == 1) | (F.col("ally_drift") == 1)))
    w = Window.partitionBy("snapshot_date").orderBy(F.desc_nulls_last("influence_score"), F.asc("account_id"))
    return kol.select(
        date_key("snapshot_date").alias("date_key"), F.col("snapshot_date").cast("date").alias("snapshot_date"),
        surrogate_key("platform", "account_id").alias("account_sk"), F.col("account_id").alias("weibo_uid"),
        "customer_key",
        F.col("followers_count").cast("bigint").alias("followers_count"),
        F.col("influence_score").cast("double").alias("influence_score"), "kol_tier",
        F.col("reach_2nd_degree").cast("bigint").alias("reach_2nd_degree"),
        F.col("converted_followers_90d").cast("bigint").alias("converted_followers_90d"),
        (F.coalesce(F.col("reposts_received_90d"), F.lit(0)) + F.coalesce(F.col("comments_received_90d"), F.lit(0))
         + F.coalesce(F.col("likes_received_90d"), F.lit(0))).cast("bigint").alias("engagement_received_90d"),
        F.col("brand_posts_90d").cast("bigint").alias("brand_posts_90d"),
        *[F.col(c).cast("double").alias(c) for c in ("brand_sentiment_90d", "brand_sentiment_30d",
                                                      "brand_sentiment_prev_30d", "brand_sentiment_change_30d")],
        F.col("is_ally").cast("int").alias("is_ally"), F.col("ally_drift").cast("int").alias("ally_drift"),
        F.row_number().over(w).cast("int").alias("influence_rank"),
    )


def _pair(l_src: str, r_src: str) -> tuple:
    return F.least(F.col(l_src), F.col(r_src)), F.greatest(F.col(l_src), F.col(r_src))


def build_identity_quality_daily(clusters: DataFrame, links: DataFrame, review: DataFrame) -> DataFrame:
    """Link rates by source pair per identity run.

    Inputs: ``clusters`` (run_date, source, record_id, customer_key), ``links`` (run_date,
    source_l, source_r, status), ``review`` (run_date, source_l, source_r).
    One row per run_date, ``source`` and ``other_source`` (every pair of the sources present,
    including a source with itself = duplicates inside it): ``records`` of ``source``;
    ``linked_records`` = those whose person also has a record of ``other_source`` (another
    one, for the same source); ``link_rate`` = linked / records; ``merged_links`` and
    ``review_pairs`` = links with status merged / review-queue pairs between the two sources
    (either order).
    """
    require(clusters, ["run_date", "source", "record_id", "customer_key"], "identity_quality_daily", "clusters")
    require(links, ["run_date", "source_l", "source_r", "status"], "identity_quality_daily", "links")
    require(review, ["run_date", "source_l", "source_r"], "identity_quality_daily", "review")
    comp = clusters.groupBy("run_date", "customer_key", "source").agg(F.count(F.lit(1)).alias("n"))
    a, b = comp.alias("a"), comp.alias("b")
    pairs = a.join(b, ["run_date", "customer_key"]).select(
        "run_date", F.col("a.source").alias("source"), F.col("b.source").alias("other_source"),
        F.when(F.col("a.source") != F.col("b.source"), F.col("a.n"))
         .when(F.col("a.n") > 1, F.col("a.n")).otherwise(F.lit(0)).alias("linked"))
    linked = pairs.groupBy("run_date", "source", "other_source").agg(F.sum("linked").alias("linked_records"))
    records = comp.groupBy("run_date", "source").agg(F.sum("n").alias("records"))
    srcs = comp.select("run_date", F.col("source").alias("other_source")).distinct()
    grid = records.join(srcs, "run_date")
    lk = links.where(F.col("status") == "merged").select("run_date", *[c.alias(n) for c, n in zip(
        _pair("source_l", "source_r"), ("_p1", "_p2"))]).groupBy("run_date", "_p1", "_p2").agg(
        F.count(F.lit(1)).alias("merged_links"))
    rv = review.select("run_date", *[c.alias(n) for c, n in zip(_pair("source_l", "source_r"), ("_p1", "_p2"))]
                       ).groupBy("run_date", "_p1", "_p2").agg(F.count(F.lit(1)).alias("review_pairs"))
    g = grid.withColumn("_p1", F.least("source", "other_source")).withColumn("_p2", F.greatest("source", "other_source"))
    out = (g.join(linked, ["run_date", "source", "other_source"], "left").join(lk, ["run_date", "_p1", "_p2"], "left")
           .join(rv, ["run_date", "_p1", "_p2"], "left"))
    zero = F.lit(0).cast("bigint")
    return out.select(
        date_key("run_date").alias("date_key"), F.col("run_date").cast("date").alias("run_date"), "source",
        "other_source", F.col("records").cast("bigint").alias("records"),
        F.coalesce(F.col("linked_records"), zero).cast("bigint").alias("linked_records"),
        safe_ratio(F.coalesce(F.col("linked_records"), zero), F.col("records")).alias("link_rate"),
        F.coalesce(F.col("merged_links"), zero).cast("bigint").alias("merged_links"),
        F.coalesce(F.col("review_pairs"), zero).cast("bigint").alias("review_pairs"),
    )


def build_identity_cluster_sizes(clusters: DataFrame, review: DataFrame) -> DataFrame:
    """Cluster-size distribution per identity run: clusters and records per size, and the review-queue size.

    Inputs: ``clusters`` (run_date, customer_key), ``review`` (run_date). ``review_queue_size``
    is the run's total queue (repeated on each size row of the run).
    """
    require(clusters, ["run_date", "customer_key"], "identity_cluster_sizes", "clusters")
    require(review, ["run_date"], "identity_cluster_sizes", "review")
    sizes = clusters.groupBy("run_date", "customer_key").agg(F.count(F.lit(1)).alias("cluster_size"))
    dist = sizes.groupBy("run_date", "cluster_size").agg(F.count(F.lit(1)).alias("clusters"))
    q = review.groupBy("run_date").agg(F.count(F.lit(1)).alias("review_queue_size"))
    return dist.join(q, "run_date", "left").select(
        date_key("run_date").alias("date_key"), F.col("run_date").cast("date").alias("run_date"),
        F.col("cluster_size").cast("int").alias("cluster_size"), F.col("clusters").cast("bigint").alias("clusters"),
        (F.col("clusters") * F.col("cluster_size")).cast("bigint").alias("records"),
        F.coalesce(F.col("review_queue_size"), F.lit(0)).cast("bigint").alias("review_queue_size"),
    )
