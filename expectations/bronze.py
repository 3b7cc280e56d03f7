"""Bronze suites: raw records as delivered, plus quarantine and the reconciliation report.

The columns, keys, required fields and range rules are those of the ingestion contract
(``transforms.bronze.SPECS``, mirrored in :data:`LANDING`); what the contract does not
enforce (value sets, freshness) is declared beside them.

Severities: a rule that ingestion enforces (required fields, declared ranges, non-negative
amounts) can only fail through an ingestion bug, so it is ERROR; everything bronze is
allowed to carry because it keeps records as delivered (codes outside the documented
sets, duplicate lines inside a drop) is WARN.
"""

from __future__ import annotations

from typing import Any

from expectations.suite import Kind, Severity, Suite, suites_from_specs

# Bronze keeps what sources send, so only contract breaches are ERROR by default.
SEVERITY = {
    Kind.SCHEMA: Severity.ERROR,
    Kind.NOT_NULL: Severity.ERROR,
    Kind.RANGE: Severity.ERROR,
    Kind.RECONCILIATION: Severity.ERROR,
    Kind.UNIQUE: Severity.WARN,
    Kind.VALUE_SET: Severity.WARN,
    Kind.ROW_COUNT: Severity.WARN,
    Kind.PAIR: Severity.WARN,
    Kind.RATIO: Severity.WARN,
    Kind.FRESHNESS: Severity.WARN,
}

#: How old the newest ``batch_date`` may be, in days before the run date.
FRESHNESS_DAYS = 1

#: Documented code sets (docs/sources.md) that ingestion does not enforce.
VALUE_SETS: dict[str, dict[str, list[Any]]] = {
    "bronze/weibo_users": {"gender": ["m", "f", "n"]},
    "bronze/wechat_interactions": {
        "event_type": ["push_read", "menu_click", "service_chat", "coupon_claim", "subscribe", "unsubscribe"]
    },
    "bronze/crm_customers": {
        "gender": ["男", "女"],
        "member_tier": ["普通", "银卡", "金卡", "钻石"],
        "marketing_consent": ["Y", "N"],
    },
    "bronze/crm_orders": {"channel": ["store", "online", "wechat_mall", "phone"]},
    "bronze/crm_communications": {"channel": ["sms", "call", "email", "wechat"], "direction": ["in", "out"]},
    "bronze/crm_campaigns": {"platform": ["weibo", "wechat", "crm", "all"]},
}

EXTRA_RANGES: dict[str, dict[str, Any]] = {
    "bronze/weibo_users": {"verified_type": [-1, 7]},
}

#: Lineage columns every bronze table carries (besides its landing fields).
LINEAGE = ["batch_date", "_source_file", "_ingested_at", "_batch_id"]

#: Reason codes of quarantined records (``transforms.bronze.REASONS``); a new code is
#: reported (WARN) until it is documented here and in docs/ingestion.md.
REASON_CODES = [
    "empty_line", "mojibake", "malformed_json", "malformed_csv", "missing_required",
    "type_mismatch", "out_of_range", "negative_amount", "future_date",
]

QUARANTINE_SPEC: dict[str, Any] = {
    "columns": ["source", "entity", "batch_date", "raw_payload", "reason_code", "reason", "_batch_id", "_ingested_at"],
    "not_null": ["source", "entity", "batch_date", "reason_code", "_batch_id"],
    "value_sets": {"source": ["weibo", "wechat", "crm", "crm_jdbc"], "reason_code": REASON_CODES},
}

RECONCILIATION_SPEC: dict[str, Any] = {
    "columns": ["source", "entity", "batch_date", "input_records", "written_records", "quarantined_records"],
    "keys": ["source", "entity", "batch_date"],
    "not_null": ["input_records", "written_records", "quarantined_records"],
    "ranges": {"input_records": [0, None], "written_records": [0, None], "quarantined_records": [0, None]},
    "reconciliation": {"input": "input_records", "outputs": ["written_records", "quarantined_records"]},
    # A day with more than 5% rejected lines is worth a look, not a stop.
    "ratios": {"quarantine_share": {"numerator": "quarantined_records", "denominator": "input_records", "max": 0.05}},
    "freshness": {"column": "batch_date", "max_age_days": FRESHNESS_DAYS},
    "severity": {"unique_source_entity_batch_date": "ERROR"},
}


#: Landing fields of each bronze table, its key, its required fields and the ranges that
#: ingestion enforces: a copy of the contract in ``transforms.bronze.SPECS`` kept here as
#: data so suites load without Spark (Dagster builds its check specs at import time);
#: tests/test_expectations.py fails when the two drift apart.
LANDING: dict[str, dict[str, Any]] = {
    "bronze/weibo_users": {
        "fields": ["uid", "screen_name", "gender", "province", "city", "location", "birthday", "description",
                   "tags", "verified", "verified_type", "followers_count", "friends_count", "statuses_count",
                   "masked_phone", "created_at", "updated_at"],
        "keys": ["uid"], "required": ["uid"],
        "ranges": {"followers_count": [0, None], "friends_count": [0, None], "statuses_count": [0, None]},
    },
    "bronze/weibo_posts": {
        "fields": ["mid", "uid", "created_at", "text", "retweeted_mid", "reposts_count", "comments_count",
                   "attitudes_count", "source"],
        "keys": ["mid"], "required": ["mid", "uid"],
        "ranges": {"reposts_count": [0, None], "comments_count": [0, None], "attitudes_count": [0, None]},
    },
    "bronze/weibo_follows": {
        "fields": ["follower_uid", "followee_uid", "created_at"],
        "keys": ["follower_uid", "followee_uid"], "required": ["follower_uid", "followee_uid"],
    },
    "bronze/wechat_followers": {
        "fields": ["openid", "unionid", "nickname", "sex", "province", "city", "country", "subscribe",
                   "subscribe_time", "tagid_list", "remark", "phone", "language", "updated_at"],
        "keys": ["openid"], "required": ["openid"],
        "ranges": {"sex": [0, 2], "subscribe": [0, 1]},
    },
    "bronze/wechat_interactions": {
        "fields": ["event_id", "openid", "event_type", "event_time", "article_id", "menu_key", "content",
                   "coupon_code", "campaign_id"],
        "keys": ["event_id"], "required": ["event_id", "openid"],
    },
    "bronze/crm_customers": {
        "fields": ["customer_id", "name", "gender", "mobile", "email", "birth_month", "province", "city", "address",
                   "postcode", "store_id", "member_tier", "points_balance", "register_date", "wechat_openid",
                   "marketing_consent", "updated_at"],
        "keys": ["customer_id"], "required": ["customer_id"],
        "ranges": {"birth_month": [1, 12]},
    },
    "bronze/crm_orders": {
        "fields": ["order_id", "line_no", "customer_id", "order_time", "store_id", "channel", "payment_method",
                   "product_id", "product_name", "category", "quantity", "unit_price", "amount", "coupon_code",
                   "campaign_id"],
        "keys": ["order_id", "line_no"], "required": ["order_id", "line_no"],
        "ranges": {"quantity": [0, None], "unit_price": [0, None], "amount": [0, None]},
    },
    "bronze/crm_points": {
        "fields": ["txn_id", "customer_id", "txn_time", "points_delta", "reason"],
        "keys": ["txn_id"], "required": ["txn_id"],
    },
    "bronze/crm_communications": {
        "fields": ["comm_id", "customer_id", "comm_time", "channel", "campaign_id", "direction", "outcome"],
        "keys": ["comm_id"], "required": ["comm_id"],
    },
    "bronze/crm_campaigns": {
        "fields": ["campaign_id", "name", "platform", "start_date", "end_date", "coupon_code", "discount"],
        "keys": ["campaign_id"], "required": ["campaign_id"],
        "ranges": {"discount": [0, None]},
    },
}


def _landing_specs() -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for table, landing in LANDING.items():
        ranges = {**landing.get("ranges", {}), **EXTRA_RANGES.get(table, {})}
        specs[table] = {
            "columns": [*landing["fields"], *LINEAGE],
            # Not null (ERROR) and unique together per drop (WARN: the same key twice in
            # one drop is dirty input that bronze keeps and silver dedupes).
            "keys": [*landing["keys"], "batch_date"],
            "not_null": [*landing["required"], "_batch_id"],
            "value_sets": VALUE_SETS.get(table, {}),
            "ranges": ranges,
            "row_count": {"min": 1},
            "freshness": {"column": "batch_date", "max_age_days": FRESHNESS_DAYS},
        }
    return specs


def specs() -> dict[str, dict[str, Any]]:
    """Every bronze-layer spec, ``{table: spec}`` (see :mod:`expectations.suite`)."""
    out = _landing_specs()
    out["quarantine"] = QUARANTINE_SPEC
    out["_reports/reconciliation"] = RECONCILIATION_SPEC
    return out


def suites() -> dict[str, Suite]:
    """Every bronze-layer suite, ``{table: Suite}``."""
    return suites_from_specs(specs(), SEVERITY)
