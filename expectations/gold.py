"""Gold suites: the BI tables. Everything BI reads is ERROR; freshness is WARN.

Gold is what dashboards and the CRM export read, so a broken key, an unknown code or a
negative amount stops publication (the tables keep their previous version). Columns follow
``transforms/marts/tables.yaml``; rates are shares in [0, 1].
"""

from __future__ import annotations

from typing import Any

from expectations.suite import Kind, Severity, Suite, suites_from_specs

SEVERITY = {Kind.ROW_COUNT: Severity.ERROR, Kind.FRESHNESS: Severity.WARN}

#: Age bands of dim_customer (labels of ``transforms.marts.AGE_BANDS``); 65+ has its own band.
AGE_BANDS = ["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"]

RATE = [0, 1]

SPECS: dict[str, dict[str, Any]] = {
    "gold/dim_date": {
        "columns": ["date_key", "date", "year", "month", "day", "day_of_week", "is_weekend"],
        "keys": ["date"],
        "unique": ["date_key"],
        "ranges": {"month": [1, 12], "day": [1, 31]},
    },
    "gold/dim_customer": {
        "columns": ["customer_sk", "customer_key", "gender", "age_band", "lifecycle_segment", "marketing_consent",
                    "as_of_date"],
        "keys": ["customer_key"],
        "unique": ["customer_sk"],
        "value_sets": {
            "gender": ["m", "f"],
            "age_band": AGE_BANDS,
            "lifecycle_segment": ["prospect", "new", "existing", "loyal"],
        },
        "ranges": {"r_score": [1, 5], "f_score": [1, 5], "m_score": [1, 5], "recency_days": [0, None]},
        "row_count": {"min": 1},
        "freshness": {"column": "as_of_date", "max_age_days": 1},
    },
    "gold/fact_purchase": {
        "columns": ["order_id", "line_no", "customer_sk", "customer_key", "date_key", "order_date", "order_month",
                    "channel", "quantity", "amount"],
        "keys": ["order_id", "line_no"],
        "not_null": ["order_date", "date_key", "amount"],
        "value_sets": {"channel": ["store", "online", "wechat_mall", "phone"]},
        "ranges": {"amount": [0, None], "quantity": [0, None]},
        "freshness": {"column": "order_date", "max_age_days": 3},
    },
    "gold/brand_sentiment_daily": {
        "columns": ["date_key", "date", "brand", "brand_role", "platform", "region", "mentions", "positive",
                    "neutral", "negative", "negative_positive_ratio"],
        "not_null": ["date", "brand"],
        "value_sets": {"brand_role": ["own", "competitor", "unknown"]},
        "ranges": {"negative_positive_ratio": [0, None], "mentions": [0, None], "positive": [0, None],
                   "negative": [0, None]},
        "freshness": {"column": "date", "max_age_days": 2},
    },
    "gold/share_of_voice_daily": {
        "columns": ["date", "brand", "mentions", "total_mentions", "share_of_voice"],
        "not_null": ["date", "brand"],
        "ranges": {"share_of_voice": RATE, "mentions": [0, None]},
        "pairs": [{"a": "total_mentions", "b": "mentions", "or_equal": True}],
    },
    "gold/identity_quality_daily": {
        "columns": ["source", "other_source", "records", "linked_records", "link_rate"],
        "ranges": {"link_rate": RATE, "records": [0, None]},
        "pairs": [{"a": "records", "b": "linked_records", "or_equal": True}],
    },
    "gold/journey_funnel": {
        "columns": ["as_of_date", "followers", "purchased_after_follow", "follow_to_purchase_rate"],
        "ranges": {"follow_to_purchase_rate": RATE, "purchase_to_share_rate": RATE},
    },
    "gold/platform_attribution": {
        "columns": ["touches", "attributed_orders", "attributed_revenue", "revenue_total", "attributed_revenue_share"],
        "ranges": {"attributed_revenue_share": RATE, "attributed_revenue": [0, None]},
    },
    "gold/crm_export_segments": {
        "columns": ["crm_customer_id", "segment", "reason", "marketing_consent", "as_of_date"],
        "not_null": ["crm_customer_id", "segment", "marketing_consent"],
        # the CRM acts on this list: only customers who consented may be on it
        "value_sets": {"marketing_consent": [True]},
    },
}


def specs() -> dict[str, dict[str, Any]]:
    """Every gold-layer spec, ``{table: spec}`` (see :mod:`expectations.suite`)."""
    return dict(SPECS)


def suites() -> dict[str, Suite]:
    """Every gold-layer suite, ``{table: Suite}``."""
    return suites_from_specs(specs(), SEVERITY)
