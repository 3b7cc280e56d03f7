"""Incremental CRM extraction from PostgreSQL over JDBC into the same bronze tables as the CSV path.

For each CRM table and drop date ``D`` the extraction window is

    low  = the high watermark of the latest earlier extraction (``_state/jdbc_watermarks``), or none
    high = the largest ``updated_at`` below the end of ``D`` (local time, as the CRM stores it)

and the rows with ``low < updated_at <= high`` are read in parallel: Spark's JDBC source
splits the window on ``updated_at`` (``partitionColumn``/``lowerBound``/``upperBound``/
``numPartitions``). Rows are validated by the same rules as CSV lines
(:mod:`transforms.bronze`), so the reason codes and the bronze shape are identical;
``_source_file`` is ``jdbc:<schema>.<table>`` and ``_line_no`` is null. Quarantine and
reconciliation rows use the source name ``crm_jdbc``.

The window of a day is recorded with the day, so re-running a day re-reads the same window
(idempotent, like the file path); the next day starts where the previous one ended. As with
every ``updated_at`` watermark, a row committed later with an older ``updated_at`` is missed:
the CRM must set ``updated_at`` at commit time.

Credentials come from the environment: ``SCIM_CRM_JDBC_URL`` (``jdbc:postgresql://host:port/db``),
``SCIM_CRM_JDBC_USER``, ``SCIM_CRM_JDBC_PASSWORD``. The PostgreSQL driver jar
(Debian: ``/usr/share/java/postgresql.jar``) must be on ``spark.jars``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
import uuid
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.config import ConfigError, Settings
from transforms.dates import as_date as _as_date
from pipelines.ingest.bronze import EntityResult, _reconcile, _write_bronze, _write_quarantine
from transforms import bronze as tb

log = logging.getLogger("scim.ingest")

JDBC_SOURCE = "crm_jdbc"
WATERMARKS = "_state/jdbc_watermarks"
DRIVER = "org.postgresql.Driver"
DEFAULT_JAR = "/usr/share/java/postgresql.jar"
TABLES = ("customers", "orders", "points", "communications", "campaigns")

WATERMARK_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("table", T.StringType(), False),
        T.StructField("batch_date", T.DateType(), False),
        T.StructField("low_watermark", T.StringType(), True),
        T.StructField("high_watermark", T.StringType(), True),
        T.StructField("rows", T.LongType(), False),
        T.StructField("run_id", T.StringType(), False),
        T.StructField("run_at", T.TimestampType(), False),
    ]
)


@dataclass(frozen=True)
class JdbcConfig:
    """Where and as whom to connect; ``password`` is never logged."""

    url: str
    user: str | None = None
    password: str | None = None
    schema: str = "crm"
    num_partitions: int = 4
    fetch_size: int = 10_000

    def options(self) -> dict[str, str]:
        opts = {"url": self.url, "driver": DRIVER, "fetchsize": str(self.fetch_size)}
        if self.user:
            opts["user"] = self.user
        if self.password:
            opts["password"] = self.password
        return opts


def jdbc_config_from_env(environ=None, **overrides) -> JdbcConfig:
    """``JdbcConfig`` from SCIM_CRM_JDBC_URL / _USER / _PASSWORD; ConfigError naming what is missing."""
    environ = os.environ if environ is None else environ
    url = environ.get("SCIM_CRM_JDBC_URL")
    if not url:
        raise ConfigError("SCIM_CRM_JDBC_URL is not set: export it as jdbc:postgresql://HOST:PORT/DB "
                          "(with SCIM_CRM_JDBC_USER and SCIM_CRM_JDBC_PASSWORD)")
    if not url.startswith("jdbc:postgresql:"):
        raise ConfigError(f"SCIM_CRM_JDBC_URL must start with jdbc:postgresql: (got {url.split('?')[0][:40]!r})")
    return JdbcConfig(url=url, user=environ.get("SCIM_CRM_JDBC_USER"),
                      password=environ.get("SCIM_CRM_JDBC_PASSWORD"), **overrides)


def _reader(spark: SparkSession, cfg: JdbcConfig):
    reader = spark.read.format("jdbc")
    for key, value in cfg.options().items():
        reader = reader.option(key, value)
    return reader


def _bounds(spark: SparkSession, cfg: JdbcConfig, qualified: str, where: str):
    """Row(n, lo, hi) of the window; lo/hi as wall-clock text formatted by Spark (session time zone),
    never through Python datetimes (which would shift by the driver's local zone)."""
    sql = f"SELECT count(*) AS n, min(updated_at) AS lo, max(updated_at) AS hi FROM {qualified} WHERE {where}"
    fmt = "yyyy-MM-dd HH:mm:ss.SSSSSS"
    try:
        frame = _reader(spark, cfg).option("query", sql).load()
        return frame.select(F.col("n").cast("long").alias("n"), F.date_format("lo", fmt).alias("lo"),
                            F.date_format("hi", fmt).alias("hi")).collect()[0]
    except Exception as exc:  # py4j wraps ClassNotFound / connection errors: add the fix
        text = str(exc)
        if "org.postgresql.Driver" in text or "No suitable driver" in text:
            raise RuntimeError(
                f"the PostgreSQL JDBC driver is not on Spark's classpath: install libpostgresql-jdbc-java and add "
                f"{DEFAULT_JAR} to spark.jars (settings.spark.conf)"
            ) from exc
        raise


def _ts_literal(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def previous_watermark(lake, table: str, batch_date: dt.date) -> str | None:
    """High watermark of the latest extraction of ``table`` for a day before ``batch_date``."""
    if not lake.exists(WATERMARKS):
        return None
    marks = lake.to_arrow(
        WATERMARKS, columns=["batch_date", "high_watermark"],
        filter=(pc.field("source") == JDBC_SOURCE) & (pc.field("table") == table)
        & (pc.field("batch_date") < pa.scalar(batch_date, pa.date32())),
    ).to_pylist()
    marks = [m for m in marks if m["high_watermark"] is not None]
    return max(marks, key=lambda m: m["batch_date"])["high_watermark"] if marks else None


def _to_lines(frame: DataFrame, spec: tb.EntitySpec, source_file: str) -> DataFrame:
    """JDBC rows -> the ``_map``/``_text`` shape the line validators expect (values as CSV-like text)."""
    cols = []
    for field in frame.schema.fields:
        c = F.col(field.name)
        if isinstance(field.dataType, T.TimestampType):
            text = F.date_format(c, "yyyy-MM-dd HH:mm:ss")
        elif isinstance(field.dataType, T.DateType):
            text = F.date_format(c, "yyyy-MM-dd")
        else:
            text = c.cast("string")
        cols.append((field.name, text))
    as_map = F.map_from_arrays(F.array(*[F.lit(n) for n, _ in cols]), F.array(*[t for _, t in cols]))
    return frame.select(
        F.lit(source_file).alias("_source_file"),
        F.lit(None).cast("long").alias("_line_no"),
        F.to_json(F.struct(*[t.alias(n) for n, t in cols])).alias("_text"),
        F.lit(True).alias("_encoding_ok"),
        F.lit(len(spec.fields)).alias("_csv_fields"),
        F.map_filter(as_map, lambda k, v: v.isNotNull()).alias("_map"),
    )


def extract_jdbc(
    settings: Settings,
    spark: SparkSession,
    date: str | dt.date,
    *,
    tables: tuple[str, ...] = TABLES,
    config: JdbcConfig | None = None,
    lake=None,
    run_id: str | None = None,
) -> dict[str, dict]:
    """Extract the rows changed up to the end of ``date`` from the CRM database into bronze.

    Returns ``{"crm_<table>": EntityResult.as_dict() + low/high watermark}``. Writes bronze
    (replacing the day), quarantine and reconciliation (source ``crm_jdbc``) and the
    watermarks; raises ReconciliationError like the file path.
    """
    from lake_io import Lake

    cfg = config or jdbc_config_from_env()
    lake = lake or Lake(settings, spark)
    batch_date = _as_date(date)
    run_id = run_id or uuid.uuid4().hex
    ingested_at = dt.datetime.now(dt.timezone.utc)
    day_end = dt.datetime.combine(batch_date + dt.timedelta(days=1), dt.time(0))  # local wall-clock
    results: dict[str, EntityResult] = {}
    marks, quarantines, cached = [], [], []
    try:
        for table in tables:
            started = time.monotonic()
            spec = tb.SPECS[f"crm_{table}"]
            qualified = f"{cfg.schema}.{table}"
            low = previous_watermark(lake, table, batch_date)
            where = f"updated_at < TIMESTAMP '{_ts_literal(day_end)}'"
            if low:
                where += f" AND updated_at > TIMESTAMP '{low}'"
            bounds = _bounds(spark, cfg, qualified, where)
            result = EntityResult(JDBC_SOURCE, table, spec.table, f"jdbc:{qualified}", None)
            results[table] = result
            high = bounds["hi"] if bounds["hi"] is not None else low
            if bounds["n"]:
                frame = (
                    _reader(spark, cfg)
                    .option("dbtable", f"(SELECT * FROM {qualified} WHERE {where}) AS src")
                    .option("partitionColumn", "updated_at")
                    .option("lowerBound", bounds["lo"])
                    .option("upperBound", bounds["hi"])
                    .option("numPartitions", str(max(1, min(cfg.num_partitions, int(bounds["n"])))))
                    .load()
                )
                lines = _to_lines(frame, spec, f"jdbc:{qualified}")
                typed = tb.type_records(lines, spec, timezone=settings.timezone,
                                        future_cutoff=tb.future_cutoff(batch_date, settings.timezone),
                                        header=spec.field_names)
                typed = typed.persist(StorageLevel.MEMORY_AND_DISK)
                cached.append(typed)
                counts = typed.groupBy(F.col("_error.code").alias("code")).count().collect()
                result.input_records = sum(r["count"] for r in counts)
                result.reasons = {r["code"]: r["count"] for r in counts if r["code"] is not None}
                bronze = tb.bronze_rows(typed, spec, batch_date, run_id, ingested_at)
                quarantines.append(tb.quarantine_rows(typed, spec, batch_date, run_id, ingested_at)
                                   .withColumn("source", F.lit(JDBC_SOURCE)))
            else:
                bronze = spark.createDataFrame([], tb.bronze_schema(spec))
            if bounds["n"] or lake.exists(spec.table):
                result.delta_version = _write_bronze(lake, spec, bronze, batch_date)
            result.seconds = time.monotonic() - started
            marks.append((JDBC_SOURCE, table, batch_date, low, high, int(bounds["n"]), run_id, ingested_at))
            log.info("jdbc %s %s: window (%s, %s] rows=%d (%.1fs)", qualified, batch_date, low, high,
                     int(bounds["n"]), result.seconds)
        _write_quarantine(spark, lake, JDBC_SOURCE, batch_date, quarantines)
    finally:
        for frame in cached:
            frame.unpersist()
    _reconcile(settings, spark, lake, JDBC_SOURCE, batch_date, results, run_id)
    # watermarks last: a failed run leaves them where they were, so the next run re-reads the window
    lake.write(
        spark.createDataFrame(marks, WATERMARK_SCHEMA),
        WATERMARKS,
        mode="overwrite",
        partition_by=["source", "batch_date"],
        replace_where=f"source = '{JDBC_SOURCE}' AND batch_date = '{batch_date.isoformat()}'",
        description="JDBC extraction windows (updated_at watermarks) per source table and drop date",
    )
    out = {}
    for (table, result), mark in zip(results.items(), marks):
        out[f"crm_{table}"] = {**result.as_dict(), "low_watermark": mark[3], "high_watermark": mark[4]}
    return out
