"""Daily partitions: one per landing drop, dated in the business time zone (Asia/Shanghai)."""

import dagster as dg

BUSINESS_TZ = "Asia/Shanghai"
FIRST_DROP = "2024-01-01"

daily = dg.DailyPartitionsDefinition(start_date=FIRST_DROP, timezone=BUSINESS_TZ)
