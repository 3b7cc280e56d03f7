"""Customer value from the CRM: RFM quintiles, repeat purchase, order value, lifecycle, points.

All figures are per person (``customer_key``): a person with two CRM records (re-registered
at another store) is one customer here.  Orders dated after the snapshot day are ignored.
Money is in yuan (double, rounded to cents).

Definitions (docs/features.md, group *value*):

* An order is one ``order_id``; its date is the earliest local ``order_date`` of its lines
  and its amount the sum of its line amounts (returns with negative amounts reduce it).
* ``recency_days`` = snapshot day - last order day; ``frequency_365d`` / ``monetary_365d``
  = orders / spend of the last 365 days.
* ``r_score``, ``f_score``, ``m_score`` = 1 + min(4, floor(5 x percent_rank)) among the
  customers with at least one order (percent_rank ascending in goodness: recent, frequent,
  high spend = 5; ties share a score; a population of one scores 1); null for prospects.
* ``is_repeat_buyer`` = 1 with >= 2 orders in three years (its mean over a group is that
  group's repeat-purchase rate); ``repeat_purchase_rate`` = (months with a purchase - 1) /
  months elapsed since the first purchase month, over the last 36 months (null until a
  month has elapsed); ``avg_order_value`` = ``value_3y`` / ``orders_3y``.
* ``lifecycle_segment``: prospect (no order), new (first order in the last ``new_days``
  days), loyal (>= ``loyal_min_orders`` orders in three years spread over >=
  ``loyal_min_span_days`` days, last order within ``loyal_max_recency_days``), else existing.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from transforms.features._common import as_date, local_date, require_columns
from transforms.features.params import ValueParams

TIER_RANK = {"普通": 1, "银卡": 2, "金卡": 3, "钻石": 4}
LIFECYCLE = ("prospect", "new", "existing", "loyal")


def _score(col: str, ascending_good: bool) -> F.Column:
    order = F.col(col).asc() if ascending_good else F.col(col).desc()
    pr = F.percent_rank().over(Window.orderBy(order))
    return F.lit(1) + F.least(F.lit(4), F.floor(F.lit(5) * pr).cast("int"))


def customer_value(
    orders: DataFrame, keys: DataFrame, snapshot_date: str | dt.date, params: ValueParams = ValueParams()
) -> DataFrame:
    """Purchase features per ``customer_key`` of ``keys`` (every person gets a row; prospects get zeros/nulls).

    ``orders`` needs ``order_id``, ``customer_id``, ``order_date`` (date), ``channel``,
    ``category``, ``amount``; ``keys`` maps ``customer_id`` -> ``customer_key`` (CRM records)
    and must hold every person wanted in the output (persons without a CRM record may come
    with a null ``customer_id``).  Order lines whose ``customer_id`` is not in ``keys`` are
    left out (the pipeline counts them).
    """
    require_columns(orders, ["order_id", "customer_id", "order_date", "channel", "category", "amount"], "customer_value(orders)")
    require_columns(keys, ["customer_id", "customer_key"], "customer_value(keys)")
    snap = as_date(snapshot_date)
    three_years_ago = F.add_months(F.lit(snap), -36)
    crm_keys = keys.where(F.col("customer_id").isNotNull()).select("customer_id", "customer_key").distinct()
    lines = (
        orders.where(F.col("order_date") <= F.lit(snap))
        .join(crm_keys, "customer_id")
        .withColumn("amount", F.col("amount").cast("double"))
    )
    per_order = lines.groupBy("customer_key", "order_id").agg(
        F.min("order_date").alias("day"),
        F.sum("amount").alias("amount"),
        F.max((F.col("channel") == F.lit("store")).cast("int")).alias("in_store"),
    )
    age = F.datediff(F.lit(snap), F.col("day"))
    in3y = F.col("day") > three_years_ago
    in365 = age < params.rfm_window_days
    in90 = age < 90
    month = F.date_trunc("month", F.col("day"))
    agg = per_order.groupBy("customer_key").agg(
        F.min("day").alias("first_purchase_date"),
        F.max("day").alias("last_purchase_date"),
        F.sum(in365.cast("int")).alias("frequency_365d"),
        F.sum(F.when(in365, F.col("amount")).otherwise(0.0)).alias("monetary_365d"),
        F.sum(in3y.cast("int")).alias("orders_3y"),
        F.sum(F.when(in3y, F.col("amount")).otherwise(0.0)).alias("value_3y"),
        F.sum(in90.cast("int")).alias("orders_90d"),
        F.countDistinct(F.when(in90 & (F.col("in_store") == 1), F.col("day"))).alias("store_visit_days_90d"),
        F.countDistinct(F.when(F.col("day") > F.add_months(F.lit(snap), -12), month)).alias("purchase_months_12m"),
        F.countDistinct(F.when(in3y, month)).alias("_months_3y"),
        F.min(F.when(in3y, F.col("day"))).alias("_first_3y"),
    )
    elapsed = F.months_between(F.date_trunc("month", F.lit(snap)), F.date_trunc("month", F.col("_first_3y"))).cast("int")
    span = F.datediff(F.col("last_purchase_date"), F.col("first_purchase_date"))
    recency = F.datediff(F.lit(snap), F.col("last_purchase_date"))
    buyers = agg.select(
        "customer_key",
        "first_purchase_date",
        "last_purchase_date",
        recency.alias("recency_days"),
        F.col("frequency_365d").cast("long").alias("frequency_365d"),
        F.round("monetary_365d", 2).alias("monetary_365d"),
        F.col("orders_3y").cast("long").alias("orders_3y"),
        F.round("value_3y", 2).alias("value_3y"),
        F.when(F.col("orders_3y") > 0, F.round(F.col("value_3y") / F.col("orders_3y"), 2)).alias("avg_order_value"),
        (F.col("orders_3y") >= 2).cast("int").alias("is_repeat_buyer"),
        F.when(elapsed > 0, F.least(F.lit(1.0), (F.col("_months_3y") - 1) / elapsed)).alias("repeat_purchase_rate"),
        F.col("orders_90d").cast("long").alias("orders_90d"),
        F.col("store_visit_days_90d").cast("long").alias("store_visit_days_90d"),
        F.col("purchase_months_12m").cast("long").alias("purchase_months_12m"),
        F.when(F.datediff(F.lit(snap), F.col("first_purchase_date")) < params.new_days, F.lit("new"))
        .when(
            (F.col("orders_3y") >= params.loyal_min_orders) & (span >= params.loyal_min_span_days) & (recency <= params.loyal_max_recency_days),
            F.lit("loyal"),
        )
        .otherwise(F.lit("existing"))
        .alias("lifecycle_segment"),
    )
    scored = buyers.withColumns(
        {
            "r_score": _score("recency_days", ascending_good=False),
            "f_score": _score("frequency_365d", ascending_good=True),
            "m_score": _score("monetary_365d", ascending_good=True),
        }
    )
    shares = category_shares(lines.where(F.col("order_date") > three_years_ago))
    people = keys.select("customer_key").where(F.col("customer_key").isNotNull()).distinct()
    out = people.join(scored, "customer_key", "left").join(shares, "customer_key", "left")
    zeros = ["frequency_365d", "orders_3y", "orders_90d", "store_visit_days_90d", "purchase_months_12m", "is_repeat_buyer"]
    out = out.fillna(0, subset=zeros).fillna(0.0, subset=["monetary_365d", "value_3y"])
    return out.withColumn("lifecycle_segment", F.coalesce(F.col("lifecycle_segment"), F.lit("prospect")))


def category_shares(lines: DataFrame) -> DataFrame:
    """Per ``customer_key``: ``category_share`` (map category -> share of positive spend, 0..1)
    and ``top_category``.  Lines with a null category count as 'unknown'."""
    spend = (
        lines.withColumn("category", F.coalesce(F.col("category"), F.lit("unknown")))
        .groupBy("customer_key", "category")
        .agg(F.sum(F.col("amount").cast("double")).alias("spend"))
        .where(F.col("spend") > 0)
    )
    total = F.sum("spend").over(Window.partitionBy("customer_key"))
    ranked = spend.withColumn("share", F.round(F.col("spend") / total, 4)).withColumn(
        "rk", F.row_number().over(Window.partitionBy("customer_key").orderBy(F.col("spend").desc(), F.col("category")))
    )
    return ranked.groupBy("customer_key").agg(
        F.map_from_entries(F.sort_array(F.collect_list(F.struct("category", "share")))).alias("category_share"),
        F.max(F.when(F.col("rk") == 1, F.col("category"))).alias("top_category"),
    )


def crm_profile(
    customers: DataFrame, points: DataFrame, keys: DataFrame, snapshot_date: str | dt.date, timezone: str = "Asia/Shanghai"
) -> DataFrame:
    """Per ``customer_key`` with a CRM record: points, tier and tenure.

    ``customers`` needs ``customer_id``, ``points_balance``, ``register_date``,
    ``member_tier``; ``points`` needs ``customer_id``, ``txn_ts`` (UTC timestamp),
    ``points_delta``.  Output: ``crm_records`` (CRM records merged into the person),
    ``points_balance`` (sum over them), ``points_earned_365d``, ``points_redeemed_365d``
    (positive number), ``member_tier`` (the highest), ``tenure_days`` (since the earliest
    registration).  Consent is not here: it is the one rule of
    :func:`transforms.consent.person_consent`.
    """
    require_columns(customers, ["customer_id", "points_balance", "register_date", "member_tier"], "crm_profile(customers)")
    require_columns(points, ["customer_id", "txn_ts", "points_delta"], "crm_profile(points)")
    snap = as_date(snapshot_date)
    crm_keys = keys.where(F.col("customer_id").isNotNull()).select("customer_id", "customer_key").distinct()
    rank = F.create_map(*[x for k, v in TIER_RANK.items() for x in (F.lit(k), F.lit(v))])
    prof = (
        customers.join(crm_keys, "customer_id")
        .groupBy("customer_key")
        .agg(
            F.countDistinct("customer_id").alias("crm_records"),
            F.sum(F.coalesce(F.col("points_balance"), F.lit(0))).cast("long").alias("points_balance"),
            F.max(F.struct(F.coalesce(rank[F.col("member_tier")], F.lit(0)), F.col("member_tier")))["member_tier"].alias("member_tier"),
            F.min("register_date").alias("_registered"),
        )
    )
    ts_day = local_date(F.col("txn_ts"), timezone)
    pts = (
        points.join(crm_keys, "customer_id")
        .where((F.datediff(F.lit(snap), ts_day) >= 0) & (F.datediff(F.lit(snap), ts_day) < 365))
        .groupBy("customer_key")
        .agg(
            F.sum(F.when(F.col("points_delta") > 0, F.col("points_delta")).otherwise(0)).cast("long").alias("points_earned_365d"),
            F.sum(F.when(F.col("points_delta") < 0, -F.col("points_delta")).otherwise(0)).cast("long").alias("points_redeemed_365d"),
        )
    )
    return (
        prof.join(pts, "customer_key", "left")
        .fillna(0, subset=["points_earned_365d", "points_redeemed_365d"])
        .select(
            "customer_key",
            "crm_records",
            "points_balance",
            "points_earned_365d",
            "points_redeemed_365d",
            "member_tier",
            F.datediff(F.lit(snap), F.col("_registered")).alias("tenure_days"),
        )
    )
