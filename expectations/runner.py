"""Run a suite with Great Expectations (GX Core 1.x) on a Spark DataFrame.

``validate(df, suite)`` turns every :class:`~expectations.suite.Check` into a GX
expectation, validates the DataFrame as one batch of a Spark dataframe asset in an
ephemeral GX context, and returns a :class:`ValidationReport` of plain Python data (no GX
or Dagster objects), one :class:`CheckOutcome` per check, in suite order.

With ``docs_dir`` (normally ``settings.lake_path("_reports", "gx")``, see
:func:`docs_dir_for`) the validation result is also stored as JSON under
``<docs_dir>/results/`` and the GX Data Docs site under ``<docs_dir>/site/`` is updated:
the page of this validation and the index (the newest ``INDEX_LIMIT`` stored results,
written by any process). One GX context is kept per process and docs directory, so the
data source, assets and suites are registered once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from expectations.suite import DEFAULT_TIMEZONE, DERIVED_PREFIX, Check, Kind, Severity, Suite, check_name
from transforms.dates import as_date

log = logging.getLogger(__name__)

DATASOURCE_NAME = "scim_spark"
INDEX_LIMIT = 500  # newest validation results listed on the Data Docs index page
SITE_NAME = "scim"
# Counts and observed values only: collecting sample values costs one Spark job per
# row-level expectation (measured: +40% to +100% run time), so samples are opt-in.
_RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}
_RESULT_FORMAT_SAMPLES: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
_lock = threading.RLock()
_contexts: dict[str | None, "_GxContext"] = {}


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check. ``observed_value`` is GX's observed value made JSON-safe
    (e.g. the link rate, the newest record's age in days, the row count); for row-level
    checks ``unexpected_count``/``unexpected_percent`` say how many rows failed.
    ``error`` holds GX's exception message when the check could not run (e.g. a missing
    column); such a check counts as failed."""

    check_name: str
    kind: str
    severity: str
    success: bool
    description: str
    expectation_type: str
    column: str | None = None
    observed_value: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    unexpected_sample: list[Any] = field(default_factory=list)
    error: str | None = None

    @property
    def blocking(self) -> bool:
        """True when this outcome must stop downstream work (a failed ERROR check)."""
        return not self.success and self.severity == Severity.ERROR.value

    def summary(self) -> str:
        """One short human line: what was checked and what was seen."""
        if self.error:
            seen = f"could not run: {self.error}"
        elif self.unexpected_count is not None:
            seen = f"{self.unexpected_count} of {self.element_count} rows unexpected ({self.unexpected_percent or 0:.2f}%)"
        else:
            seen = f"observed {self.observed_value!r}"
        return f"{'ok' if self.success else 'FAILED'} [{self.severity}] {self.description}: {seen}"

    def metadata(self, include_sample: bool = False) -> dict[str, Any]:
        """Plain metadata for a Dagster check result (counts and observed value; the sample
        of unexpected values only when asked, since it may hold identifiers)."""
        meta: dict[str, Any] = {
            "kind": self.kind,
            "expectation_type": self.expectation_type,
            "severity": self.severity,
        }
        if self.column:
            meta["column"] = self.column
        if self.observed_value is not None:
            meta["observed_value"] = self.observed_value
        for key in ("element_count", "unexpected_count", "unexpected_percent"):
            value = getattr(self, key)
            if value is not None:
                meta[key] = value
        if self.error:
            meta["error"] = self.error
        if include_sample and self.unexpected_sample:
            meta["unexpected_sample"] = self.unexpected_sample
        return meta


@dataclass(frozen=True)
class ValidationReport:
    """All outcomes of one suite run on one batch, plus where its Data Docs page is."""

    suite: str
    table: str
    batch_name: str
    run_date: dt.date
    outcomes: tuple[CheckOutcome, ...]
    row_count: int | None
    duration_s: float
    data_docs_index: str | None = None

    @property
    def success(self) -> bool:
        """Every check passed (ERROR and WARN)."""
        return all(o.success for o in self.outcomes)

    @property
    def usable(self) -> bool:
        """No ERROR check failed: downstream work may use the table."""
        return not self.errors

    @property
    def errors(self) -> list[CheckOutcome]:
        """Failed ERROR checks (these block downstream work)."""
        return [o for o in self.outcomes if o.blocking]

    @property
    def warnings(self) -> list[CheckOutcome]:
        """Failed WARN checks."""
        return [o for o in self.outcomes if not o.success and o.severity == Severity.WARN.value]

    def outcome(self, check_name: str) -> CheckOutcome:
        """The outcome of the named check (KeyError naming the known checks otherwise)."""
        for o in self.outcomes:
            if o.check_name == check_name:
                return o
        raise KeyError(f"report of {self.suite} has no check {check_name!r}; known: {[o.check_name for o in self.outcomes]}")

    def summary(self) -> str:
        """One line for logs: counts only, no values."""
        return (
            f"{self.suite} batch={self.batch_name} run_date={self.run_date} rows={self.row_count} "
            f"checks={len(self.outcomes)} failed_error={len(self.errors)} failed_warn={len(self.warnings)} "
            f"duration={self.duration_s:.1f}s"
        )

    def to_check_results(self, sample_kinds: tuple[str, ...] = (Kind.VALUE_SET.value, Kind.RANGE.value)) -> list[dict[str, Any]]:
        """One plain dict per check, ready for ``dagster.AssetCheckResult(**d)`` apart from
        the severity, which is the string ``"ERROR"`` or ``"WARN"``:
        ``check_name``, ``passed``, ``severity``, ``description``, ``metadata``.
        Samples of unexpected values are included only for ``sample_kinds`` (value sets and
        ranges hold codes and amounts, not identifiers)."""
        results = []
        for o in self.outcomes:
            meta = o.metadata(include_sample=o.kind in sample_kinds)
            meta.update({"suite": self.suite, "table": self.table, "batch_name": self.batch_name, "run_date": self.run_date.isoformat()})
            if self.data_docs_index:
                meta["data_docs"] = self.data_docs_index
            results.append(
                {
                    "check_name": o.check_name,
                    "passed": o.success,
                    "severity": o.severity,
                    "description": o.summary(),
                    "metadata": meta,
                }
            )
        return results

    def raise_for_errors(self) -> None:
        """Raise :class:`DataQualityError` listing the failed ERROR checks, if any."""
        if self.errors:
            lines = "\n".join(f"  - {o.check_name}: {o.summary()}" for o in self.errors)
            raise DataQualityError(f"{self.table} (batch {self.batch_name}) failed {len(self.errors)} blocking check(s):\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the whole report."""
        d = asdict(self)
        d["run_date"] = self.run_date.isoformat()
        d["success"] = self.success
        return d


class DataQualityError(RuntimeError):
    """A table failed one or more ERROR checks."""


# -- GX plumbing ---------------------------------------------------------------------------


def docs_dir_for(settings: Any) -> str:
    """The Data Docs directory of a lake: ``<lake>/_reports/gx``."""
    return settings.lake_path("_reports", "gx")


class _GxContext:
    """One ephemeral GX context with a Spark data source, and the suites already added."""

    def __init__(self, docs_dir: str | None) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import DataContextConfig

        self.docs_dir = docs_dir
        in_memory = {"class_name": "InMemoryStoreBackend"}
        results_backend: dict[str, Any] = dict(in_memory)
        sites: dict[str, Any] = {}
        if docs_dir is not None:
            results_backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(Path(docs_dir) / "results")}
            sites = {
                SITE_NAME: {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(Path(docs_dir) / "site")},
                    # The index reads every listed result file on each build: keep it bounded.
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "validation_results_limit": INDEX_LIMIT},
                }
            }
        config = DataContextConfig(
            config_version=4.0,
            expectations_store_name="expectations_store",
            validation_results_store_name="validation_results_store",
            checkpoint_store_name="checkpoint_store",
            stores={
                "expectations_store": {"class_name": "ExpectationsStore", "store_backend": dict(in_memory)},
                "validation_results_store": {"class_name": "ValidationResultsStore", "store_backend": results_backend},
                "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": dict(in_memory)},
                "validation_definition_store": {"class_name": "ValidationDefinitionStore", "store_backend": dict(in_memory)},
            },
            data_docs_sites=sites,
            analytics_enabled=False,
            progress_bars={"globally": False, "metric_calculations": False},
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        # persist=False: GX would persist every batch and never release it; the runner
        # persists the prepared frame itself and unpersists it after the run.
        self.datasource = self.context.data_sources.add_spark(name=DATASOURCE_NAME, persist=False)
        self._suite_fingerprints: dict[str, str] = {}
        self._batch_definitions: dict[str, Any] = {}
        self._validation_definitions: dict[str, Any] = {}

    def batch_definition(self, asset_name: str) -> Any:
        bd = self._batch_definitions.get(asset_name)
        if bd is None:
            asset = self.datasource.add_dataframe_asset(name=asset_name)
            bd = asset.add_batch_definition_whole_dataframe("whole_dataframe")
            self._batch_definitions[asset_name] = bd
        return bd

    def validation_definition(self, suite: Suite, asset_name: str) -> Any:
        import great_expectations as gx

        fingerprint = repr(suite)
        key = f"{suite.name}__{asset_name}"
        vd = self._validation_definitions.get(key)
        if vd is not None and self._suite_fingerprints.get(suite.name) == fingerprint:
            return vd
        gx_suite = self.context.suites.add_or_update(_to_gx_suite(suite))
        self._suite_fingerprints[suite.name] = fingerprint
        vd = self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=key, data=self.batch_definition(asset_name), suite=gx_suite)
        )
        self._validation_definitions = {k: v for k, v in self._validation_definitions.items() if not k.startswith(f"{suite.name}__")}
        self._validation_definitions[key] = vd
        return vd


def _context(docs_dir: str | None) -> _GxContext:
    ctx = _contexts.get(docs_dir)
    if ctx is None:
        ctx = _contexts[docs_dir] = _GxContext(docs_dir)
    return ctx


def _to_gx_expectation(check: Check, table: str) -> Any:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.metadata_types import FailureSeverity

    p = check.params
    common: dict[str, Any] = {
        "meta": {"check_name": check.name, "severity": check.severity.value, "kind": check.kind.value, "table": table},
        "description": f"[{check.severity.value}] {check.description}",
        "severity": FailureSeverity.CRITICAL if check.severity == Severity.ERROR else FailureSeverity.WARNING,
    }
    between = {k: v for k, v in (("min_value", p.get("min")), ("max_value", p.get("max"))) if v is not None}
    between.update({k: p[k] for k in ("strict_min", "strict_max", "mostly") if k in p})
    kind = check.kind
    if kind == Kind.SCHEMA:
        return gxe.ExpectTableColumnsToMatchSet(column_set=list(p["columns"]), exact_match=False, **common)
    if kind == Kind.ROW_COUNT:
        between.pop("mostly", None)
        return gxe.ExpectTableRowCountToBeBetween(**between, **common)
    if kind == Kind.NOT_NULL:
        return gxe.ExpectColumnValuesToNotBeNull(column=check.column, mostly=p.get("mostly", 1.0), **common)
    if kind == Kind.UNIQUE:
        cols = list(p["columns"])
        if len(cols) == 1:
            return gxe.ExpectColumnValuesToBeUnique(column=cols[0], **common)
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=cols, **common)
    if kind == Kind.VALUE_SET:
        return gxe.ExpectColumnValuesToBeInSet(column=check.column, value_set=list(p["values"]), mostly=p.get("mostly", 1.0), **common)
    if kind == Kind.RANGE:
        return gxe.ExpectColumnValuesToBeBetween(column=check.column, **between, **common)
    if kind == Kind.PAIR:
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=p["a"], column_B=p["b"], or_equal=p["or_equal"], ignore_row_if="either_value_is_missing", **common
        )
    if kind == Kind.RECONCILIATION:
        return gxe.ExpectColumnValuesToBeBetween(column=check.derived_column, min_value=0, max_value=0, **common)
    if kind == Kind.RATIO:
        return gxe.ExpectColumnValuesToBeBetween(column=check.derived_column, **between, **common)
    if kind == Kind.LINK_RATE:
        return gxe.ExpectColumnMeanToBeBetween(column=check.derived_column, **between, **common)
    if kind == Kind.FRESHNESS:
        return gxe.ExpectColumnMinToBeBetween(column=check.derived_column, max_value=p["max_age_days"], **common)
    raise AssertionError(f"no GX expectation for check kind {kind}")


def _to_gx_suite(suite: Suite) -> Any:
    import great_expectations as gx

    # Expectations go in through the constructor: add_expectation() would look for a
    # context to save to, and this suite is not saved until the runner adds it.
    return gx.ExpectationSuite(
        name=suite.name,
        expectations=[_to_gx_expectation(check, suite.table) for check in suite.checks],
        meta={"table": suite.table},
    )


# -- the public entry point ----------------------------------------------------------------


def validate(
    df: DataFrame,
    suite: "str | Suite",
    run_date: dt.date | str | None = None,
    batch_name: str | None = None,
    *,
    docs_dir: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    samples: bool = False,
) -> ValidationReport:
    """Validate ``df`` against ``suite`` (a :class:`Suite` or a table/suite name such as
    ``"silver/orders"``) and return the report. Never raises because data is bad: failed
    checks are in the report (call :meth:`ValidationReport.raise_for_errors` to stop).

    ``run_date`` (default: today in ``timezone``) is the day freshness is measured from;
    pass the partition date when validating a past partition. ``batch_name`` labels the
    batch in the report and in Data Docs (default: the table name). ``docs_dir`` (a local
    directory, usually :func:`docs_dir_for`) stores the result and updates Data Docs there;
    a non-local URI is skipped with a warning. ``samples=True`` also collects up to five
    unexpected values per row-level check (slower: one more Spark job per check).
    """
    from expectations import get_suite  # late: the registry imports the layer modules

    if isinstance(suite, str):
        suite = get_suite(suite)
    run_day = _run_date(run_date, timezone)
    batch = batch_name or suite.table
    docs = _local_dir(docs_dir)
    started = time.perf_counter()
    prepared = suite.prepare(df, run_day, timezone).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with _lock:
            gxc = _context(docs)
            vd = gxc.validation_definition(suite, asset_name=suite.name)
            from great_expectations.core.run_identifier import RunIdentifier

            # Store keys become file names: no "/" or spaces.
            run_name = f"{run_day.isoformat()}__{check_name(batch)}"
            run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.timezone.utc))
            result = vd.run(
                batch_parameters={"dataframe": prepared},
                result_format=_RESULT_FORMAT_SAMPLES if samples else _RESULT_FORMAT,
                run_id=run_id,
            )
            index = None
            if docs is not None:
                try:
                    index = _build_docs(gxc, suite, result, run_id)
                except Exception as exc:  # the checks ran; a docs failure must not hide them
                    log.warning("quality %s: Data Docs not written under %s: %s", suite.name, docs, exc)
    finally:
        prepared.unpersist()
    outcomes = _outcomes(suite, result, df.columns)
    report = ValidationReport(
        suite=suite.name,
        table=suite.table,
        batch_name=batch,
        run_date=run_day,
        outcomes=outcomes,
        row_count=_row_count(result),
        duration_s=round(time.perf_counter() - started, 3),
        data_docs_index=index,
    )
    log.info("quality %s", report.summary())
    return report


def _run_date(value: dt.date | str | None, timezone: str) -> dt.date:
    if value is None:
        return dt.datetime.now(ZoneInfo(timezone)).date()
    return as_date(value, "run_date")


def _local_dir(docs_dir: str | None) -> str | None:
    if docs_dir is None:
        return None
    parsed = urlparse(str(docs_dir))
    if parsed.scheme not in ("", "file") and not (len(parsed.scheme) == 1 and str(docs_dir)[1:3] == ":\\"):
        log.warning("quality: Data Docs need a local directory; %s is not local, skipping Data Docs", docs_dir)
        return None
    path = str(docs_dir)[len("file://"):] if str(docs_dir).startswith("file://") else str(docs_dir)
    return str(Path(path).resolve())


def _build_docs(gxc: _GxContext, suite: Suite, result: Any, run_id: Any) -> str | None:
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite_id = ExpectationSuiteIdentifier(name=suite.name)
    result_id = ValidationResultIdentifier(
        expectation_suite_identifier=suite_id,
        run_id=run_id,
        batch_identifier=_batch_id(result),
    )
    urls = gxc.context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[suite_id, result_id])
    url = urls.get(SITE_NAME)
    return url


def prune_docs(docs_dir: str, keep_days: int, today: dt.date | None = None) -> int:
    """Delete stored results and their Data Docs pages whose run date is more than
    ``keep_days`` before ``today``; return how many run folders were removed. Run names
    start with the run date (``2026-11-23__silver_orders``), which is what is compared."""
    import shutil

    today = today or dt.date.today()
    root = Path(_local_dir(docs_dir) or docs_dir)
    removed = 0
    for base in (root / "results", root / "site" / "validations"):
        if not base.is_dir():
            continue
        for run_dir in base.glob("*/*"):
            try:
                run_day = dt.date.fromisoformat(run_dir.name.split("__", 1)[0])
            except ValueError:
                continue  # not written by this runner: leave it
            if (today - run_day).days > keep_days:
                shutil.rmtree(run_dir)
                removed += 1
    log.info("quality: pruned %d Data Docs run folders older than %d days under %s", removed, keep_days, root)
    return removed


def _batch_id(result: Any) -> str:
    batch_id = getattr(result, "batch_id", None)
    if batch_id:
        return str(batch_id)
    for r in result.results:
        bid = getattr(r.expectation_config, "batch_id", None)
        if bid:
            return str(bid)
    return str(result.meta.get("active_batch_definition", {}).get("data_asset_name", "batch"))


def _row_count(result: Any) -> int | None:
    for r in result.results:
        count = (r.result or {}).get("element_count")
        if count is not None:
            return int(count)
        if r.expectation_config.type == "expect_table_row_count_to_be_between":
            observed = (r.result or {}).get("observed_value")
            if observed is not None:
                return int(observed)
    return None


def _outcomes(suite: Suite, result: Any, columns: list[str]) -> tuple[CheckOutcome, ...]:
    by_name = {}
    for r in result.results:
        name = (r.expectation_config.meta or {}).get("check_name")
        if name:
            by_name[name] = r
    outcomes = []
    for check in suite.checks:
        r = by_name.get(check.name)
        if r is None:  # GX dropped it: never report a check as passed that did not run
            outcomes.append(CheckOutcome(check.name, check.kind.value, check.severity.value, False, check.description, "", check.column, error="GX returned no result for this check"))
            continue
        res = r.result or {}
        error = _exception_message(r.exception_info)
        missing = [c for c in check.source_columns if c not in columns]
        if missing:  # say which table column is absent, not which _dq_ column GX missed
            error = f"column(s) {missing} not in the table ({suite.table}); fix the table or the spec"
        observed = _plain(res.get("observed_value"))
        if check.kind == Kind.SCHEMA and isinstance(observed, list):
            observed = [c for c in observed if not str(c).startswith(DERIVED_PREFIX)]
        outcomes.append(
            CheckOutcome(
                check_name=check.name,
                kind=check.kind.value,
                severity=check.severity.value,
                success=bool(r.success) and error is None,
                description=check.description,
                expectation_type=r.expectation_config.type,
                column=check.column or check.derived_column,
                observed_value=observed,
                element_count=_int(res.get("element_count")),
                unexpected_count=_int(res.get("unexpected_count")),
                unexpected_percent=_float(res.get("unexpected_percent")),
                unexpected_sample=[_plain(v) for v in (res.get("partial_unexpected_list") or [])][:5],
                error=error,
            )
        )
    return tuple(outcomes)


def _exception_message(info: Any) -> str | None:
    """GX puts ``{"raised_exception": bool, "exception_message": str}`` either at the top or
    under each failed metric's id; return the first message of a raised exception."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return _short(info.get("exception_message") or "exception")
    for value in info.values():
        message = _exception_message(value)
        if message:
            return message
    return None


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return None if math.isnan(f) else round(f, 4)


def _plain(value: Any) -> Any:
    """JSON-safe copy of a GX value (Decimal, dates, numpy scalars, nested lists)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    return str(value)
