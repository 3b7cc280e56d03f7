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
