"""Gold marts: pure DataFrame -> DataFrame builders of the BI tables (star schema, no nested types).

One module per mart family: ``calendar`` (dim_date), ``customer`` (dim_customer,
crm_export_segments), ``facts`` (dim_campaign, fact_purchase, fact_social_activity),
``social`` (brand_sentiment_daily and its own-brand KPI series, share_of_voice_daily,
hot_topics_daily), ``attribution`` (touches, platform_attribution, journey_funnel,
campaign_report), ``quality`` (kol_report, identity_quality_daily, identity_cluster_sizes).
I/O and table metadata live in ``pipelines/publish.py``.
"""

from transforms.marts._common import MartInputError, date_key, surrogate_key
from transforms.marts.attribution import (
    build_campaign_report,
    build_journey_funnel,
    build_platform_attribution,
    build_touches,
    campaign_of_hashtags,
)
from transforms.marts.calendar import build_dim_date, calendar_rows, load_calendar
from transforms.marts.customer import AGE_BANDS, age_band, build_crm_export_segments, build_dim_customer
from transforms.marts.facts import build_dim_campaign, build_fact_purchase, build_fact_social_activity
from transforms.marts.params import GoldParams
from transforms.marts.quality import build_identity_cluster_sizes, build_identity_quality_daily, build_kol_report
from transforms.marts.social import (
    build_brand_sentiment_daily,
    build_hot_topics_daily,
    build_share_of_voice_daily,
    own_brand_daily,
    own_brand_spikes,
)

__all__ = [
    "AGE_BANDS", "GoldParams", "MartInputError", "age_band", "build_brand_sentiment_daily", "build_campaign_report",
    "build_crm_export_segments", "build_dim_campaign", "build_dim_customer", "build_dim_date",
    "build_fact_purchase", "build_fact_social_activity", "build_hot_topics_daily", "build_identity_cluster_sizes",
    "build_identity_quality_daily", "build_journey_funnel", "build_kol_report", "build_platform_attribution",
    "build_share_of_voice_daily", "build_touches", "calendar_rows", "campaign_of_hashtags", "date_key",
    "load_calendar", "own_brand_daily", "own_brand_spikes", "surrogate_key",
]
