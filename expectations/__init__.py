"""Data quality for SCIM: Great Expectations suites as code and the runner.

* :mod:`expectations.suite` - the declarative spec per table, checks and severities;
* :mod:`expectations.bronze`, :mod:`expectations.silver`, :mod:`expectations.gold` - the
  specs of each layer;
* :mod:`expectations.runner` - ``validate(df, suite)`` with GX on Spark, Data Docs;
* :mod:`expectations.dagster_adapter` - a report as Dagster asset check results.

This package never imports Dagster outside ``dagster_adapter``.
"""

from __future__ import annotations

import functools

from expectations.suite import Check, Kind, Severity, SpecError, Suite, suite_from_spec, suite_name

__all__ = [
    "Check", "Kind", "Severity", "SpecError", "Suite", "suite_from_spec", "suite_name",
    "all_suites", "get_suite", "validate", "docs_dir_for", "ValidationReport", "CheckOutcome",
    "DataQualityError", "prune_docs",
]


@functools.lru_cache(maxsize=1)
def all_suites() -> dict[str, Suite]:
    """Every suite of every layer, keyed by lake-relative table name (``silver/orders``)."""
    from expectations import bronze, gold, silver

    out: dict[str, Suite] = {}
    for layer in (bronze, silver, gold):
        out.update(layer.suites())
    return out


def get_suite(name: str) -> Suite:
    """The suite of a table, by table name (``silver/orders``) or suite name (``silver_orders``)."""
    suites = all_suites()
    if name in suites:
        return suites[name]
    for suite in suites.values():
        if suite.name == name:
            return suite
    raise KeyError(f"no quality suite for {name!r}; known tables: {sorted(suites)}")


def __getattr__(name: str):
    # The runner imports GX lazily; keep `import expectations` cheap for spec-only users.
    if name in ("validate", "docs_dir_for", "prune_docs", "ValidationReport", "CheckOutcome", "DataQualityError"):
        from expectations import runner

        return getattr(runner, name)
    raise AttributeError(name)
