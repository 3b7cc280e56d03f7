"""Quality reports as Dagster asset checks (the only module of the package that imports Dagster).

One Dagster asset check per suite check, named like the check (``not_null_customer_id``):

* :func:`check_specs` declares them for an asset; ERROR checks are ``blocking=True``, so a
  failed ERROR result stops downstream materialisations, WARN checks are not blocking;
* :func:`to_asset_check_results` turns a :class:`~expectations.runner.ValidationReport`
  into ``AssetCheckResult`` objects with the same names, ``passed``, the severity
  (``AssetCheckSeverity.ERROR`` / ``WARN``) and the observed figures as metadata.

Typical wiring (in ``dagster_project``)::

    @dg.asset(check_specs=check_specs("silver/orders", asset_key=dg.AssetKey(["silver", "orders"])))
    def silver_orders(context, ...):
        df = ...                                          # build and write the table
        report = validate(df, "silver/orders", run_date=partition_date, docs_dir=docs_dir_for(settings))
        yield dg.MaterializeResult(metadata={...})
        yield from to_asset_check_results(report, asset_key=dg.AssetKey(["silver", "orders"]))
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import dagster as dg

from expectations.runner import ValidationReport
from expectations.suite import Severity, Suite

_SEVERITY = {Severity.ERROR.value: dg.AssetCheckSeverity.ERROR, Severity.WARN.value: dg.AssetCheckSeverity.WARN}


def asset_key_of(key: "dg.AssetKey | str | Sequence[str]") -> dg.AssetKey:
    """An ``AssetKey`` from a key, a list of parts, or a lake table name
    (``"silver/orders"`` -> ``AssetKey(["silver", "orders"])``)."""
    if isinstance(key, str):
        return dg.AssetKey([part for part in key.split("/") if part])
    return dg.AssetKey.from_coercible(key)


def _suite(suite: "Suite | str") -> Suite:
    if isinstance(suite, Suite):
        return suite
    from expectations import get_suite

    return get_suite(suite)


def check_specs(
    suite: "Suite | str",
    asset_key: "dg.AssetKey | str | Sequence[str]",
    blocking_errors: bool = True,
) -> list[dg.AssetCheckSpec]:
    """One ``AssetCheckSpec`` per check of ``suite`` on ``asset_key`` (an ``AssetKey``, a
    list of parts, or a lake table name such as ``"silver/orders"``). ERROR checks are
    blocking (unless ``blocking_errors=False``); WARN checks never block."""
    key = asset_key_of(asset_key)
    return [
        dg.AssetCheckSpec(
            name=check.name,
            asset=key,
            description=f"[{check.severity.value}] {check.description}",
            blocking=blocking_errors and check.severity == Severity.ERROR,
            metadata={"kind": check.kind.value, "severity": check.severity.value},
        )
        for check in _suite(suite).checks
    ]


def to_asset_check_results(
    report: ValidationReport,
    asset_key: "dg.AssetKey | str | Sequence[str] | None" = None,
) -> list[dg.AssetCheckResult]:
    """One ``AssetCheckResult`` per outcome of ``report``: ``check_name``, ``passed``,
    ``severity`` (ERROR or WARN), a one-line description, and metadata with the observed
    value, counts, suite, table, run date and the Data Docs link."""
    key = None if asset_key is None else asset_key_of(asset_key)
    return [
        dg.AssetCheckResult(
            passed=bool(d["passed"]),
            asset_key=key,
            check_name=d["check_name"],
            severity=_SEVERITY[d["severity"]],
            description=d["description"],
            metadata=_metadata(d["metadata"]),
        )
        for d in report.to_check_results()
    ]


def _metadata(meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in meta.items():
        if name == "data_docs" and isinstance(value, str):
            out[name] = dg.MetadataValue.url(value)
        elif isinstance(value, (list, tuple, dict)):
            out[name] = dg.MetadataValue.json(list(value) if isinstance(value, tuple) else value)
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def failed(results: Iterable[dg.AssetCheckResult], severity: dg.AssetCheckSeverity | None = None) -> list[str]:
    """Names of the failed results (of one severity, if given): handy for logs and tests."""
    return [r.check_name for r in results if not r.passed and (severity is None or r.severity == severity)]
