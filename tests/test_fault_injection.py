"""Fault injection: processes killed with SIGKILL mid-write and mid-merge, re-runs, concurrent runs.

Each scenario runs a real writer in a subprocess (the venv interpreter, writing through
lake_io) and kills its whole process group (driver, JVM, Python workers) at a known point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from deltalake import DeltaTable

from lake_io import Lake

WAIT_SECONDS = 300  # generous: the machine may be busy; a scenario normally needs far less


def _env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SCIM_HMAC_KEY": "test-key-0123456789abcdef", "SCIM_LAKE_ROOT": str(settings.lake_root),
                "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
                "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    return env


PRELUDE = """
import logging, os, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
import pyarrow as pa
from pipelines.config import load_settings
from lake_io import Lake
settings = load_settings(environ=dict(os.environ), lake_root=os.environ["SCIM_LAKE_ROOT"],
                         spark={"driver_memory": "1g", "shuffle_partitions": 2})
"""


def _spawn(settings, body: str) -> subprocess.Popen:
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], env=_env(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the subprocess's own process group (its JVM and Python workers too)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def _wait_for(condition, proc: subprocess.Popen, what: str, poll: float = 0.05) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"subprocess ended (rc={proc.returncode}) before {what}:\n{proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            _kill(proc)
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def _data_files(table_dir: Path) -> set[str]:
    return {str(p.relative_to(table_dir)) for p in table_dir.rglob("*.parquet") if "_delta_log" not in p.parts}


def _any_files(table_dir: Path) -> set[str]:
    """Every file outside the log, including files still being written (object_store stages
    a local upload as ``<name>#<n>`` and renames it when complete)."""
    return {str(p.relative_to(table_dir)) for p in table_dir.rglob("*") if p.is_file() and "_delta_log" not in p.parts}


def _live_files(lake: Lake, table: str) -> set[str]:
    from urllib.parse import unquote

    actions = pa.table(DeltaTable(lake.uri(table)).get_add_actions(flatten=True))
    return {unquote(p) for p in actions.column("path").to_pylist()}


def _sorted(t: pa.Table, keys: list[str]) -> pa.Table:
    return t.select(sorted(t.column_names)).sort_by([(k, "ascending") for k in keys])


# -- killed mid-merge -----------------------------------------------------------------------------
N = 300_000


BUCKETS = 256  # a partitioned table: the merge writes many files one after another, so a kill lands mid-merge


def _dim(lo: int, hi: int, tag: str) -> pa.Table:
    ids = pa.array(range(lo, hi), pa.int64())
    return pa.table({"id": ids, "value": pc.binary_join_element_wise(pa.array([tag] * (hi - lo)),
                                                                       pc.cast(ids, pa.string()), "-"),
                     "bucket": pa.array([i % BUCKETS for i in range(lo, hi)], pa.int64())})


MERGE_BODY = f"""
lake = Lake(settings, None)
src = pa.table({{"id": pa.array(range({N // 2}, {N + N // 2}), pa.int64()),
                 "value": pa.array(["new-" + str(i) for i in range({N // 2}, {N + N // 2})]),
                 "bucket": pa.array([i % {BUCKETS} for i in range({N // 2}, {N + N // 2})], pa.int64())}})
print("merging", flush=True)
lake.merge(src, "silver/dim", keys=["id"])
print("merged", flush=True)
"""


def _kill_merge_mid_write(settings, lake: Lake, table_dir: Path, attempts: int = 5) -> tuple[int, pa.Table, set[str]]:
    """Start the merge in a subprocess and SIGKILL it once its first data file exists.

    delta-rs writes the files and commits in one call, so on an idle machine the commit can
    win the race against the kill. Such an attempt proves nothing: the table is rebuilt and
    the kill tried again (a few times; the test fails if no kill ever lands mid-merge).
    Returns the version and contents before the merge and the files the kill left behind.
    """
    for _ in range(attempts):
        if table_dir.exists():
            import shutil

            shutil.rmtree(table_dir)
        lake.merge(_dim(0, N, "old"), "silver/dim", keys=["id"], partition_by=["bucket"])
        v0, before = lake.version("silver/dim"), _sorted(lake.to_arrow("silver/dim"), ["id"])
        files0 = _any_files(table_dir)
        proc = _spawn(settings, MERGE_BODY)
        assert proc.stdout.readline().strip() == "merging", proc.stderr.read()[-3000:]
        _wait_for(lambda: _any_files(table_dir) - files0, proc, "the merge's first data file", poll=0.002)
        _kill(proc)
        if lake.version("silver/dim") == v0:
            return v0, before, _any_files(table_dir) - files0
    raise AssertionError(f"the merge committed before the kill in all {attempts} attempts")


def test_killed_mid_merge_leaves_previous_version_and_rerun_matches_clean_run(settings):
    lake = Lake(settings, None)
    table_dir = Path(settings.lake_root) / "silver" / "dim"
    # kill as soon as the merge has started writing its files (before its commit)
    v0, before, new_files = _kill_merge_mid_write(settings, lake, table_dir)

    # readable, and at the previous version (the commit never happened)
    assert lake.version("silver/dim") == v0
    assert _sorted(lake.to_arrow("silver/dim"), ["id"]).equals(before)
    assert new_files - _live_files(lake, "silver/dim"), "the kill should have left the merge's unfinished files"

    # the re-run gives exactly what a clean run gives
    src = _dim(N // 2, N + N // 2, "new")
    lake.merge(src, "silver/dim", keys=["id"])
    expected = pa.concat_tables([_dim(0, N // 2, "old"), _dim(N // 2, N + N // 2, "new")])
    assert _sorted(lake.to_arrow("silver/dim"), ["id"]).equals(_sorted(expected, ["id"]))
    # running it again changes nothing (no duplicates), and vacuum clears the orphans
    lake.merge(src, "silver/dim", keys=["id"])
    assert lake.to_arrow("silver/dim").num_rows == N + N // 2
    lake.vacuum("silver/dim", retention_hours=0, enforce_retention=False)
    assert _data_files(table_dir) == _live_files(lake, "silver/dim")


# -- killed mid-write (Spark tasks wrote files, the driver never committed) ------------------------------
WRITE_BODY = """
import glob
from pyspark import TaskContext
from pyspark.sql import functions as F
from pipelines.spark import get_spark
spark = get_spark(settings)
table_dir = os.environ["TABLE_DIR"]
before = set(glob.glob(table_dir + "/**/*.parquet", recursive=True))
marker = os.environ["MARKER"]

def stall_second_task(batches):
    ctx = TaskContext.get()
    for b in batches:
        yield b
    if ctx.partitionId() == 1:
        # wait until the first task's writer has put its file on disk, then tell the test and hang
        while not (set(glob.glob(table_dir + "/**/*.parquet", recursive=True)) - before):
            time.sleep(0.05)
        open(marker, "w").write("ready")
        while True:
            time.sleep(1)

df = (spark.range(0, 2000, numPartitions=2)
      .select(F.col("id"), F.concat(F.lit("v-"), F.col("id").cast("string")).alias("value"),
              F.lit("2026-11-02").cast("date").alias("batch_date"))
      .mapInArrow(stall_second_task, "id long, value string, batch_date date"))
Lake(settings, spark).write(df, "bronze/events", mode="overwrite", partition_by=["batch_date"],
                            replace_where="batch_date = '2026-11-02'")
print("committed", flush=True)
"""


def _events(spark, day: str, lo: int, hi: int):
    from pyspark.sql import functions as F

    return spark.range(lo, hi, numPartitions=2).select(
        F.col("id"), F.concat(F.lit("v-"), F.col("id").cast("string")).alias("value"),
        F.lit(day).cast("date").alias("batch_date"))


def test_killed_mid_write_leaves_previous_version_and_rerun_is_idempotent(settings, spark, tmp_path):
    lake = Lake(settings, spark)
    lake.write(_events(spark, "2026-11-01", 0, 500), "bronze/events", mode="overwrite", partition_by=["batch_date"])
    v0 = lake.version("bronze/events")
    before = _sorted(lake.to_arrow("bronze/events"), ["id"])
    table_dir = Path(settings.lake_root) / "bronze" / "events"
    marker = tmp_path / "marker"

    env_body = f"os.environ['TABLE_DIR'] = {str(table_dir)!r}; os.environ['MARKER'] = {str(marker)!r}\n"
    proc = _spawn(settings, env_body + textwrap.dedent(WRITE_BODY))
    _wait_for(marker.exists, proc, "the first task's file")
    _kill(proc)

    assert lake.version("bronze/events") == v0
    assert _sorted(lake.to_arrow("bronze/events"), ["id"]).equals(before)
    assert lake.read("bronze/events").count() == 500
    assert _data_files(table_dir) - _live_files(lake, "bronze/events"), "expected the killed write's orphan file"

    # re-run the partition twice: the result is that of one clean run, no duplicates
    for _ in range(2):
        lake.write(_events(spark, "2026-11-02", 0, 2000), "bronze/events", mode="overwrite",
                   partition_by=["batch_date"], replace_where="batch_date = '2026-11-02'")
    got = lake.to_arrow("bronze/events")
    assert got.num_rows == 2500
    assert pc.count_distinct(pc.binary_join_element_wise(pc.cast(got["id"], pa.string()),
                                                         pc.cast(got["batch_date"], pa.string()), "|")).as_py() == 2500
    clean = Lake(settings, spark)
    clean.write(_events(spark, "2026-11-01", 0, 500), "bronze/events_clean", mode="overwrite",
                partition_by=["batch_date"])
    clean.write(_events(spark, "2026-11-02", 0, 2000), "bronze/events_clean", mode="overwrite",
                partition_by=["batch_date"], replace_where="batch_date = '2026-11-02'")
    assert _sorted(got, ["id", "batch_date"]).equals(_sorted(clean.to_arrow("bronze/events_clean"), ["id", "batch_date"]))
    lake.vacuum("bronze/events", retention_hours=0, enforce_retention=False)
    assert _data_files(table_dir) == _live_files(lake, "bronze/events")


def test_app_transaction_append_twice_gives_no_duplicates(settings, spark):
    lake = Lake(settings, spark)
    for _ in range(2):
        lake.write(_events(spark, "2026-11-03", 0, 100), "bronze/appended", mode="append",
                   partition_by=["batch_date"], app_id="ingest-test", app_version=20261103)
    assert lake.read("bronze/appended").count() == 100


# -- two concurrent runs --------------------------------------------------------------------------------
LOCKED_MERGE = """
from pipelines.locks import run_lock
lake = Lake(settings, None)
name = sys.argv[1] if len(sys.argv) > 1 else os.environ["JOB"]
with run_lock(settings, job=name):
    print("holding", flush=True)
    if os.environ.get("HOLD"):
        while not os.path.exists(os.environ["HOLD"]):
            time.sleep(0.05)
    lo = int(os.environ["LO"])
    lake.merge(pa.table({"id": pa.array(range(lo, lo + 100), pa.int64()),
                         "value": pa.array([name] * 100)}), "silver/shared", keys=["id"])
print("done", flush=True)
"""


def _spawn_job(settings, job: str, lo: int, hold: Path | None = None) -> subprocess.Popen:
    body = f"os.environ['JOB'] = {job!r}; os.environ['LO'] = '{lo}'\n"
    if hold:
        body += f"os.environ['HOLD'] = {str(hold)!r}\n"
    return _spawn(settings, body + LOCKED_MERGE)


def test_concurrent_runs_wait_for_the_lock_and_a_killed_holder_releases_it(settings, tmp_path):
    from pipelines.locks import LakeBusyError, run_lock

    lake = Lake(settings, None)
    lake.merge(pa.table({"id": pa.array([0], pa.int64()), "value": pa.array(["seed"])}), "silver/shared", keys=["id"])
    v0 = lake.version("silver/shared")

    # A takes the lock and hangs; B must wait, then run when A is killed
    a = _spawn_job(settings, "job-a", 0, hold=tmp_path / "never")
    assert a.stdout.readline().strip() == "holding", a.stderr.read()[-3000:]
    b = _spawn_job(settings, "job-b", 50, hold=tmp_path / "go-b")
    _wait_for(lambda: "waits for the lake run lock" in _peek(b), b, "job-b to wait for the lock")
    with pytest.raises(LakeBusyError, match="job-a"):
        with run_lock(settings, job="job-c", timeout=0):
            pass
    _kill(a)  # crashes while holding the lock: the kernel releases it
    assert b.stdout.readline().strip() == "holding"
    (tmp_path / "go-b").write_text("go")
    out, err = b.communicate(timeout=WAIT_SECONDS)
    assert b.returncode == 0 and out.strip() == "done", err[-3000:]

    got = lake.to_arrow("silver/shared").sort_by("id")
    assert lake.version("silver/shared") == v0 + 1  # only B committed
    assert got.num_rows == 101 and got["id"].to_pylist() == [0] + list(range(50, 150))
    assert set(got["value"].to_pylist()) == {"seed", "job-b"}


_peeked: dict[int, str] = {}


def _peek(proc: subprocess.Popen) -> str:
    """What the process has written to stderr so far (non-blocking)."""
    import fcntl

    fd = proc.stderr.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        chunk = b""
    _peeked[proc.pid] = _peeked.get(proc.pid, "") + chunk.decode(errors="replace")
    return _peeked[proc.pid]
