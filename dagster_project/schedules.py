"""The nightly schedule: 02:00 Asia/Shanghai, materialising yesterday's partition."""

import dagster as dg

from dagster_project.jobs import nightly_job

# build_schedule_from_partitioned_job targets the last complete partition (yesterday in
# Shanghai time) and runs on the partition's own time zone.
nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_job,
    name="nightly_0200_shanghai",
    hour_of_day=2,
    minute_of_hour=0,
    description="Every night at 02:00 Asia/Shanghai: yesterday's drop through every layer.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
