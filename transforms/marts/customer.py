"""gold/dim_customer (the 用户画像, customer 360) and gold/crm_export_segments (contact lists for the CRM)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.consent import person_consent
from transforms.marts._common import require, surrogate_key
from transforms.marts.params import GoldParams

#: Age bands (65+ is its own band: a fast-growing group); lower bound inclusive.
AGE_BANDS = [(0, "<18"), (18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+")]

#: Latest features carried into dim_customer, with their gold types (money as decimal).
FEATURE_COLUMNS: dict[str, str] = {
    "lifecycle_segment": "string",
    "participation_segment": "string",
    "first_purchase_date": "date",
    "last_purchase_date": "date",
    "recency_days": "int",
    "orders_3y": "bigint",
    "value_3y": "decimal(18,2)",
    "avg_order_value": "decimal(18,2)",
    "monetary_365d": "decimal(18,2)",
    "is_repeat_buyer": "int",
    "r_score": "int",
    "f_score": "int",
    "m_score": "int",
    "engagement_index": "double",
    "influence_score": "double",
    "kol_tier": "string",
    "is_ally": "int",
    "ally_drift": "int",
    "top_interest": "string",
}

# Source priority for demographics: the CRM is what the customer told the brand.
_PRIORITY = {"crm": 0, "wechat": 1, "weibo": 2}
_MASKED_PHONE = r"^(\d{3}\*{4}\d{4}|\*{4}\d{4})$"
_MASKED_EMAIL = r"^.\*\*\*@[^@\s]+$"


def age_band(age: Column) -> Column:
    """Age band label of an integer age column (null stays null)."""
    expr = F.lit(None).cast("string")
    for low, label in AGE_BANDS:
        expr = F.when(age >= low, F.lit(label)).otherwise(expr)
    return F.when(age.isNotNull(), expr)


def _first_by_priority(col: str) -> Column:
    """The non-null value of ``col`` from the highest-priority source (min over a struct skips nulls)."""
    return F.min(F.when(F.col(col).isNotNull(), F.struct(F.col("_prio"), F.col(col))))[col].alias(col)


def _latest_masked(col: str, pattern: str) -> Column:
    """The latest (by updated_at) value that looks masked; anything else is never published."""
    ok = F.col(col).rlike(pattern)
    return F.max(F.when(ok, F.struct(F.col("updated_at"), F.col(col))))[col].alias(col)


def build_dim_customer(keys: DataFrame, person_records: DataFrame, crm_customers: DataFrame, features: DataFrame,
                       as_of: dt.date, wechat_state: DataFrame) -> DataFrame:
    """One row per customer_key of ``keys`` (the customer 360), with no clear personal data.

    Inputs (columns used):
      - ``keys``: source (crm/weibo/wechat), record_id, customer_key — one identity snapshot;
      - ``person_records``: source, record_id, gender (m/f), birth_year, province, city;
      - ``crm_customers``: customer_id, phone_masked, email_masked, member_tier, marketing_consent, updated_at;
      - ``features``: customer_key, snapshot_date and any of :data:`FEATURE_COLUMNS`
        (the latest snapshot per customer is used; absent columns come out null);
      - ``wechat_state``: account_id (openid HMAC), subscribed — the output of
        :func:`transforms.consent.wechat_subscription_state`.

    Promises: gender, province, city and birth year come from the highest-priority source
    that has them (crm, then wechat, then weibo); ``age_band`` = band of
    ``as_of.year - birth_year``; ``phone_masked``/``email_masked`` are the latest CRM
    display values that match the masked forms (138****5678, z***@qq.com) — anything else
    is nulled, never published; account counts and ``has_*`` flags per platform (no raw
    ids); ``wechat_unsubscribed`` and ``marketing_consent`` follow the one consent rule of
    :func:`transforms.consent.person_consent` (CRM records all say yes, and no linked WeChat
    account unsubscribed); ``customer_sk`` is xxhash64(customer_key).
    """
    require(keys, ["source", "record_id", "customer_key"], "dim_customer", "keys")
    require(person_records, ["source", "record_id", "gender", "birth_year", "province", "city"], "dim_customer",
            "person_records")
    require(crm_customers, ["customer_id", "phone_masked", "email_masked", "member_tier", "marketing_consent",
                            "updated_at"], "dim_customer", "crm_customers")
    require(features, ["customer_key", "snapshot_date"], "dim_customer", "features")
    k = keys.select("source", "record_id", "customer_key").distinct()
    counts = k.groupBy("customer_key").agg(
        F.count(F.when(F.col("source") == "crm", 1)).alias("crm_records"),
        F.count(F.when(F.col("source") == "weibo", 1)).alias("weibo_accounts"),
        F.count(F.when(F.col("source") == "wechat", 1)).alias("wechat_accounts"),
    )
    demo = (person_records.join(k, ["source", "record_id"]).withColumn("_prio", F.create_map(*[F.lit(x) for kv in _PRIORITY.items() for x in kv])[F.col("source")])
            .groupBy("customer_key")
            .agg(*[_first_by_priority(c) for c in ("gender", "birth_year", "province", "city")]))
    crm = crm_customers.join(
        k.where(F.col("source") == "crm").select(F.col("record_id").alias("customer_id"), "customer_key"), "customer_id")
    contact = crm.groupBy("customer_key").agg(
        _latest_masked("phone_masked", _MASKED_PHONE),
        _latest_masked("email_masked", _MASKED_EMAIL),
        F.max(F.struct(F.col("updated_at"), F.col("member_tier")))["member_tier"].alias("member_tier"),
    )
    consent = person_consent(k, crm_customers, wechat_state).drop("crm_consent")
    latest = features.groupBy("customer_key").agg(F.max("snapshot_date").alias("feature_snapshot_date"))
    feats = features.join(latest, (features["customer_key"] == latest["customer_key"])
                          & (features["snapshot_date"] == latest["feature_snapshot_date"])).drop(latest["customer_key"])
    feats = feats.select("customer_key", "feature_snapshot_date", *[
        (F.col(c) if c in features.columns else F.lit(None)).cast(t).alias(c) for c, t in FEATURE_COLUMNS.items()])
    out = (counts.join(demo, "customer_key", "left").join(contact, "customer_key", "left")
           .join(feats, "customer_key", "left").join(consent, "customer_key", "left"))
    age = F.lit(as_of.year) - F.col("birth_year").cast("int")
    return out.select(
        surrogate_key("customer_key").alias("customer_sk"),
        "customer_key", "phone_masked", "email_masked", "gender",
        age_band(F.when((age >= 0) & (age <= 120), age)).alias("age_band"),
        "province", "city", "member_tier",
        *FEATURE_COLUMNS.keys(),
        F.col("crm_records").cast("int").alias("crm_records"),
        F.col("weibo_accounts").cast("int").alias("weibo_accounts"),
        F.col("wechat_accounts").cast("int").alias("wechat_accounts"),
        (F.col("crm_records") > 0).alias("has_crm"),
        (F.col("weibo_accounts") > 0).alias("has_weibo"),
        (F.col("wechat_accounts") > 0).alias("has_wechat"),
        F.coalesce(F.col("wechat_unsubscribed"), F.lit(False)).alias("wechat_unsubscribed"),
        F.coalesce(F.col("marketing_consent"), F.lit(False)).alias("marketing_consent"),
        "feature_snapshot_date",
        F.lit(as_of).cast("date").alias("as_of_date"),
    )


#: Segment rules of the CRM export: (segment, condition on dim_customer, reason).
def _segment_rules(params: GoldParams) -> list[tuple[str, Column, Column]]:
    kol = F.col("kol_tier").isin("micro", "mid", "top")
    return [
        ("loyal_vip", F.col("lifecycle_segment") == "loyal",
         F.lit("loyal customer: 6+ orders over 2+ years, last within a year")),
        ("new_welcome", F.col("lifecycle_segment") == "new", F.lit("first order in the last 90 days")),
        ("win_back", (F.col("lifecycle_segment") == "existing") & (F.col("recency_days") > params.winback_days),
         F.concat(F.lit("last order "), F.col("recency_days").cast("string"), F.lit(" days ago"))),
        ("advocate", (F.col("is_ally") == 1) | kol,
         F.when(F.col("is_ally") == 1, F.lit("brand ally (positive KOL)"))
          .otherwise(F.concat(F.lit("KOL tier "), F.col("kol_tier")))),
        ("ally_care", F.col("ally_drift") == 1, F.lit("ally sentiment drifting down: service follow-up")),
    ]


def build_crm_export_segments(dim_customer: DataFrame, keys: DataFrame, crm_customers: DataFrame,
                              params: GoldParams = GoldParams()) -> DataFrame:
    """Contact lists the CRM can act on: one row per CRM record and segment, consent respected.

    Inputs: ``dim_customer`` (customer_key, marketing_consent, lifecycle_segment, recency_days,
    kol_tier, is_ally, ally_drift, as_of_date), ``keys`` (source, record_id, customer_key),
    ``crm_customers`` (customer_id, marketing_consent).
    Promises: only persons whose ``marketing_consent`` is true, and of them only CRM
    records whose own consent is true; a person in several segments has one row per
    segment; ``reason`` says why in words; rules are :func:`_segment_rules`.
    """
    require(dim_customer, ["customer_key", "marketing_consent", "lifecycle_segment", "recency_days", "kol_tier",
                           "is_ally", "ally_drift", "as_of_date"], "crm_export_segments", "dim_customer")
    require(keys, ["source", "record_id", "customer_key"], "crm_export_segments", "keys")
    require(crm_customers, ["customer_id", "marketing_consent"], "crm_export_segments", "crm_customers")
    consenting = dim_customer.where(F.col("marketing_consent"))
    parts = [consenting.where(cond).select("customer_key", "as_of_date", F.lit(name).alias("segment"),
                                           reason.alias("reason"))
             for name, cond, reason in _segment_rules(params)]
    seg = parts[0]
    for p in parts[1:]:
        seg = seg.unionByName(p)
    crm_ids = (keys.where(F.col("source") == "crm").select(F.col("record_id").alias("customer_id"), "customer_key")
               .join(crm_customers.where(F.col("marketing_consent")).select("customer_id"), "customer_id"))
    return seg.join(crm_ids, "customer_key").select(
        "customer_key", F.col("customer_id").alias("crm_customer_id"), "segment", "reason",
        F.lit(True).alias("marketing_consent"), "as_of_date")
