"""Parameters of the gold marts (one typed object; defaults are the documented BI rules)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GoldParams:
    """Rules the marts apply; change them here or pass another instance to ``publish_gold``.

    - ``attribution_window_days``: an order is attributed to a social touch of the same
      person at most this many days before it (last touch per platform wins);
    - ``spike_trailing_days`` / ``spike_factor`` / ``spike_min_negatives``: a brand-day is a
      negative spike when its negative mentions reach ``spike_factor`` x the mean daily
      negatives of the trailing window (days before, missing days count as 0) and at
      least ``spike_min_negatives``;
    - ``hot_topics_per_region``: topics kept per region and day;
    - ``winback_days``: an existing customer whose last order is older is a win-back target;
    - ``vacuum_retention_hours``: time travel kept on gold tables;
    - ``zorder``: the usual BI filters per table, used by OPTIMIZE Z-ORDER.
    """

    attribution_window_days: int = 7
    spike_trailing_days: int = 28
    spike_factor: float = 2.0
    spike_min_negatives: int = 3
    hot_topics_per_region: int = 10
    winback_days: int = 180
    vacuum_retention_hours: int = 168
    timezone: str = "Asia/Shanghai"
    zorder: dict[str, list[str]] = field(default_factory=lambda: {
        "gold/fact_purchase": ["customer_key", "campaign_id"],
        "gold/fact_social_activity": ["customer_key", "platform"],
        "gold/brand_sentiment_daily": ["date", "brand"],
        "gold/dim_customer": ["lifecycle_segment", "city"],
    })
