"""KPI wiring on the gold brand-sentiment asset: the ratio chart and the negative-spike check.

Only wiring: the series, the spikes and their alert come from :mod:`pipelines.brand_kpi`
(which applies the marts' own ``own_brand_daily`` / ``own_brand_spikes``).
"""

from __future__ import annotations

from typing import Any, Iterator

import dagster as dg

BRAND_SENTIMENT = "gold/brand_sentiment_daily"
NEGATIVE_SPIKE = "negative_spike"


def check_specs(table: str, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The KPI checks of ``table`` (none for most tables)."""
    if table != BRAND_SENTIMENT:
        return []
    from transforms.marts import GoldParams

    p = GoldParams()
    return [dg.AssetCheckSpec(
        name=NEGATIVE_SPIKE, asset=key, blocking=False,
        description=f"[WARN] early warning: an own brand's negatives on the run date reach max({p.spike_min_negatives}, "
                    f"{p.spike_factor:g} x its trailing {p.spike_trailing_days}-day average) over all regions of a "
                    "platform (brand_negative_spike); also recorded as an alert",
        metadata={"kind": "kpi", "severity": "WARN"},
    )]


def metadata(ctx: Any, table: str) -> dict[str, Any]:
    """Extra materialisation metadata of ``table``: the negative:positive chart on the brand KPI."""
    if table != BRAND_SENTIMENT:
        return {}
    from pipelines.brand_kpi import ratio_chart_markdown

    chart = ratio_chart_markdown(ctx.lake, ctx.run_date)
    return {"negative_positive_ratio_chart": dg.MetadataValue.md(chart)} if chart else {}


def check_results(ctx: Any, table: str, key: dg.AssetKey) -> Iterator[dg.AssetCheckResult]:
    """The KPI check results of ``table`` on the run date (none for most tables)."""
    if table != BRAND_SENTIMENT:
        return
    from pipelines.brand_kpi import spike_alert

    spikes, alert_uri = spike_alert(ctx.settings, ctx.lake, ctx.run_date)
    meta: dict[str, Any] = {"run_date": ctx.run_date, "brands_spiking": len(spikes)}
    if spikes:
        meta["spikes"] = dg.MetadataValue.json(spikes)
        meta["alert"] = dg.MetadataValue.path(alert_uri)
    yield dg.AssetCheckResult(
        asset_key=key, check_name=NEGATIVE_SPIKE, passed=not spikes, severity=dg.AssetCheckSeverity.WARN,
        description=(f"negative spike: {', '.join(s['brand'] + '/' + s['platform'] for s in spikes)}" if spikes
                     else "no own-brand negative spike on the run date"),
        metadata=meta,
    )
