"""The brand KPI read back from gold for operators: the ratio chart and the day's spikes.

Dell's KPI (docs/domain) is the daily ratio of negative to positive brand mentions; the
gold table ``gold/brand_sentiment_daily`` holds it per brand, platform and region with the
negative-spike flags. The series and the spikes are the marts' own
(:func:`transforms.marts.own_brand_daily`, :func:`transforms.marts.own_brand_spikes`, the
same series ``scim run``'s headline prints); this module reads the table, collects the few
rows and draws them: a PNG chart for the Dagster UI, the spike list and its alert for the
asset check.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

import pandas as pd
from pyspark.sql import functions as F

TABLE = "gold/brand_sentiment_daily"
#: Dell drove negatives below 20% of positives: the reference line drawn on the chart.
TARGET_RATIO = 0.2


def _day(value: str | dt.date) -> Any:
    return F.lit(str(value)).cast("date")


def ratio_series(lake: Any, until: str, days: int = 90) -> pd.DataFrame:
    """The own brands' daily series of the ``days`` days up to ``until`` (``own_brand_daily``:
    date, negative, positive, negative_positive_ratio, negative_spike), oldest first."""
    from transforms.marts import own_brand_daily

    series = own_brand_daily(lake.read(TABLE))
    series = series.where((F.col("date") <= _day(until)) & (F.col("date") > F.date_sub(_day(until), days)))
    rows = series.orderBy("date").collect()
    return pd.DataFrame([r.asDict() for r in rows],
                        columns=["date", "negative", "positive", "negative_positive_ratio", "negative_spike"])


def negative_spikes(lake: Any, run_date: str) -> list[dict[str, Any]]:
    """The own brands whose national negative series spiked on ``run_date`` (``own_brand_spikes``):
    brand, platform, negative and positive posts that day, their ratio (None without positives)."""
    from transforms.marts import own_brand_spikes

    rows = (own_brand_spikes(lake.read(TABLE)).where(F.col("date") == _day(run_date))
            .orderBy("brand", "platform").collect())
    return [{"brand": r["brand"], "platform": r["platform"], "negative": int(r["negative"]),
             "positive": int(r["positive"]),
             "negative_positive_ratio": None if r["negative_positive_ratio"] is None
             else round(r["negative_positive_ratio"], 4)} for r in rows]


def spike_alert(settings: Any, lake: Any, run_date: str) -> tuple[list[dict[str, Any]], str | None]:
    """The spikes of ``run_date`` and, when there are any, the URI of the ``negative_spike``
    alert recorded for them (:func:`pipelines.alerts.record_alert`; None without spikes)."""
    from pipelines.alerts import negative_spike_alert, record_alert

    spikes = negative_spikes(lake, run_date)
    return spikes, (record_alert(settings, negative_spike_alert(run_date, spikes)) if spikes else None)


def ratio_chart_png(series: pd.DataFrame, title: str = "Own brands: negative:positive posts per day") -> bytes:
    """A PNG line chart of ``series`` (:func:`ratio_series`): the ratio, spike days in red, the 20% target dashed.
    A day without positives has no ratio: a gap in the line (and its spike marker at 0)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.8), dpi=80)
    try:
        dates = pd.to_datetime(series["date"])
        ratio = series["negative_positive_ratio"].astype(float)
        ax.plot(dates, ratio, color="#4a7ebb", linewidth=1.2, marker=".", label="negative / positive")
        spikes = series["negative_spike"].astype(bool)
        if spikes.any():
            ax.scatter(dates[spikes], ratio[spikes].fillna(0), color="#c0392b", zorder=3, label="negative spike")
        ax.axhline(TARGET_RATIO, color="#888", linestyle="--", linewidth=0.8, label=f"target {TARGET_RATIO:.0%}")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("ratio")
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)


def ratio_chart_markdown(lake: Any, run_date: str, days: int = 90) -> str | None:
    """Markdown with the chart of the ``days`` days up to ``run_date`` embedded as a PNG (what
    the Dagster UI shows on the gold asset) and the latest day's figures; None without data."""
    series = ratio_series(lake, run_date, days)
    if series.empty:
        return None
    png = base64.b64encode(ratio_chart_png(series)).decode("ascii")
    last = series.iloc[-1]
    ratio = last["negative_positive_ratio"]
    shown = "n/a (no positive post)" if ratio is None or pd.isna(ratio) else f"{ratio:.2f}"
    return (f"![negative:positive ratio](data:image/png;base64,{png})\n\n"
            f"Latest day {last['date'].isoformat()}: negative:positive {shown} ({int(last['negative'])} negative, "
            f"{int(last['positive'])} positive); spike days in the window: {int(series['negative_spike'].sum())} "
            f"of {len(series)}.")
