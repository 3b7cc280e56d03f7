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

from dagster_project import kpi
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

    specs = [spec for table, suite in _suites_for(step.tables).items() for spec in check_specs(suite, asset_key(table))]
    return specs + [spec for table in step.tables for spec in kpi.check_specs(table, asset_key(table))]


def _metadata(meta: dict[str, Any], days: list[str], partitioned: bool) -> dict[str, Any]:
    """Step metadata as Dagster metadata: scalars as they are, dicts as JSON, ``plot`` as
    Markdown, ``*_uri`` values as links (a path for local files)."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if key.endswith("_uri") and isinstance(value, str):
            out[key.removesuffix("_uri")] = (dg.MetadataValue.url(value) if "://" in value
                                             else dg.MetadataValue.path(value))
        elif isinstance(value, (bool, int, float, str)) or value is None:
            out[key] = value
        elif isinstance(value, dict) and key != "plot":
            out[key] = dg.MetadataValue.json(value)
    if "plot" in meta:
        out["plot"] = dg.MetadataValue.md(meta["plot"])
    out["partitions" if partitioned else "run_date"] = ",".join(days) if partitioned else days[-1]
    return out


def table_metadata(lake, table: str) -> dict[str, Any]:
    """Dagster's table metadata of a lake table as it is now: ``dagster/uri``, ``dagster/table_name``,
    ``dagster/storage_kind``, ``dagster/column_schema`` (with the Delta column comments),
    ``dagster/row_count`` (rows of the whole table; the step's ``rows`` says what this run
    wrote) and ``delta_version``. Only the URI (and ``exists: false``) for a table that does
    not exist. Reads the Delta log only."""
    uri = lake.uri(table)
    if not lake.exists(table):
        return {"dagster/uri": uri, "exists": False}
    d = lake.describe(table)
    schema = dg.TableSchema(columns=[dg.TableColumn(c["name"], str(c["type"]), description=c.get("comment"))
                                     for c in d["columns"]])
    out = {"dagster/uri": uri, "dagster/table_name": table.replace("/", "."), "dagster/storage_kind": "delta",
           "dagster/column_schema": schema, "delta_version": d["version"]}
    if d["num_rows"] is not None:
        out["dagster/row_count"] = d["num_rows"]
    return out


def _quality(ctx: StepContext, table: str, suite, selected: set[str] | None = None) -> Iterator[dg.AssetCheckResult]:
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
    for result in to_asset_check_results(report, asset_key=asset_key(table)):
        if selected is None or result.check_name in selected:
            yield result


def _checks_of(ctx: StepContext, table: str, selected: set[str] | None) -> Iterator[dg.AssetCheckResult]:
    """The asset checks of one table (its GX suite, then its KPI checks), limited to ``selected`` names."""
    suite = _suites_for([table]).get(table)
    if suite is not None and (selected is None or selected & {c.name for c in suite.checks}):
        yield from _quality(ctx, table, suite, selected)
    for result in kpi.check_results(ctx, table, asset_key(table)):
        if selected is None or result.check_name in selected:
            yield result


def _results(step: Step, ctx: StepContext, table: str, written: dict[str, Any] | None,
             checks: set[str]) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The materialisation of one table of a step (the table as it is now, the step's figures)
    and, when the step wrote it, the results of its selected ``checks``."""
    state = table_metadata(ctx.lake, table)
    version = state.get("delta_version")
    data_version = dg.DataVersion(f"v{version}") if version is not None else None
    run_meta = _metadata(written or {}, ctx.days, step.partitioned)
    if written is None:
        # Not written this run (e.g. no input yet): record the unchanged table, so that the
        # steps after it still run (Dagster skips a step whose inputs were not produced); its
        # checks get no result, which the UI shows as skipped.
        ctx.dagster.log.info("%s: nothing written this run; its checks are skipped", table)
        yield dg.MaterializeResult(asset_key=asset_key(table), metadata={**state, "written": False, **run_meta},
                                   data_version=data_version)
        return
    meta = {**state, "written": True, **run_meta, **kpi.metadata(ctx, table)}
    if step.partitioned and len(ctx.days) == 1 and isinstance(written.get("rows"), int):
        meta["dagster/partition_row_count"] = written["rows"]
    yield dg.MaterializeResult(asset_key=asset_key(table), metadata=meta, data_version=data_version)
    yield from _checks_of(ctx, table, checks)


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
    keys = {asset_key(t): t for t in step.tables}

    # can_subset=True makes check results optional: a check of a table this run did not
    # write gets no result and shows as skipped in the UI. The step still writes all its
    # tables in one pass, so a partial asset selection is refused below.
    @dg.multi_asset(
        name=step.name,
        specs=specs,
        check_specs=_check_specs(step),
        description=step.description,
        partitions_def=daily if step.partitioned else None,
        backfill_policy=dg.BackfillPolicy.single_run() if step.partitioned else None,
        retry_policy=RETRY,
        can_subset=True,
        pool="scim_lake",
    )
    def _asset(context: dg.AssetExecutionContext, config: ScimConfig, spark: SparkResource, lake: LakeResource):
        days = context.partition_keys if step.partitioned else run_days(context)
        ctx = StepContext(context, config, spark, lake, list(days))
        selected_assets = set(context.selected_asset_keys)
        checks_by_table: dict[str, set[str]] = {}
        for check_key in context.selected_asset_check_keys:
            checks_by_table.setdefault(keys[check_key.asset_key], set()).add(check_key.name)
        if not selected_assets:  # only checks selected (e.g. "Execute" on a check): re-validate the tables
            for table, names in checks_by_table.items():
                yield from _checks_of(ctx, table, names)
            return
        if selected_assets != set(keys):
            missing = sorted("/".join(k.path) for k in set(keys) - selected_assets)
            raise dg.Failure(
                allow_retries=False,  # a retry would be refused the same way
                description=f"step {step.name!r} writes its {len(keys)} tables in one pass and cannot write a subset; "
                            f"select all of them (not selected: {', '.join(missing[:5])}"
                            f"{', ...' if len(missing) > 5 else ''}), e.g. the whole group {step.group!r}")
        written = step.run(ctx)
        for table in step.tables:
            yield from _results(step, ctx, table, written.get(table), checks_by_table.get(table, set()))

    return _asset
