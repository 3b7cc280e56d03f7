"""The whole graph through Dagster on two days of small generated data, and a blocking check."""

import dagster as dg
import pytest

from lake_io import Lake


@pytest.fixture(scope="module")
def e2e(tmp_path_factory, spark):
    from pipelines.config import load_settings
    from pipelines.orchestrate import materialize_days
    from sample_data import generate

    root = tmp_path_factory.mktemp("e2e_lake")
    settings = load_settings(environ={"SCIM_HMAC_KEY": "e2e-test-key-0123456789"}, lake_root=str(root),
                             spark={"shuffle_partitions": 2})
    generate(str(root), persons=150, days=2, start="2026-11-01", seed=7)
    result = materialize_days(settings, "2026-11-01", "2026-11-02")
    return settings, result


def _materialised(result) -> set[str]:
    return {"/".join(e.event_specific_data.materialization.asset_key.path)
            for e in result.get_asset_materialization_events()}


def test_two_days_materialise_every_layer(e2e, spark):
    settings, result = e2e
    failures = [e.event_specific_data.error.message for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert result.success, failures
    written = _materialised(result)
    for table in ("bronze/crm_orders", "bronze/weibo_posts", "quarantine", "reports/reconciliation",
                  "silver/orders", "silver/person_records", "silver/identity_clusters",
                  "silver/features_customer_daily"):
        assert table in written, f"{table} not materialised"
    lake = Lake(settings, spark)
    recon = lake.read("_reports/reconciliation").toPandas()
    assert sorted(recon["batch_date"].astype(str).unique()) == ["2026-11-01", "2026-11-02"]
    assert (recon["input_records"] == recon["written_records"] + recon["quarantined_records"]).all()
    clusters = lake.read("silver/identity_clusters").toPandas()
    assert clusters["customer_key"].notna().all()
    assert clusters.groupby("customer_key")["source"].nunique().max() >= 2  # some cross-source links


def test_quality_checks_ran_and_error_checks_passed(e2e):
    _, result = e2e
    evaluations = [e.event_specific_data for e in result.all_events
                   if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    assert len(evaluations) > 50
    failed_errors = [f"{'/'.join(ev.asset_key.path)}:{ev.check_name}" for ev in evaluations
                     if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR]
    assert failed_errors == []


def test_failing_error_check_blocks_downstream(settings, spark):
    from dagster_project.assets import Step, build_step_asset
    from dagster_project.resources import build_resources

    ran = []

    def bad_campaigns(ctx):
        df = spark.createDataFrame([(None, "x")], "campaign_id string, name string")
        version = ctx.lake.write(df, "silver/campaigns", mode="overwrite")
        return {"silver/campaigns": {"rows": 1, "delta_version": version}}

    def downstream(ctx):
        ran.append(True)
        return {}

    upstream = Step(name="bad", group="silver", description="writes a table that fails its ERROR checks",
                    tables={"silver/campaigns": "campaigns"}, run=bad_campaigns)
    after = Step(name="after", group="gold", description="must not run", tables={"gold/after": "x"},
                 run=downstream, deps=("silver/campaigns",))
    result = dg.materialize(
        [build_step_asset(upstream), build_step_asset(after)],
        resources=build_resources(lake_root=settings.lake_root), raise_on_error=False,
    )
    assert not result.success
    assert ran == []
    failed = [e.event_specific_data.check_name for e in result.all_events
              if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION and not e.event_specific_data.passed]
    assert "not_null_campaign_id" in failed
