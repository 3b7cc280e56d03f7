"""Bronze -> silver: typed, deduplicated, pseudonymised entities and events (pure transforms).

Each ``silver_<table>(bronze, ...)`` takes the bronze rows of every delivery seen so far
and returns the silver table:

- timestamps parsed to UTC (``*_at``/``*_time``), local business dates beside them
  (``*_date``), money as ``decimal(18,2)``;
- duplicates (the same key delivered again, in the same or a later drop) removed
  deterministically: the newest ``updated_at`` wins where the entity has one, then the
  latest ``batch_date``, then the last line of the file;
- raw identifiers (phone, e-mail, WeChat openid/unionid) replaced by HMAC-SHA256 hashes of
  their normalised value (``transforms.standardise``) and masked display values
  (``138****5678``, ``z***@qq.com``); free text that may leak them (Weibo bios, service
  chats) has phone numbers, e-mails and QQ numbers masked.

The HMAC key is a parameter (``settings.hmac_key_bytes()`` in the pipeline).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from transforms.bronze import parse_date, parse_ts_local, parse_ts_offset
from transforms.standardise.email import normalise_email_series
from transforms.standardise.hashing import check_key, hmac_series
from transforms.standardise.phone import normalise_phone_series


# -- identifiers -------------------------------------------------------------------------------
def mask_phone(e164: str | None, prefix3: str | None, last4: str | None, kind: str | None) -> str | None:
    """Display value of a phone: ``138****5678`` for China mobiles, else ``****`` + last four digits."""
    if prefix3 and last4:
        return f"{prefix3}****{last4}"
    if e164:
        return "****" + e164[-4:]
    return None


def mask_email(email: str | None) -> str | None:
    """Display value of a normalised e-mail: first character, ``***``, the domain (``z***@qq.com``)."""
    if not email or "@" not in email:
        return None
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None, keep: int = 1) -> str | None:
    """Display value of a name or handle: its first ``keep`` characters, then one ``*`` per
    hidden character (``王小明`` -> ``王**``, ``zhangwei`` -> ``z*******``). A value no longer
    than ``keep`` (a bare surname such as ``王``) is shown as it is: it hides nothing more."""
    if name is None or (isinstance(name, float) and name != name):
        return None
    text = str(name).strip()
    if not text:
        return None
    return text[:keep] + "*" * (len(text) - keep) if len(text) > keep else text


def phone_udf(key: bytes):
    """pandas UDF: raw phone -> struct(phone_hash, phone_masked)."""
    key = check_key(key)

    @F.pandas_udf("struct<phone_hash:string,phone_masked:string>")
    def phone(values: pd.Series) -> pd.DataFrame:
        norm = normalise_phone_series(values)
        hashes = hmac_series(key, norm["e164"])
        masked = [mask_phone(e, p, l, k) for e, p, l, k in zip(norm["e164"], norm["prefix3"], norm["last4"], norm["kind"])]
        return pd.DataFrame({"phone_hash": hashes.to_numpy(), "phone_masked": masked})

    return phone


def email_udf(key: bytes):
    """pandas UDF: raw e-mail -> struct(email_hash, email_masked)."""
    key = check_key(key)

    @F.pandas_udf("struct<email_hash:string,email_masked:string>")
    def email(values: pd.Series) -> pd.DataFrame:
        norm = normalise_email_series(values)
        hashes = hmac_series(key, norm["email"])
        return pd.DataFrame({"email_hash": hashes.to_numpy(), "email_masked": [mask_email(e) for e in norm["email"]]})

    return email


def id_hash_udf(key: bytes):
    """pandas UDF: an opaque id (WeChat openid/unionid), trimmed, -> its HMAC; blank -> null."""
    key = check_key(key)

    @F.pandas_udf("string")
    def id_hash(values: pd.Series) -> pd.Series:
        cleaned = values.astype("object").map(lambda v: v.strip() if isinstance(v, str) and v.strip() else None)
        return hmac_series(key, cleaned)

    return id_hash


_EMAIL_IN_TEXT = r"([A-Za-z0-9])[A-Za-z0-9._%+\-]*(@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+)"
_MOBILE_IN_TEXT = r"(?<!\d)(1[3-9]\d)[\s\-]?\d{4}[\s\-]?(\d{4})(?!\d)"
_QQ_IN_TEXT = r"(?i)((?:qq|扣扣|企鹅)\D{0,3})(\d{2})\d{3,9}(?!\d)"


def mask_identifiers_in_text(text: Column) -> Column:
    """Free text with e-mails, China mobile numbers and QQ numbers masked (for bios, chats)."""
    out = F.regexp_replace(text, _EMAIL_IN_TEXT, "$1***$2")
    out = F.regexp_replace(out, _MOBILE_IN_TEXT, "$1****$2")
    return F.regexp_replace(out, _QQ_IN_TEXT, "$1$2*****")


# -- dedup and time ---------------------------------------------------------------------------------
def latest_by(df: DataFrame, keys: list[str], newest_first: list[Column] | None = None) -> DataFrame:
    """One row per ``keys``: the first by ``newest_first``, then latest batch_date, then last line.

    Deterministic for any input order: the final tie-breakers (source file, line number)
    are unique per delivered line.
    """
    order = list(newest_first or []) + [
        F.col("batch_date").desc(),
        F.col("_source_file").desc_nulls_last(),
        F.col("_line_no").desc_nulls_last(),
    ]
    w = Window.partitionBy(*keys).orderBy(*order)
    return df.withColumn("_rank", F.row_number().over(w)).where(F.col("_rank") == 1).drop("_rank")


def local_date(ts: Column, timezone: str) -> Column:
    return F.to_date(F.from_utc_timestamp(ts, timezone))


def _gender(c: Column, mapping: dict) -> Column:
    expr = F.lit(None).cast("string")
    for raw, value in mapping.items():
        expr = F.when(F.trim(c.cast("string")) == raw, F.lit(value)).otherwise(expr)
    return expr


def _blank_to_null(c: Column) -> Column:
    return F.when(F.trim(c) != "", F.trim(c))


# -- CRM ----------------------------------------------------------------------------------------------
def silver_crm_customers(bronze: DataFrame, hmac_key: bytes, timezone: str) -> DataFrame:
    """Latest version of each CRM customer (by ``updated_at``), identifiers hashed and masked."""
    phone, email, id_hash = phone_udf(hmac_key), email_udf(hmac_key), id_hash_udf(hmac_key)
    typed = bronze.withColumn("_updated", parse_ts_local(F.col("updated_at"), timezone))
    latest = latest_by(typed, ["customer_id"], [F.col("_updated").desc_nulls_last()])
    return latest.select(
        "customer_id",
        F.trim("name").alias("name"),
        _gender(F.col("gender"), {"男": "m", "女": "f", "M": "m", "F": "f", "m": "m", "f": "f"}).alias("gender"),
        phone(F.col("mobile")).alias("_p"),
        email(F.col("email")).alias("_e"),
        F.col("birth_month").cast("int").alias("birth_month"),
        "province", "city", "address", "postcode", "store_id", "member_tier",
        F.col("points_balance").cast("int").alias("points_balance"),
        parse_date(F.col("register_date")).alias("register_date"),
        id_hash(F.col("wechat_openid")).alias("wechat_openid_hash"),
        F.when(F.upper(F.trim("marketing_consent")) == "Y", True)
        .when(F.upper(F.trim("marketing_consent")) == "N", False).alias("marketing_consent"),
        F.col("_updated").alias("updated_at"),
        F.col("batch_date"),
    ).select(
        "customer_id", "name", "gender", "_p.phone_hash", "_p.phone_masked", "_e.email_hash", "_e.email_masked",
        "birth_month", "province", "city", "address", "postcode", "store_id", "member_tier", "points_balance",
        "register_date", "wechat_openid_hash", "marketing_consent", "updated_at", "batch_date",
    )


def silver_orders(bronze: DataFrame, timezone: str) -> DataFrame:
    """One row per order line (order_id, line_no); the latest delivery wins."""
    ts = parse_ts_local(F.col("order_time"), timezone)
    return latest_by(bronze, ["order_id", "line_no"]).select(
        "order_id", F.col("line_no").cast("int").alias("line_no"), "customer_id",
        ts.alias("order_time"), local_date(ts, timezone).alias("order_date"),
        "store_id", "channel", "payment_method", "product_id", "product_name", "category",
        F.col("quantity").cast("int").alias("quantity"),
        F.col("unit_price").cast("decimal(18,2)").alias("unit_price"),
        F.col("amount").cast("decimal(18,2)").alias("amount"),
        _blank_to_null(F.col("coupon_code")).alias("coupon_code"),
        _blank_to_null(F.col("campaign_id")).alias("campaign_id"),
        "batch_date",
    )


def silver_points(bronze: DataFrame, timezone: str) -> DataFrame:
    """One row per loyalty-point transaction."""
    ts = parse_ts_local(F.col("txn_time"), timezone)
    return latest_by(bronze, ["txn_id"]).select(
        "txn_id", "customer_id", ts.alias("txn_time"), local_date(ts, timezone).alias("txn_date"),
        F.col("points_delta").cast("int").alias("points_delta"), "reason", "batch_date",
    )


def silver_communications(bronze: DataFrame, timezone: str) -> DataFrame:
    """One row per CRM communication (SMS, call, e-mail, WeChat message)."""
    ts = parse_ts_local(F.col("comm_time"), timezone)
    return latest_by(bronze, ["comm_id"]).select(
        "comm_id", "customer_id", ts.alias("comm_time"), local_date(ts, timezone).alias("comm_date"),
        "channel", _blank_to_null(F.col("campaign_id")).alias("campaign_id"), "direction", "outcome", "batch_date",
    )


def silver_campaigns(bronze: DataFrame) -> DataFrame:
    """One row per campaign (latest delivery), with dates and the discount typed."""
    return latest_by(bronze, ["campaign_id"]).select(
        "campaign_id", "name", "platform",
        parse_date(F.col("start_date")).alias("start_date"), parse_date(F.col("end_date")).alias("end_date"),
        _blank_to_null(F.col("coupon_code")).alias("coupon_code"),
        F.col("discount").cast("decimal(18,2)").alias("discount"), "batch_date",
    )


# -- social ---------------------------------------------------------------------------------------------
SOCIAL_ACCOUNT_COLUMNS = [
    "platform", "account_id", "nickname", "gender", "province", "city", "country", "location", "birthday",
    "description", "tags", "verified", "verified_type", "followers_count", "friends_count", "statuses_count",
    "phone_hash", "phone_masked", "wechat_unionid_hash", "wechat_openid_hash", "subscribed", "subscribe_time",
    "tagid_list", "remark", "language", "created_at", "updated_at", "batch_date",
]


def _weibo_accounts(users: DataFrame, hmac_key: bytes, timezone: str) -> DataFrame:
    phone = phone_udf(hmac_key)
    typed = users.withColumn("_updated", parse_ts_offset(F.col("updated_at"), timezone))
    latest = latest_by(typed, ["uid"], [F.col("_updated").desc_nulls_last()])
    return latest.select(
        F.lit("weibo").alias("platform"), F.col("uid").alias("account_id"), F.col("screen_name").alias("nickname"),
        _gender(F.col("gender"), {"m": "m", "f": "f"}).alias("gender"), "province", "city",
        F.lit(None).cast("string").alias("country"), "location", "birthday",
        mask_identifiers_in_text(F.col("description")).alias("description"), "tags",
        F.col("verified").cast("boolean").alias("verified"), F.col("verified_type").cast("int").alias("verified_type"),
        F.col("followers_count").cast("long").alias("followers_count"),
        F.col("friends_count").cast("long").alias("friends_count"),
        F.col("statuses_count").cast("long").alias("statuses_count"),
        phone(F.col("masked_phone")).alias("_p"),
        F.lit(None).cast("string").alias("wechat_unionid_hash"), F.lit(None).cast("string").alias("wechat_openid_hash"),
        F.lit(None).cast("boolean").alias("subscribed"), F.lit(None).cast("timestamp").alias("subscribe_time"),
        F.lit(None).cast("array<int>").alias("tagid_list"), F.lit(None).cast("string").alias("remark"),
        F.lit(None).cast("string").alias("language"),
        parse_ts_offset(F.col("created_at"), timezone).alias("created_at"), F.col("_updated").alias("updated_at"),
        "batch_date",
    ).withColumn("phone_hash", F.col("_p.phone_hash")).withColumn("phone_masked", F.col("_p.phone_masked"))


def _wechat_accounts(followers: DataFrame, hmac_key: bytes, timezone: str) -> DataFrame:
    phone, id_hash = phone_udf(hmac_key), id_hash_udf(hmac_key)
    typed = followers.withColumn("_updated", parse_ts_offset(F.col("updated_at"), timezone))
    latest = latest_by(typed, ["openid"], [F.col("_updated").desc_nulls_last()])
    openid_hash = id_hash(F.col("openid"))
    return latest.select(
        F.lit("wechat").alias("platform"), openid_hash.alias("account_id"), "nickname",
        _gender(F.col("sex"), {"1": "m", "2": "f"}).alias("gender"), "province", "city", "country",
        F.lit(None).cast("string").alias("location"), F.lit(None).cast("string").alias("birthday"),
        F.lit(None).cast("string").alias("description"), F.lit(None).cast("array<string>").alias("tags"),
        F.lit(None).cast("boolean").alias("verified"), F.lit(None).cast("int").alias("verified_type"),
        F.lit(None).cast("long").alias("followers_count"), F.lit(None).cast("long").alias("friends_count"),
        F.lit(None).cast("long").alias("statuses_count"),
        phone(F.col("phone")).alias("_p"),
        id_hash(F.col("unionid")).alias("wechat_unionid_hash"), openid_hash.alias("wechat_openid_hash"),
        (F.col("subscribe") == 1).alias("subscribed"),
        F.when(F.col("subscribe_time").isNotNull(), F.timestamp_seconds(F.col("subscribe_time"))).alias("subscribe_time"),
        "tagid_list", mask_identifiers_in_text(F.col("remark")).alias("remark"), "language",
        F.lit(None).cast("timestamp").alias("created_at"), F.col("_updated").alias("updated_at"), "batch_date",
    ).withColumn("phone_hash", F.col("_p.phone_hash")).withColumn("phone_masked", F.col("_p.phone_masked"))


def silver_social_accounts(weibo_users: DataFrame | None, wechat_followers: DataFrame | None,
                           hmac_key: bytes, timezone: str) -> DataFrame:
    """Weibo users and WeChat followers in one table, one row per (platform, account_id).

    ``account_id`` is the Weibo uid, or the HMAC of the WeChat openid (the openid itself
    never leaves bronze).
    """
    parts = []
    if weibo_users is not None:
        parts.append(_weibo_accounts(weibo_users, hmac_key, timezone).select(*SOCIAL_ACCOUNT_COLUMNS))
    if wechat_followers is not None:
        parts.append(_wechat_accounts(wechat_followers, hmac_key, timezone).select(*SOCIAL_ACCOUNT_COLUMNS))
    if not parts:
        raise ValueError("silver_social_accounts needs Weibo users or WeChat followers")
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def silver_posts(bronze: DataFrame, timezone: str) -> DataFrame:
    """One row per Weibo post (mid)."""
    ts = parse_ts_offset(F.col("created_at"), timezone)
    return latest_by(bronze, ["mid"]).select(
        "mid", "uid", ts.alias("created_at"), local_date(ts, timezone).alias("created_date"), "text",
        _blank_to_null(F.col("retweeted_mid")).alias("retweeted_mid"),
        F.col("reposts_count").cast("long").alias("reposts_count"),
        F.col("comments_count").cast("long").alias("comments_count"),
        F.col("attitudes_count").cast("long").alias("attitudes_count"),
        F.col("source").alias("client"), "batch_date",
    )


def silver_interactions(bronze: DataFrame, hmac_key: bytes, timezone: str) -> DataFrame:
    """One row per WeChat interaction event; the openid replaced by its HMAC, chat text masked."""
    id_hash = id_hash_udf(hmac_key)
    ts = parse_ts_offset(F.col("event_time"), timezone)
    return latest_by(bronze, ["event_id"]).select(
        "event_id", id_hash(F.col("openid")).alias("wechat_openid_hash"), "event_type",
        ts.alias("event_time"), local_date(ts, timezone).alias("event_date"),
        _blank_to_null(F.col("article_id")).alias("article_id"), _blank_to_null(F.col("menu_key")).alias("menu_key"),
        mask_identifiers_in_text(F.col("content")).alias("content"),
        _blank_to_null(F.col("coupon_code")).alias("coupon_code"),
        _blank_to_null(F.col("campaign_id")).alias("campaign_id"), "batch_date",
    )


def silver_follows(bronze: DataFrame, timezone: str) -> DataFrame:
    """One row per Weibo follow edge (follower_uid, followee_uid)."""
    return latest_by(bronze, ["follower_uid", "followee_uid"]).select(
        "follower_uid", "followee_uid", parse_ts_offset(F.col("created_at"), timezone).alias("created_at"),
        "batch_date",
    )
