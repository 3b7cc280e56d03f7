"""Silver suites: typed, standardised, deduplicated entities, identity outputs and features.

Silver promises what bronze does not: one row per key, standardised codes
(``gender`` in m/f, lower-case channel names), sane amounts. A breach there is ERROR.
Freshness and the identity link rate are WARN: a quiet day or an unusual match rate is
worth a look, not a stop.

Column names follow docs/sources.md and the transforms being built; they are plain data
below so they can be adjusted in one place.
"""

from __future__ import annotations

from typing import Any

from expectations.suite import Kind, Severity, Suite, suites_from_specs

SEVERITY = {Kind.ROW_COUNT: Severity.WARN}

#: Share of person records whose cluster spans two or more sources. Below the floor the
#: matcher has probably stopped linking; above the ceiling it is probably over-merging.
LINK_RATE_BOUNDS = (0.05, 0.95)

#: How old the newest event may be, in days before the run date (events arrive daily).
EVENT_FRESHNESS_DAYS = 3

GENDER = ["m", "f"]
SOURCES = ["crm", "weibo", "wechat"]
PROBABILITY = [0, 1]

SPECS: dict[str, dict[str, Any]] = {
    "silver/crm_customers": {
        "columns": ["customer_id", "gender", "birth_month", "member_tier", "marketing_consent", "updated_at"],
        "keys": ["customer_id"],
        "value_sets": {"gender": GENDER},
        "ranges": {"birth_month": [1, 12]},
        "row_count": {"min": 1},
    },
    "silver/orders": {
        "columns": ["order_id", "line_no", "customer_id", "order_time", "order_date", "channel", "quantity", "amount"],
        "keys": ["order_id", "line_no"],
        "value_sets": {"channel": ["store", "online", "wechat_mall", "phone"]},
        "ranges": {"amount": [0, None], "quantity": [0, None]},
        "freshness": {"column": "order_date", "max_age_days": EVENT_FRESHNESS_DAYS},
    },
    "silver/points": {
        "columns": ["txn_id", "customer_id", "txn_time", "txn_date", "points_delta"],
        "keys": ["txn_id"],
    },
    "silver/communications": {
        "columns": ["comm_id", "customer_id", "comm_time", "comm_date", "channel", "direction"],
        "keys": ["comm_id"],
        "value_sets": {"channel": ["sms", "call", "email", "wechat"], "direction": ["in", "out"]},
    },
    "silver/campaigns": {
        "columns": ["campaign_id", "platform", "start_date", "end_date"],
        "keys": ["campaign_id"],
        "value_sets": {"platform": ["weibo", "wechat", "crm", "all"]},
        "ranges": {"discount": [0, None]},
        "pairs": [{"a": "end_date", "b": "start_date", "or_equal": True}],
        # discount is optional in the contract; do not fail the schema on it
        "severity": {"range_discount": "WARN"},
    },
    "silver/social_accounts": {
        "columns": ["platform", "account_id"],
        "keys": ["platform", "account_id"],
        "value_sets": {"platform": ["weibo", "wechat"]},
    },
    "silver/posts": {
        "columns": ["mid", "uid", "created_at", "created_date"],
        "keys": ["mid"],
        "not_null": ["uid", "created_at"],
        "ranges": {"reposts_count": [0, None], "comments_count": [0, None], "attitudes_count": [0, None]},
        "freshness": {"column": "created_date", "max_age_days": EVENT_FRESHNESS_DAYS},
        "severity": {"range": "WARN"},
    },
    "silver/interactions": {
        "columns": ["event_id", "wechat_openid_hash", "event_type", "event_time", "event_date"],
        "keys": ["event_id"],
        "not_null": ["wechat_openid_hash", "event_time"],
        "value_sets": {
            "event_type": ["push_read", "menu_click", "service_chat", "coupon_claim", "subscribe", "unsubscribe"]
        },
        "freshness": {"column": "event_date", "max_age_days": EVENT_FRESHNESS_DAYS},
    },
    "silver/follows": {
        "columns": ["follower_uid", "followee_uid"],
        "keys": ["follower_uid", "followee_uid"],
    },
    "silver/person_records": {
        "columns": ["source", "record_id", "full_name", "gender", "birth_year", "birth_month", "birth_day", "phone_hash"],
        "keys": ["source", "record_id"],
        "value_sets": {"source": SOURCES, "gender": GENDER},
        "ranges": {"birth_year": [1900, 2030], "birth_month": [1, 12], "birth_day": [1, 31]},
        "row_count": {"min": 1},
    },
    # Identity outputs keep one snapshot per nightly run (run_date): validate the run's rows.
    "silver/identity_clusters": {
        "columns": ["source", "record_id", "customer_key", "run_date"],
        "keys": ["run_date", "source", "record_id"],
        "not_null": ["customer_key"],
        "value_sets": {"source": SOURCES},
        "link_rate": {"cluster": "customer_key", "source": "source", "min": LINK_RATE_BOUNDS[0], "max": LINK_RATE_BOUNDS[1]},
        "row_count": {"min": 1},
        "freshness": {"column": "run_date", "max_age_days": 1},
    },
    "silver/identity_links": {
        "columns": ["run_date", "source_l", "record_id_l", "source_r", "record_id_r", "link_type", "match_probability", "status"],
        # one row per pair and kind of evidence (a pair can be linked by a key and by the model)
        "keys": ["run_date", "source_l", "record_id_l", "source_r", "record_id_r", "link_type"],
        "not_null": ["match_probability"],
        "value_sets": {"link_type": ["decision", "deterministic", "probabilistic"]},
        "ranges": {"match_probability": PROBABILITY},
    },
    "silver/identity_review_queue": {
        "columns": ["run_date", "source_l", "record_id_l", "source_r", "record_id_r", "match_probability", "reason"],
        "keys": ["run_date", "source_l", "record_id_l", "source_r", "record_id_r"],
        "ranges": {"match_probability": PROBABILITY},
    },
    "silver/features_customer_daily": {
        "columns": ["customer_key", "snapshot_date"],
        "keys": ["customer_key", "snapshot_date"],
        "value_sets": {"lifecycle_segment": ["prospect", "new", "existing", "loyal"]},
        "ranges": {"r_score": [1, 5], "f_score": [1, 5], "m_score": [1, 5], "recency_days": [0, None]},
        "freshness": {"column": "snapshot_date", "max_age_days": 1},
    },
}


def specs() -> dict[str, dict[str, Any]]:
    """Every silver-layer spec, ``{table: spec}`` (see :mod:`expectations.suite`)."""
    return dict(SPECS)


def suites() -> dict[str, Suite]:
    """Every silver-layer suite, ``{table: Suite}``."""
    return suites_from_specs(specs(), SEVERITY)
