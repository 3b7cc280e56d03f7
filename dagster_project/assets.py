"""Software-defined assets: every Delta table of the lake, grouped by the pipeline step that writes it.

Each step is one multi-asset (a step writes several tables in one Spark pass) that calls a
``pipelines`` function and returns metadata; the tables' Great Expectations suites run right
after the step as blocking asset checks, so a failed ERROR check stops downstream steps.
Only wiring lives here: the steps themselves are in ``pipelines/``.
"""


import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import dagster as dg

from dagster_project.partitions import BUSINESS_TZ, daily
from dagster_project.resources import LakeResource, ScimConfig, SparkResource

OWNERS = ["team:data-engineering"]
RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)


@dataclass(frozen=True)
class Step:
    """A pipeline step: the tables it writes and the function that writes them.

    ``run(ctx)`` returns ``{table: metadata}`` for the tables it wrote (a table missing from
    the result was skipped, e.g. no input yet, and gets no materialisation).
    """

    name: str
    group: str
    description: str
    tables: dict[str, str]  # lake-relative table -> one-line description
    run: Callable[["StepContext"], dict[str, dict[str, Any]]]
    deps: tuple[str, ...] = ()
    partitioned: bool = False
    summary: Callable[[dict[str, dict[str, Any]]], dict[str, Any]] | None = None


@dataclass
class StepContext:
    """What a step function gets: settings, Spark, the lake, the days of this run."""

    dagster: dg.AssetExecutionContext
    config: ScimConfig
    spark_resource: SparkResource
    lake_resource: LakeResource
    days: list[str] = field(default_factory=list)

    @property
    def settings(self):
        return self.config.settings

    @property
    def spark(self):
        return self.spark_resource.session

    @property
    def lake(self):
        return self.lake_resource.lake

    @property
    def run_date(self) -> str:
        return self.days[-1]


def asset_key(table: str) -> dg.AssetKey:
    """``silver/orders`` -> ``silver/orders``; ``_reports/reconciliation`` -> ``reports/reconciliation``."""
    return dg.AssetKey([part.lstrip("_") for part in table.split("/")])


def run_days(context: dg.AssetExecutionContext) -> list[str]:
    """The daily partitions of this run: its partition (range), else yesterday in Shanghai."""
    tags = context.run.tags
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    if start and end:
        return daily.get_partition_keys_in_range(dg.PartitionKeyRange(start, end))
    if tags.get("dagster/partition"):
        return [tags["dagster/partition"]]
    yesterday = dt.datetime.now(ZoneInfo(BUSINESS_TZ)).date() - dt.timedelta(days=1)
    return [yesterday.isoformat()]


def _suites_for(tables) -> dict[str, Any]:
    from expectations import all_suites

    suites = all_suites()
    return {t: suites[t] for t in tables if t in suites}


def _check_specs(step: Step) -> list[dg.AssetCheckSpec]:
    from expectations.dagster_adapter import check_specs

    return [spec for table, suite in _suites_for(step.tables).items() for spec in check_specs(suite, asset_key(table))]


def _metadata(meta: dict[str, Any], days: list[str], partitioned: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if isinstance(value, (bool, int, float, str)) or value is None:
            out[key] = value
        elif isinstance(value, dict) and key != "plot":
            out[key] = dg.MetadataValue.json(value)
    if "plot" in meta:
        out["plot"] = dg.MetadataValue.md(meta["plot"])
    out["partitions" if partitioned else "run_date"] = ",".join(days) if partitioned else days[-1]
    return out


def _quality(ctx: StepContext, table: str, suite) -> Iterator[dg.AssetCheckResult]:
    from expectations import docs_dir_for, validate
    from expectations.dagster_adapter import to_asset_check_results

    df = ctx.lake.read(table)
    # Validate what this run wrote: its drops for partitioned tables, its snapshot for
    # tables that keep one per run date.
    if "run_date" in df.columns:
        df = df.where(df["run_date"] == ctx.run_date)
    elif "batch_date" in df.columns and table.startswith("bronze/"):
        df = df.where(df["batch_date"].cast("string").isin(ctx.days))
    report = validate(df, suite, run_date=ctx.run_date, docs_dir=docs_dir_for(ctx.settings))
    yield from to_asset_check_results(report, asset_key=asset_key(table))


def build_step_asset(step: Step) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            key=asset_key(table),
            description=description,
            deps=[asset_key(d) for d in step.deps],
            group_name=step.group,
            owners=OWNERS,
            kinds={"spark", "delta"},
            tags={"layer": table.split("/")[0].lstrip("_")},
        )
        for table, description in step.tables.items()
    ]

    @dg.multi_asset(
        name=step.name,
        specs=specs,
        check_specs=_check_specs(step),
        description=step.description,
        partitions_def=daily if step.partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if step.partitioned else None,
        retry_policy=RETRY,
        can_subset=False,
        pool="scim_lake",
    )
    def _asset(context: dg.AssetExecutionContext, config: ScimConfig, spark: SparkResource, lake: LakeResource):
        days = context.partition_keys if step.partitioned else run_days(context)
        ctx = StepContext(context, config, spark, lake, list(days))
        written = step.run(ctx)
        suites = _suites_for(written)
        for table in step.tables:
            if table not in written:
                context.log.info("%s: nothing written this run", table)
                continue
            yield dg.MaterializeResult(
                asset_key=asset_key(table), metadata=_metadata(written[table], ctx.days, step.partitioned)
            )
            if table in suites:
                yield from _quality(ctx, table, suites[table])
        # Check specs of tables not written this run still need a result: report them as skipped.
        for table, suite in _suites_for(step.tables).items():
            if table not in written:
                for check in suite.checks:
                    yield dg.AssetCheckResult(
                        asset_key=asset_key(table), check_name=check.name, passed=True,
                        severity=dg.AssetCheckSeverity.WARN, metadata={"skipped": "table not written this run"},
                    )

    return _asset
