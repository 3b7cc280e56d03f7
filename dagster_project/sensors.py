"""Landing sensor: starts the nightly job for a day as soon as every source's drop is complete."""

from __future__ import annotations

import dagster as dg

from dagster_project.jobs import nightly_job
from dagster_project.partitions import daily
from dagster_project.resources import ScimConfig
from pipelines.landing import complete_dates


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=300,
    description="Fires once per day whose CRM, Weibo and WeChat drops all carry their _SUCCESS marker.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_complete_sensor(context: dg.SensorEvaluationContext, config: ScimConfig):
    seen = set((context.cursor or "").split(",")) - {""}
    first = daily.start.strftime("%Y-%m-%d")
    ready = [d for d in complete_dates(config.settings) if d not in seen and d >= first]
    if not ready:
        return dg.SkipReason("no new complete drop in the landing area")
    context.update_cursor(",".join(sorted(seen | set(ready))[-400:]))
    return [dg.RunRequest(run_key=f"drop-{d}", partition_key=d) for d in ready]
