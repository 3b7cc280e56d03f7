"""The own-brand KPI series and spikes (transforms.marts.social) and their read-back for operators (pipelines.brand_kpi)."""

import datetime as dt

from pyspark.testing import assertDataFrameEqual

D = dt.date
SCHEMA = ("date date, brand string, brand_role string, platform string, region string, negative long, positive long, "
          "brand_negative_spike boolean")
ROWS = [
    (D(2026, 11, 1), "花漾", "own", "weibo", "浙江", 1, 4, False),
    (D(2026, 11, 1), "花漾", "own", "weibo", "上海", 1, 1, False),
    (D(2026, 11, 1), "露薇", "competitor", "weibo", "上海", 7, 1, True),   # competitors are not the KPI
    (D(2026, 11, 2), "花漾", "own", "weibo", "浙江", 5, 0, True),          # national spike, no positive at all
    (D(2026, 11, 2), "花漾", "own", "weibo", "上海", 2, 0, True),
    (D(2026, 11, 2), "悦肤", "own", "weibo", "上海", 0, 0, None),
]


def test_own_brand_daily_sums_own_brands_and_flags_any_national_spike(spark):
    from transforms.marts import own_brand_daily

    out = own_brand_daily(spark.createDataFrame(ROWS, SCHEMA))
    assertDataFrameEqual(out, [(D(2026, 11, 1), 2, 5, 0.4, False), (D(2026, 11, 2), 7, 0, None, True)])


def test_own_brand_spikes_are_national_per_brand_and_platform(spark):
    from transforms.marts import own_brand_spikes

    out = own_brand_spikes(spark.createDataFrame(ROWS, SCHEMA))
    assertDataFrameEqual(out.select("date", "brand", "platform", "negative", "positive", "negative_positive_ratio"),
                         [(D(2026, 11, 2), "花漾", "weibo", 7, 0, None)])


def test_kpi_inputs_are_named_when_missing(spark):
    import pytest

    from transforms.marts import MartInputError, own_brand_daily

    with pytest.raises(MartInputError, match=r"own_brand_daily: input brand_sentiment_daily lacks.*brand_negative_spike"):
        own_brand_daily(spark.createDataFrame([(D(2026, 11, 1), "own", 1, 1)],
                                              "date date, brand_role string, negative long, positive long"))


def test_chart_and_spikes_read_back_from_gold(spark, settings):
    import base64

    from lake_io import Lake
    from pipelines.brand_kpi import negative_spikes, ratio_chart_markdown, ratio_series, spike_alert

    lake = Lake(settings, spark)
    lake.write(spark.createDataFrame(ROWS, SCHEMA), "gold/brand_sentiment_daily", mode="overwrite")
    series = ratio_series(lake, "2026-11-01", days=90)  # up to the run date only
    assert series.to_dict("records") == [{"date": D(2026, 11, 1), "negative": 2, "positive": 5,
                                          "negative_positive_ratio": 0.4, "negative_spike": False}]
    assert len(ratio_series(lake, "2026-11-02", days=1)) == 1  # the window
    md = ratio_chart_markdown(lake, "2026-11-02")
    png = base64.b64decode(md.split("base64,")[1].split(")")[0])
    assert png.startswith(b"\x89PNG")
    assert "Latest day 2026-11-02: negative:positive n/a (no positive post) (7 negative, 0 positive)" in md
    assert "spike days in the window: 1 of 2" in md
    assert ratio_chart_markdown(lake, "2026-10-01") is None  # nothing up to that day
    assert negative_spikes(lake, "2026-11-01") == []
    spikes, uri = spike_alert(settings, lake, "2026-11-02")
    assert spikes == [{"brand": "花漾", "platform": "weibo", "negative": 7, "positive": 0,
                       "negative_positive_ratio": None}]
    assert "Negative spike on 2026-11-02: 花漾 on weibo (7 negative)" in open(uri, encoding="utf-8").read()
    assert spike_alert(settings, lake, "2026-11-01") == ([], None)
