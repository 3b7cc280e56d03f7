"""The Dagster code location: ``dagster dev -m dagster_project.definitions`` (``make ui``)."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import build_step_asset
from dagster_project.jobs import nightly_job
from dagster_project.resources import build_resources
from dagster_project.schedules import nightly_schedule
from dagster_project.sensors import landing_complete_sensor, run_failure_alert
from dagster_project.steps import STEPS


def build_definitions(config_file: str | None = None, lake_root: str | None = None) -> dg.Definitions:
    """All assets, checks, the nightly job, schedule and sensors, bound to one configuration."""
    return dg.Definitions(
        assets=[build_step_asset(step) for step in STEPS],
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[landing_complete_sensor, run_failure_alert],
        resources=build_resources(config_file=config_file, lake_root=lake_root),
        executor=dg.in_process_executor,
    )


defs = build_definitions()
