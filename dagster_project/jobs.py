"""Jobs: the nightly job materialises every asset for one day's partition (or a range)."""

import dagster as dg

from dagster_project.partitions import daily

# One run at a time may write the lake: the run queue limits runs tagged with this key to 1
# (see dagster_project/dagster.yaml); delta-rs's optimistic commits guard the rest.
LAKE_WRITER_TAG = {"scim/lake-writer": "true"}

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    partitions_def=daily,
    description="Every layer for one daily drop: bronze -> silver -> identity -> features -> gold.",
    tags=LAKE_WRITER_TAG,
    executor_def=dg.in_process_executor,
)
