"""Run the Dagster graph in-process (``scim run``) and summarise what it wrote."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path

import yaml

from pipelines.config import Settings

log = logging.getLogger("scim.run")


INSTANCE_YAML = Path(__file__).resolve().parent.parent / "dagster_project" / "dagster.yaml"


def _instance():
    import dagster as dg

    # A DAGSTER_HOME makes the runs visible in `make ui`; otherwise an ephemeral instance
    # that still captures the project's loggers as the project's instance settings say.
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    settings = yaml.safe_load(INSTANCE_YAML.read_text(encoding="utf-8")) or {}
    return dg.DagsterInstance.ephemeral(settings={"python_logs": settings.get("python_logs", {})})


@contextlib.contextmanager
def _logs_through_dagster(instance):
    """During an in-process run the managed loggers (dagster.yaml ``python_logs``) reach the
    run's event log and Dagster's console; they stop propagating to the root handler of the
    command line meanwhile, or every line would be printed twice."""
    loggers = [logging.getLogger(name) for name in instance.managed_python_loggers if name != "root"]
    before = [lg.propagate for lg in loggers]
    for lg in loggers:
        lg.propagate = False
    try:
        yield
    finally:
        for lg, propagate in zip(loggers, before):
            lg.propagate = propagate


RUNNER_TAG = "scim/runner"  # host:pid of the `scim run` process executing the run
POOL = "scim_lake"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_dead_runs(instance) -> list[str]:
    """Free the ``scim_lake`` pool from ``scim run`` processes of this host that are gone.

    A run killed hard (SIGKILL, out of memory, a closed terminal) stays STARTED in a
    persistent instance and keeps its pool slot, and every later run would wait for that
    slot for ever without a word. Such runs are marked failed and their slots freed
    (returned: their ids); a slot held by a live run is logged, since this run waits for it.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    released = []
    for slot in storage.get_concurrency_info(POOL).claimed_slots:
        run = instance.get_run_by_id(slot.run_id)
        host, _, pid = (run.tags.get(RUNNER_TAG, "") if run else "").rpartition(":")
        if run is not None and not run.is_finished and not (host == socket.gethostname() and pid.isdigit()
                                                               and not _alive(int(pid))):
            log.warning("pool %s is held by run %s (step %s, %s): this run waits until it ends; if that run is "
                        "dead, terminate it in the Dagster UI (Runs)", POOL, slot.run_id, slot.step_key,
                        run.tags.get(RUNNER_TAG) or "started from the UI")
            continue
        if run is not None and not run.is_finished:
            instance.report_run_failed(run, f"the scim run process {pid} on {host} is gone; its {POOL} slot is freed")
        storage.free_concurrency_slots_for_run(slot.run_id)
        released.append(slot.run_id)
        log.warning("pool %s: freed the slot of run %s (%s)", POOL, slot.run_id,
                    "finished" if run is None or run.is_finished else f"process {pid} gone, marked failed")
    return released


def check_days(first: str, last: str) -> None:
    """Raise ValueError naming the day and the valid range when ``first``..``last`` leaves the daily partitions."""
    from dagster_project.partitions import daily

    keys = daily.get_partition_keys()
    for day in (first, last):
        if day not in keys:
            raise ValueError(f"{day} is outside the daily partitions ({keys[0]} .. {keys[-1]}; the last one is "
                             "yesterday in Asia/Shanghai time): pick a day in that range")


def materialize_days(settings: Settings, first: str, last: str, config_file: str | None = None):
    """Materialise every asset for the daily partitions ``first``..``last`` as one run.

    Partitioned assets receive the whole range (single-run backfill policy); identity,
    features and gold run once after them. Returns Dagster's ExecuteInProcessResult.
    """
    from dagster_project.definitions import build_definitions

    check_days(first, last)
    defs = build_definitions(config_file=config_file, lake_root=settings.lake_root)
    job = defs.resolve_job_def("nightly")
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    from pipelines.locks import run_lock

    log.info("materialising partitions %s..%s into %s", first, last, settings.lake_root)
    instance = _instance()
    tags[RUNNER_TAG] = f"{socket.gethostname()}:{os.getpid()}"
    release_dead_runs(instance)
    if not settings.lake_is_local:  # remote lakes: the scheduler's run queue serialises writers
        with _logs_through_dagster(instance):
            result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    else:
        # One writer per local lake: a second `scim run` waits for the lock.
        with run_lock(settings, job=f"scim run {first}..{last}"), _logs_through_dagster(instance):
            result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    if not result.success:  # in-process runs have no sensor daemon: record the alert here
        record_failure(settings, result, tags)
    return result


def record_failure(settings: Settings, result, tags: dict[str, str]) -> str:
    """The run-failure alert of an in-process run (what the run_failure_alert sensor does in a deployment)."""
    from dagster import DagsterEventType

    from pipelines.alerts import record_alert, root_error, run_failure_alert

    failures = [(e.step_key, root_error(e.event_specific_data.error))
                for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    return record_alert(settings, run_failure_alert(result.run_id, result.job_def.name, tags, failures, "scim run"))


def print_summary(settings: Settings, result, seconds: float) -> None:
    """Print what the run wrote: per-table rows and versions, failed steps, check results."""
    from dagster import DagsterEventType

    rows, unwritten = [], set()
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        meta = {k: v.value for k, v in mat.metadata.items()}
        if meta.get("written") is False:
            unwritten.add("/".join(mat.asset_key.path))
            continue
        rows.append(("/".join(mat.asset_key.path), meta.get("rows"), meta.get("delta_version")))
    print(f"\nSCIM run {'succeeded' if result.success else 'FAILED'} in {seconds:.0f}s; lake: {settings.lake_root}")
    if rows:
        width = max(len(r[0]) for r in rows)
        print(f"  {'table'.ljust(width)}  {'rows':>10}  version")
        for name, n, version in sorted(set(rows)):
            print(f"  {name.ljust(width)}  {'' if n is None else n:>10}  {'' if version is None else version}")
    if unwritten:
        print(f"  not written this run (unchanged; their checks skipped): {', '.join(sorted(unwritten))}")
    evaluated = [e for e in result.all_events if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION]
    planned = sum(e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED for e in result.all_events)
    failed_checks = [e for e in evaluated if not e.event_specific_data.passed]
    print(f"  checks: {len(evaluated) - len(failed_checks)} passed, {len(failed_checks)} failed, "
          f"{max(planned - len(evaluated), 0)} skipped")
    for e in failed_checks:
        data = e.event_specific_data
        print(f"  check failed: {'/'.join(data.asset_key.path)} {data.check_name} ({data.severity.value})")
    for e in result.all_events:
        if e.event_type == DagsterEventType.STEP_FAILURE:
            print(f"  step failed: {e.step_key}: {e.event_specific_data.error.message.strip()[:300]}")
    _print_headline(settings)


def _print_headline(settings: Settings) -> None:
    """The headline numbers from the gold tables, when the run produced them."""
    from lake_io import Lake

    lake = Lake(settings)
    if not all(lake.exists(t) for t in ("gold/dim_customer", "gold/brand_sentiment_daily", "gold/campaign_report")):
        return
    from pipelines.publish import format_headline, headline_numbers
    from pipelines.spark import get_spark

    spark = get_spark(settings)
    print("\nHeadline numbers")
    print(format_headline(headline_numbers(settings, spark, lake=Lake(settings, spark))))
