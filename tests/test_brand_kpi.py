"""The own-brand KPI series and spikes (transforms.marts.social)."""

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
