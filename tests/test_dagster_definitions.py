"""The Dagster code location: it loads, the graph is wired as documented, the schedule and sensor behave."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions, defs
from dagster_project.partitions import daily
from dagster_project.schedules import nightly_schedule
from dagster_project.sensors import landing_complete_sensor
from dagster_project.resources import ScimConfig


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    keys = {"/".join(k.path) for k in defs.resolve_all_asset_keys()}
    for table in ("bronze/crm_customers", "bronze/weibo_posts", "quarantine", "reports/reconciliation",
                  "silver/orders", "silver/person_records"):
        assert table in keys


def test_assets_are_layered_owned_and_partitioned():
    graph = defs.resolve_asset_graph()
    bronze = dg.AssetKey(["bronze", "crm_orders"])
    silver = dg.AssetKey(["silver", "orders"])
    assert graph.get(bronze).partitions_def == daily
    assert graph.get(silver).partitions_def is None  # silver depends on all partitions up to the run date
    assert bronze in graph.get(silver).parent_keys
    spec = graph.get(bronze)
    assert spec.owners == ["team:data-engineering"]
    assert {"spark", "delta"} <= set(spec.kinds)
    assert spec.group_name == "bronze"


def test_quality_checks_are_blocking_for_error_severity():
    graph = defs.resolve_asset_graph()
    checks = {(("/".join(k.asset_key.path)), k.name): graph.get_check_spec(k) for k in graph.asset_check_keys}
    assert checks, "no GX-based asset checks wired"
    blocking = [spec for spec in checks.values() if spec.blocking]
    assert blocking and len(blocking) < len(checks)  # ERROR checks block, WARN checks do not


def test_daily_partitions_are_in_shanghai_time():
    assert daily.timezone == "Asia/Shanghai"
    assert daily.start.date() == dt.date(2024, 1, 1)


def test_schedule_runs_at_two_shanghai_for_yesterday():
    assert nightly_schedule.cron_schedule == "0 2 * * *"
    assert nightly_schedule.execution_timezone == "Asia/Shanghai"
    tick = dt.datetime(2026, 11, 3, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    context = dg.build_schedule_context(scheduled_execution_time=tick)
    requests = list(nightly_schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2026-11-02"]


def _drop(root: Path, source: str, day: str, complete: bool) -> None:
    folder = root / "landing" / source / day
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text("{}")
    if complete:
        (folder / "_SUCCESS").write_text("")


def test_sensor_fires_on_complete_drop_only(tmp_path):
    config = ScimConfig(lake_root=str(tmp_path))
    for source in ("crm", "weibo", "wechat"):
        _drop(tmp_path, source, "2026-11-01", complete=True)
    _drop(tmp_path, "crm", "2026-11-02", complete=True)
    _drop(tmp_path, "weibo", "2026-11-02", complete=True)
    _drop(tmp_path, "wechat", "2026-11-02", complete=False)  # partial: marker missing

    with dg.build_sensor_context(resources={"config": config}) as context:
        result = landing_complete_sensor(context)
        assert [r.partition_key for r in result] == ["2026-11-01"]
        cursor = context.cursor

    # The same state again: nothing new.
    with dg.build_sensor_context(cursor=cursor, resources={"config": config}) as context:
        assert isinstance(landing_complete_sensor(context), dg.SkipReason)

    (tmp_path / "landing" / "wechat" / "2026-11-02" / "_SUCCESS").write_text("")
    with dg.build_sensor_context(cursor=cursor, resources={"config": config}) as context:
        assert [r.partition_key for r in landing_complete_sensor(context)] == ["2026-11-02"]


def test_lake_root_override_reaches_resources(tmp_path):
    d = build_definitions(lake_root=str(tmp_path / "elsewhere"))
    config = d.resources["config"]
    assert config.settings.lake_root == str(tmp_path / "elsewhere")


def test_outside_partitions_is_a_clear_error(settings):
    from pipelines.orchestrate import materialize_days

    with pytest.raises(ValueError, match="outside the daily partitions"):
        materialize_days(settings, "2020-01-01", "2020-01-01")


def test_instance_config_serialises_lake_writers(tmp_path, monkeypatch):
    import shutil

    shutil.copy(Path(__file__).parents[1] / "dagster_project" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = dg.DagsterInstance.get()
    try:
        config = instance.get_concurrency_config()
        assert {"key": "scim/lake-writer", "limit": 1} in config.run_queue_config.tag_concurrency_limits
        assert config.pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
    from dagster_project.jobs import nightly_job

    assert nightly_job.tags.get("scim/lake-writer") == "true"


def test_project_loggers_are_captured_by_the_instances(tmp_path, monkeypatch):
    import shutil

    from pipelines.orchestrate import _instance

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    ephemeral = _instance()  # what `scim run` uses without DAGSTER_HOME
    shutil.copy(Path(__file__).parents[1] / "dagster_project" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    home = _instance()  # what `make run` and `make ui` use
    try:
        for instance in (ephemeral, home):
            loggers = instance.get_settings("python_logs")["managed_python_loggers"]
            assert {"scim", "lake_io", "expectations"} <= set(loggers)
    finally:
        home.dispose()


def test_kpi_check_is_warn_and_steps_may_leave_checks_unevaluated():
    graph = defs.resolve_asset_graph()
    spike = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(["gold", "brand_sentiment_daily"]), "negative_spike"))
    assert not spike.blocking and "WARN" in spike.description
    assert graph.get(dg.AssetKey(["gold", "brand_sentiment_daily"])).assets_def.can_subset
    assert {s.name for s in defs.sensors} == {"landing_complete_sensor", "run_failure_alert"}


BRAND_SENTIMENT_SCHEMA = (
    "date_key int, date date, brand string, brand_role string, platform string, region string, mentions long, "
    "mention_count long, positive long, neutral long, negative long, unscored long, negative_positive_ratio double, "
    "trailing_negative_avg double, negative_spike boolean, brand_negative_spike boolean")


def _brand_row(day: dt.date, brand: str, role: str, region: str, negative: int, positive: int, spike: bool,
               national_spike: bool) -> tuple:
    return (int(day.strftime("%Y%m%d")), day, brand, role, "weibo", region, negative + positive, negative + positive,
            positive, 0, negative, 0, negative / positive if positive else None, 1.0, spike, national_spike)


def mats_of(result) -> dict:
    return {"/".join(m.asset_key.path): m.metadata for m in result.asset_materializations_for_node("kpi_test")}


def test_materialisations_carry_table_metadata_and_unwritten_tables_skip_their_checks(spark, settings, monkeypatch):
    import asyncio
    import base64
    import logging

    from dagster._core.loader import LoadingContextForTest

    from dagster_project.assets import Step, asset_key, build_step_asset
    from dagster_project.resources import build_resources
    from pipelines.orchestrate import _instance

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    day = "2026-11-02"
    # own brand 花漾: a calm day, then a national spike on the run date (two regions); a competitor spiking
    # on the run date raises no alert
    brand_rows = [
        _brand_row(dt.date(2026, 11, 1), "花漾", "own", "浙江", 1, 5, False, False),
        _brand_row(dt.date(2026, 11, 2), "花漾", "own", "浙江", 6, 2, True, True),
        _brand_row(dt.date(2026, 11, 2), "花漾", "own", "上海", 3, 0, False, True),
        _brand_row(dt.date(2026, 11, 2), "露薇", "competitor", "上海", 9, 1, True, True),
    ]
    plan = {"write": {"gold/brand_sentiment_daily"}}

    def run(ctx):
        logging.getLogger("scim.test").info("test step wrote %s", sorted(plan["write"]))
        out = {}
        for table in plan["write"]:
            if table == "gold/brand_sentiment_daily":
                df = ctx.spark.createDataFrame(brand_rows, BRAND_SENTIMENT_SCHEMA)
            else:
                df = ctx.spark.createDataFrame([(1,), (2,), (3,)], "id long")
            ctx.lake.write(df, table, mode="overwrite", description=f"test table {table}",
                           column_comments={c: f"comment of {c}" for c in df.columns})
            out[table] = {"rows": df.count()}
        return out

    step = build_step_asset(Step(name="kpi_test", group="gold", description="test", run=run,
                                 tables={"gold/brand_sentiment_daily": "brand KPI", "silver/other": "other"}))

    @dg.asset(deps=[asset_key("gold/brand_sentiment_daily")])
    def downstream() -> None:
        return None

    resources = build_resources(lake_root=settings.lake_root)
    instance = _instance()
    first = dg.materialize([step, downstream], resources=resources, instance=instance, tags={"dagster/partition": day})
    assert first.success
    mats = mats_of(first)
    brand = mats["gold/brand_sentiment_daily"]
    assert brand["dagster/row_count"].value == 4 and brand["rows"].value == 4 and brand["written"].value is True
    assert brand["dagster/uri"].value == settings.lake_path("gold/brand_sentiment_daily")
    columns = {c.name: c.description for c in brand["dagster/column_schema"].value.columns}
    assert columns["negative"] == "comment of negative"
    chart = brand["negative_positive_ratio_chart"].value
    assert base64.b64decode(chart.split("base64,")[1].split(")")[0]).startswith(b"\x89PNG")
    assert "Latest day 2026-11-02: negative:positive 4.50 (9 negative, 2 positive)" in chart
    assert mats["silver/other"]["written"].value is False  # recorded unchanged, so downstream still runs
    spike = [e.event_specific_data for e in first.all_events
             if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.event_specific_data.check_name == "negative_spike"]
    assert len(spike) == 1 and not spike[0].passed and spike[0].severity == dg.AssetCheckSeverity.WARN
    # the own brand's national figures of the day (both regions); the competitor's spike is not an alert
    assert spike[0].metadata["spikes"].value == [
        {"brand": "花漾", "platform": "weibo", "negative": 9, "positive": 2, "negative_positive_ratio": 4.5}]
    alerts = list((Path(settings.lake_root) / "_reports" / "alerts").glob("*.jsonl"))
    assert alerts and '"kind": "negative_spike"' in alerts[0].read_text(encoding="utf-8")
    assert "露薇" not in alerts[0].read_text(encoding="utf-8")
    # the project's logger reached the run's event log (python_logs)
    logs = [e.message for e in instance.all_logs(first.run_id)]
    assert any("test step wrote" in (m or "") for m in logs)

    plan["write"] = {"silver/other"}  # next run: the KPI table is not written
    second = dg.materialize([step, downstream], resources=resources, instance=instance, tags={"dagster/partition": day})
    assert second.success
    assert not [e for e in second.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(asset_key("gold/brand_sentiment_daily"), "negative_spike")])
    latest = next(iter(record.values()))
    # planned and never evaluated in a successful run: the UI resolves it as SKIPPED, not passed
    assert latest.run_id == second.run_id and latest.status.value == "PLANNED"
    assert asyncio.run(latest.resolve_status(LoadingContextForTest(instance))).value == "SKIPPED"
    assert mats_of(second)["gold/brand_sentiment_daily"]["written"].value is False
    assert second.output_for_node("downstream") is None  # downstream ran


def test_partial_selection_of_a_step_is_refused(settings, spark, monkeypatch):
    from dagster_project.assets import Step, build_step_asset
    from dagster_project.resources import build_resources

    step = build_step_asset(Step(name="pair", group="silver", description="two tables", run=lambda ctx: {},
                                 tables={"silver/a": "a", "silver/b": "b"}))
    result = dg.materialize([step], selection=["silver/a"], resources=build_resources(lake_root=settings.lake_root),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "cannot write a subset" in failure.event_specific_data.error.message + str(failure.message)


def _failing_job() -> dg.JobDefinition:
    @dg.op
    def breaks():
        raise RuntimeError("CRM file crm_customers.csv line 12: birth month 13")

    @dg.job
    def failing():
        breaks()

    return failing


def test_run_failure_sensor_records_an_alert_and_calls_the_webhook(tmp_path, monkeypatch):
    import http.server
    import json
    import threading

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SCIM_ALERTS__WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    try:
        instance = dg.DagsterInstance.ephemeral()
        result = _failing_job().execute_in_process(instance=instance, raise_on_error=False)
        failure = next(e.dagster_event for e in instance.all_logs(result.run_id)
                       if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_event=failure, dagster_instance=instance,
            dagster_run=result.dagster_run, resources={"config": ScimConfig(lake_root=str(tmp_path))},
        ).for_run_failure()
        from dagster_project.sensors import run_failure_alert

        run_failure_alert(context)
    finally:
        server.shutdown()
    lines = next((tmp_path / "_reports" / "alerts").glob("*.jsonl")).read_text(encoding="utf-8").splitlines()
    alert = json.loads(lines[-1])
    assert alert["kind"] == "run_failure" and alert["run_id"] == result.run_id and alert["source"] == "sensor"
    assert alert["failed_steps"][0]["step"] == "breaks" and "birth month 13" in alert["failed_steps"][0]["error"]
    assert received and received[0]["text"] == alert["summary"] and received[0]["alert"]["run_id"] == result.run_id


def test_webhook_failure_never_fails_the_alert(tmp_path, caplog):
    from pipelines.alerts import record_alert, run_failure_alert
    from pipelines.config import load_settings

    s = load_settings(environ={"SCIM_ALERTS__WEBHOOK_URL": "http://127.0.0.1:9/secret-token"}, lake_root=str(tmp_path))
    uri = record_alert(s, run_failure_alert("r" * 32, "nightly", {"dagster/partition": "2026-11-02"}, [], "scim run"))
    assert Path(uri).read_text(encoding="utf-8").count("\n") == 1
    assert "webhook failed" in caplog.text and "secret-token" not in caplog.text


def test_webhook_url_is_refused_in_yaml(tmp_path):
    from pipelines.config import ConfigError, load_settings

    cfg = tmp_path / "scim.yaml"
    cfg.write_text("alerts:\n  webhook_url: https://hooks.slack.com/services/x\n")
    with pytest.raises(ConfigError, match="SCIM_ALERTS__WEBHOOK_URL"):
        load_settings(cfg, environ={})


def test_scim_run_records_the_alert_of_its_failed_run(tmp_path):
    """In-process runs (scim run) have no sensor daemon: they record the same alert themselves."""
    import json

    from pipelines.config import load_settings
    from pipelines.orchestrate import record_failure

    tags = {"dagster/partition": "2026-11-02"}
    result = _failing_job().execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags,
                                               raise_on_error=False)
    uri = record_failure(load_settings(environ={}, lake_root=str(tmp_path)), result, tags)
    alert = json.loads(Path(uri).read_text(encoding="utf-8").splitlines()[-1])
    assert (alert["kind"], alert["source"], alert["job"], alert["partition"]) == (
        "run_failure", "scim run", "failing", "2026-11-02")
    assert [s["step"] for s in alert["failed_steps"]] == ["breaks"]
    assert "birth month 13" in alert["failed_steps"][0]["error"] and "\n" not in alert["failed_steps"][0]["error"]
    assert alert["summary"] == f"SCIM run {result.run_id[:8]} of failing for 2026-11-02 failed: breaks"


def test_a_killed_scim_run_does_not_hold_the_lake_pool_for_ever(tmp_path, monkeypatch):
    """A run whose process is gone stays STARTED with its pool slot: the next run frees it (and
    would otherwise wait for ever); a slot of a live run is left alone."""
    import shutil
    import socket
    import subprocess

    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
    from dagster._core.utils import make_new_run_id

    from pipelines.orchestrate import POOL, RUNNER_TAG, release_dead_runs

    shutil.copy(Path(__file__).parents[1] / "dagster_project" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    instance = dg.DagsterInstance.get()
    try:
        def started(runner: str | None) -> DagsterRun:
            return instance.add_run(DagsterRun(job_name="nightly", run_id=make_new_run_id(),
                                               status=DagsterRunStatus.STARTED,
                                               tags={RUNNER_TAG: runner} if runner else {}))

        dead, live = started(f"{socket.gethostname()}:{gone.pid}"), started(None)  # live: a run of the UI
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        storage.claim_concurrency_slot(POOL, dead.run_id, "ingest")
        assert release_dead_runs(instance) == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        storage.claim_concurrency_slot(POOL, live.run_id, "ingest")
        assert [s.run_id for s in storage.get_concurrency_info(POOL).claimed_slots] == [live.run_id]
        assert release_dead_runs(instance) == []  # a live run keeps its slot
        assert instance.get_run_by_id(live.run_id).status == DagsterRunStatus.STARTED
    finally:
        instance.dispose()
