"""Data-quality suites: specs, the GX runner on Spark, Data Docs and the Dagster adapter.

GX runs are the slow part, so one test suite covering every kind of check is validated
twice (a passing and a failing DataFrame, module-scoped), plus one run of the real
reconciliation suite; every other test reads those reports or needs no GX at all.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from expectations import all_suites, get_suite
from expectations.suite import Kind, Severity, SpecError, suite_from_spec

RUN_DATE = dt.date(2026, 11, 23)

SPEC = {
    "columns": ["id", "grp", "status", "amount", "start", "end", "d"],
    "keys": ["id"],
    "not_null": ["status"],
    "value_sets": {"status": ["a", "b"], "grp": ["g"]},
    "ranges": {"amount": [0, 100]},
    "pairs": [{"a": "end", "b": "start", "or_equal": True}],
    "row_count": {"min": 1},
    "reconciliation": {"input": "input", "outputs": ["written", "quarantined"]},
    "link_rate": {"cluster": "ckey", "source": "source", "min": 0.2, "max": 0.8},
    "freshness": {"column": "d", "max_age_days": 2},
    "severity": {"in_set_status": "WARN"},
}
SCHEMA = (
    "id string, grp string, status string, amount decimal(18,2), start date, end date, d date, "
    "source string, ckey string, input long, written long, quarantined long"
)
KINDS = {  # check name -> kind it stands for
    "schema": Kind.SCHEMA, "row_count": Kind.ROW_COUNT, "not_null_status": Kind.NOT_NULL,
    "not_null_id": Kind.NOT_NULL, "unique_id": Kind.UNIQUE, "in_set_status": Kind.VALUE_SET,
    "in_set_grp": Kind.VALUE_SET,
    "range_amount": Kind.RANGE, "pair_end_start": Kind.PAIR, "reconciliation": Kind.RECONCILIATION,
    "link_rate": Kind.LINK_RATE, "freshness_d": Kind.FRESHNESS,
}


def _d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


@pytest.fixture(scope="module")
def suite():
    return suite_from_spec("test/all_kinds", SPEC)


@pytest.fixture(scope="module")
def docs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lake") / "_reports" / "gx"


@pytest.fixture(scope="module")
def good_report(spark, suite, docs_dir):
    from expectations.runner import validate

    rows = [
        # id, grp, status, amount, start, end, d, source, ckey, input, written, quarantined
        ("1", "g", "a", Decimal("0.00"), _d("2026-01-01"), _d("2026-01-01"), _d("2026-11-22"), "crm", "K1", 10, 9, 1),
        ("2", "g", "b", Decimal("10.50"), _d("2026-01-01"), _d("2026-02-01"), _d("2026-11-20"), "weibo", "K1", 5, 5, 0),
        ("3", "g", "a", Decimal("100.00"), None, _d("2026-02-01"), _d("2026-11-01"), "crm", "K2", 0, 0, 0),
        ("4", "g", "b", Decimal("50.00"), _d("2026-03-01"), _d("2026-03-02"), None, "wechat", "K3", 3, 2, 1),
    ]
    df = spark.createDataFrame(rows, SCHEMA)
    return validate(df, suite, run_date=RUN_DATE, batch_name="good", docs_dir=str(docs_dir))


@pytest.fixture(scope="module")
def bad_report(spark, suite):
    from expectations.runner import validate

    rows = [
        ("1", "a", Decimal("-1.00"), _d("2026-02-01"), _d("2026-01-01"), _d("2026-11-10"), "crm", "K1", 10, 9, 0),
        ("1", None, Decimal("101.00"), None, None, _d("2026-11-01"), "weibo", "K2", 5, 5, 0),
        (None, "z", Decimal("5.00"), None, None, None, "crm", "K3", 1, 0, 1),
    ]
    # no "grp" column: the schema check fails and in_set_grp cannot run
    df = spark.createDataFrame(rows, SCHEMA.replace("grp string, ", ""))
    return validate(df, suite, run_date=RUN_DATE, batch_name="bad", samples=True)


# -- specs (no GX) ------------------------------------------------------------------------


def test_spec_builds_one_check_per_rule_with_layer_severities(suite):
    assert {c.name: c.kind for c in suite.checks} == KINDS
    sev = {c.name: c.severity for c in suite.checks}
    assert sev["unique_id"] is Severity.ERROR
    assert sev["in_set_status"] is Severity.WARN  # overridden by name
    assert sev["freshness_d"] is Severity.WARN and sev["link_rate"] is Severity.WARN  # defaults
    assert suite.name == "test_all_kinds" and suite.table == "test/all_kinds"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"colums": ["a"]}, "unknown keys"),
        ({"ranges": {"x": [5, 1]}}, "above max"),
        ({"ranges": {"x": {}}}, "needs a min or a max"),
        ({"value_sets": {"x": []}}, "non-empty list"),
        ({"not_null": ["x"], "severity": {"not_null_x": "FATAL"}}, "use ERROR or WARN"),
        ({"not_null": ["x"], "severity": {"not_null_y": "WARN"}}, "name no check"),
        ({"link_rate": {"cluster": "k"}}, "link_rate needs cluster and source"),
    ],
)
def test_malformed_spec_is_refused_with_the_table_and_key(spec, message):
    with pytest.raises(SpecError, match=message) as err:
        suite_from_spec("silver/x", spec)
    assert "silver/x" in str(err.value)


def test_every_layer_suite_builds_valid_dagster_names_and_gx_expectations():
    from expectations.runner import _to_gx_suite

    suites = all_suites()
    for table in ("bronze/weibo_users", "bronze/crm_orders", "quarantine", "_reports/reconciliation",
                  "silver/identity_clusters", "silver/identity_links", "gold/dim_customer",
                  "gold/fact_purchase", "gold/brand_sentiment_daily"):
        assert table in suites
    for suite in suites.values():
        assert re.fullmatch(r"[A-Za-z0-9_]+", suite.name)
        for check in suite.checks:
            assert re.fullmatch(r"[A-Za-z0-9_]+", check.name), check.name
        assert len(_to_gx_suite(suite).expectations) == len(suite.checks)
    assert get_suite("silver_orders") is get_suite("silver/orders")
    assert get_suite("gold/fact_purchase").check("range_amount").params["min"] == 0
    assert get_suite("silver/identity_links").check("range_match_probability").params == {"min": 0, "max": 1}
    assert get_suite("_reports/reconciliation").check("reconciliation").severity is Severity.ERROR
    with pytest.raises(KeyError, match="no quality suite"):
        get_suite("silver/nope")


def test_bronze_suites_mirror_the_ingestion_contract(spark):
    from expectations.bronze import LANDING, REASON_CODES
    from transforms.bronze import REASONS, SPECS

    assert sorted(REASON_CODES) == sorted(REASONS)
    contract = {s.table: s for s in SPECS.values()}
    assert set(LANDING) == set(contract)
    for table, landing in LANDING.items():
        spec = contract[table]
        assert landing["fields"] == spec.field_names, table
        assert tuple(landing["keys"]) == spec.keys, table
        assert landing["required"] == [f.name for f in spec.fields if f.required], table


def test_prepare_computes_link_flags_and_business_day_age(spark):
    suite = suite_from_spec("t/x", {
        "link_rate": {"cluster": "k", "source": "s", "min": 0, "max": 0.5, "of_sources": ["weibo"]},
        "freshness": {"column": "ts", "max_age_days": 1},
    })
    df = spark.createDataFrame(
        [("weibo", "K1", dt.datetime(2026, 11, 22, 17, 0)), ("crm", "K1", None), ("weibo", "K2", None), ("crm", None, None)],
        "s string, k string, ts timestamp",
    )
    out = {(r["s"], r["k"]): (r["_dq_link_rate"], r["_dq_freshness_ts"]) for r in suite.prepare(df, RUN_DATE).collect()}
    # 17:00 UTC on the 22nd is 01:00 on the 23rd in Shanghai: age 0, not 1
    assert out[("weibo", "K1")] == (1.0, 0)
    assert out[("weibo", "K2")] == (0.0, None)
    assert out[("crm", "K1")] == (None, None)  # not a weibo record: outside the share
    assert out[("crm", None)] == (None, None)


# -- GX runs ------------------------------------------------------------------------------


def test_good_dataframe_passes_every_kind(good_report, suite):
    failed = [o.summary() for o in good_report.outcomes if not o.success]
    assert failed == []
    assert good_report.success and good_report.usable
    assert [o.check_name for o in good_report.outcomes] == [c.name for c in suite.checks]  # suite order
    assert good_report.outcome("link_rate").observed_value == pytest.approx(0.5)
    assert good_report.outcome("freshness_d").observed_value == 1  # newest d is the 22nd
    assert good_report.outcome("row_count").observed_value == 4
    assert good_report.row_count == 4
    assert "_dq_reconciliation" not in good_report.outcome("schema").observed_value


def test_bad_dataframe_fails_every_kind_with_counts(bad_report):
    outcomes = {o.check_name: o for o in bad_report.outcomes}
    assert {n for n, o in outcomes.items() if not o.success} == set(KINDS) - {"row_count"}
    assert outcomes["row_count"].success
    assert outcomes["schema"].observed_value and "grp" not in outcomes["schema"].observed_value
    assert outcomes["not_null_id"].unexpected_count == 1
    assert outcomes["unique_id"].unexpected_count == 2
    assert outcomes["not_null_status"].unexpected_count == 1
    assert outcomes["in_set_status"].unexpected_count == 1
    assert outcomes["in_set_status"].unexpected_sample == ["z"]
    assert outcomes["range_amount"].unexpected_count == 2
    assert outcomes["pair_end_start"].unexpected_count == 1
    assert outcomes["reconciliation"].unexpected_count == 1
    assert outcomes["link_rate"].observed_value == 0.0
    assert outcomes["freshness_d"].observed_value == 13
    assert "['grp'] not in the table" in outcomes["in_set_grp"].error  # a missing column, named
    assert not bad_report.usable
    assert {o.check_name for o in bad_report.warnings} == {"in_set_status", "link_rate", "freshness_d"}
    with pytest.raises(Exception, match="blocking check"):
        bad_report.raise_for_errors()


def test_reconciliation_suite_flags_unbalanced_rows(spark):
    from expectations.runner import validate

    rows = [
        ("weibo", "users", _d("2026-11-23"), 100, 99, 1),
        ("crm", "orders", _d("2026-11-23"), 100, 80, 10),  # 10 records unaccounted for
    ]
    df = spark.createDataFrame(rows, "source string, entity string, batch_date date, input_records long, "
                                     "written_records long, quarantined_records long")
    report = validate(df, "_reports/reconciliation", run_date=RUN_DATE)
    assert [o.check_name for o in report.errors] == ["reconciliation"]
    assert report.outcome("reconciliation").unexpected_count == 1
    assert [o.check_name for o in report.warnings] == ["ratio_quarantine_share"]  # 10% > 5%


def test_data_docs_site_is_written(good_report, docs_dir):
    site = docs_dir / "site"
    assert (site / "index.html").is_file()
    pages = list((site / "validations").rglob("*.html"))
    assert pages and any("test_all_kinds" in str(p) for p in pages)
    assert list((docs_dir / "results").rglob("*.json"))
    assert good_report.data_docs_index == (site / "index.html").as_uri()
    assert "test_all_kinds" in (site / "index.html").read_text(encoding="utf-8")


# -- Dagster adapter ----------------------------------------------------------------------


def test_adapter_carries_pass_fail_severity_and_metadata(bad_report, good_report):
    import dagster as dg

    from expectations.dagster_adapter import check_specs, failed, to_asset_check_results

    key = dg.AssetKey(["test", "all_kinds"])
    results = to_asset_check_results(bad_report, asset_key=key)
    by_name = {r.check_name: r for r in results}
    assert set(by_name) == set(KINDS)
    assert by_name["unique_id"].passed is False and by_name["unique_id"].severity == dg.AssetCheckSeverity.ERROR
    assert by_name["freshness_d"].passed is False and by_name["freshness_d"].severity == dg.AssetCheckSeverity.WARN
    assert by_name["in_set_status"].severity == dg.AssetCheckSeverity.WARN
    assert by_name["row_count"].passed is True
    assert by_name["unique_id"].metadata["unexpected_count"].value == 2
    assert by_name["freshness_d"].metadata["observed_value"].value == 13
    assert by_name["in_set_status"].metadata["unexpected_sample"].data == ["z"]
    assert all(r.asset_key == key for r in results)
    assert set(failed(results, dg.AssetCheckSeverity.WARN)) == {"in_set_status", "link_rate", "freshness_d"}
    assert failed(to_asset_check_results(good_report)) == []
    assert "data_docs" in to_asset_check_results(good_report)[0].metadata

    specs = {s.name: s for s in check_specs(suite_from_spec("test/all_kinds", SPEC), "test/all_kinds")}
    assert {s.asset_key for s in specs.values()} == {key}
    assert set(specs) == set(KINDS)
    assert specs["unique_id"].blocking and not specs["freshness_d"].blocking and not specs["in_set_status"].blocking

    @dg.asset(key=key, check_specs=list(specs.values()))
    def all_kinds():
        return dg.MaterializeResult(check_results=to_asset_check_results(bad_report, asset_key=key))

    @dg.asset(deps=[key])
    def downstream():
        return dg.MaterializeResult()

    result = dg.materialize([all_kinds, downstream], raise_on_error=False)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["unique_id"].passed is False
    assert evaluations["unique_id"].severity == dg.AssetCheckSeverity.ERROR
    assert evaluations["freshness_d"].severity == dg.AssetCheckSeverity.WARN
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert key in materialized and dg.AssetKey("downstream") not in materialized  # blocked by ERROR checks


def test_prune_docs_removes_old_runs_only(good_report, docs_dir):
    from expectations.runner import prune_docs

    assert prune_docs(str(docs_dir), keep_days=30, today=dt.date(2026, 12, 1)) == 0  # 8 days old: kept
    assert prune_docs(str(docs_dir), keep_days=30, today=dt.date(2027, 1, 1)) == 2  # result + page
    assert not list((docs_dir / "results").rglob("*.json"))
