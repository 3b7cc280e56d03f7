"""Sensors: start the nightly job when a day's drops are complete; record an alert when a run fails."""

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


@dg.run_failure_sensor(
    name="run_failure_alert",
    minimum_interval_seconds=30,
    description="Every failed run of this code location: a JSON line under <lake>/_reports/alerts/ and, when "
                "SCIM_ALERTS__WEBHOOK_URL is set, a POST to that webhook (Slack, e-mail gateway).",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failure_alert(context: dg.RunFailureSensorContext, config: ScimConfig):
    from pipelines.alerts import record_alert, root_error, run_failure_alert as failure_alert

    run = context.dagster_run
    failures = [(e.step_key or "?", root_error(e.event_specific_data.error)) for e in context.get_step_failure_events()]
    if not failures and context.failure_event.message:
        failures = [("run", context.failure_event.message)]
    uri = record_alert(config.settings, failure_alert(run.run_id, run.job_name, dict(run.tags), failures, "sensor"))
    context.log.info("run %s failed; alert recorded in %s", run.run_id, uri)
