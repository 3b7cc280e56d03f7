"""Landing drop -> bronze Delta tables, the quarantine table and the reconciliation report.

For one source and one drop date, every entity file is read line by line (Spark's text
source, so files of any size are read in parallel), decoded, parsed and typed by
:mod:`transforms.bronze`. Good records replace that day's partition of
``bronze/<source>_<entity>``; rejected lines replace that day's quarantine rows of the
source; ``_reports/reconciliation`` gets one row per entity. After the writes the counts
are read back from the tables: when ``input != written + quarantined`` (or the file's
line count differs from manifest.json) :class:`ReconciliationError` is raised, naming
the entity and the numbers, after the report row (status ``failed``) is written.

Re-running a day replaces that day everywhere, so ingestion is idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.config import Settings
from transforms.dates import as_date as _as_date
from pipelines.landing import landing_fs as _landing_fs
from pipelines.landing import read_manifest
from transforms import bronze as tb

log = logging.getLogger("scim.ingest")

QUARANTINE = "quarantine"
RECONCILIATION = "_reports/reconciliation"
ENCODINGS_AUTO = "auto"

RECONCILIATION_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("entity", T.StringType(), False),
        T.StructField("batch_date", T.DateType(), False),
        T.StructField("source_file", T.StringType(), True),
        T.StructField("encoding", T.StringType(), True),
        T.StructField("input_records", T.LongType(), False),
        T.StructField("manifest_records", T.LongType(), True),
        T.StructField("written_records", T.LongType(), False),
        T.StructField("quarantined_records", T.LongType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("message", T.StringType(), True),
        T.StructField("run_id", T.StringType(), False),
        T.StructField("run_at", T.TimestampType(), False),
    ]
)


class ReconciliationError(RuntimeError):
    """Input lines and written + quarantined records (or the manifest) disagree."""


class IncompleteDropError(RuntimeError):
    """A drop folder exists but has no _SUCCESS marker yet."""


@dataclass
class EntityResult:
    """What ingesting one entity file did."""

    source: str
    entity: str
    table: str
    source_file: str | None
    encoding: str | None
    input_records: int = 0
    manifest_records: int | None = None
    written_records: int = 0
    quarantined_records: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    delta_version: int | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# -- landing access --------------------------------------------------------------------------
def _file_exists(settings: Settings, rel: str) -> bool:
    fs, root = _landing_fs(settings)
    return fs.get_file_info(f"{root}/{rel}").type == pafs.FileType.File


def _dir_exists(settings: Settings, rel: str) -> bool:
    fs, root = _landing_fs(settings)
    return fs.get_file_info(f"{root}/{rel}").type == pafs.FileType.Directory


def read_lines(spark: SparkSession, path: str, size: int | None = None) -> DataFrame:
    """Lines of a landing file as raw bytes with 1-based ``_line_no`` (columns ``_line_no``, ``_bytes``).

    ``size`` (bytes, when known) enables the one-split shortcut: Spark never splits a file
    smaller than both ``spark.sql.files.openCostInBytes`` and ``maxPartitionBytes`` (split
    size = min(maxPartitionBytes, max(openCostInBytes, bytes per core))), so one task reads
    it as one partition whose ``monotonically_increasing_id`` is the line index; larger
    files go through :func:`transforms.bronze.number_lines`.
    """
    raw = spark.read.text(path).select(
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_block_start").alias("_block_start"),
        F.monotonically_increasing_id().alias("_row_id"),
        F.spark_partition_id().alias("_partition"),
        F.col("value").cast("binary").alias("_bytes"),
    )
    never_split = min(_conf_bytes(spark, "spark.sql.files.maxPartitionBytes", "128m"),
                      _conf_bytes(spark, "spark.sql.files.openCostInBytes", "4m"))
    if size is not None and size <= never_split:
        # id = (partition index << 33) + row index in the partition
        line_no = F.col("_row_id") - F.shiftleft(F.col("_partition").cast("long"), 33) + 1
        return raw.withColumn("_line_no", line_no).drop("_block_start", "_row_id", "_partition")
    return tb.number_lines(raw.drop("_partition"))


def _conf_bytes(spark: SparkSession, key: str, default: str) -> int:
    text = str(spark.conf.get(key, default)).strip().lower()
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    for suffix in ("kb", "mb", "gb", "k", "m", "g", "b"):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * units.get(suffix[0], 1))
    return int(text)


def _file_size(settings: Settings, rel: str) -> int | None:
    fs, root = _landing_fs(settings)
    info = fs.get_file_info(f"{root}/{rel}")
    return info.size if info.type == pafs.FileType.File else None


def _read_tail(settings: Settings, rel: str, n: int) -> bytes:
    """The last ``n`` bytes of a (small) landing file."""
    fs, root = _landing_fs(settings)
    with fs.open_input_file(f"{root}/{rel}") as fh:
        size = fh.size()
        fh.seek(max(0, size - n))
        return fh.read()


def read_first_line(settings: Settings, rel: str, limit: int = 1 << 20) -> bytes:
    """The first line of a landing file (driver side; for CSV headers)."""
    fs, root = _landing_fs(settings)
    with fs.open_input_stream(f"{root}/{rel}") as fh:
        head = fh.read(limit)
    return head.split(b"\n", 1)[0].rstrip(b"\r")


def detect_encoding(lines: DataFrame, candidates: tuple[str, ...] = ("utf-8", "gb18030")) -> str:
    """The candidate under which most lines decode strictly (ties go to the first: UTF-8).

    Pure-ASCII files decode under both and count as UTF-8. A GBK file has many lines that
    are invalid UTF-8; a UTF-8 file has Chinese lines that are invalid GB18030 byte runs.
    """
    aggs = [F.sum(tb.valid_in(enc, F.col("_bytes")).cast("long")).alias(f"c{i}") for i, enc in enumerate(candidates)]
    row = lines.agg(*aggs).first()
    counts = [row[f"c{i}"] or 0 for i in range(len(candidates))]
    best = max(range(len(candidates)), key=lambda i: (counts[i], -i))
    return candidates[best]


def _manifest_entry(manifest: dict | None, file_name: str) -> dict | None:
    if not manifest:
        return None
    for entry in manifest.get("files", []):
        if entry.get("name") == file_name:
            return entry
    return None


def crm_encoding_setting(settings: Settings) -> str:
    """Configured CRM CSV encoding (``auto`` = manifest, then detection)."""
    ingest = getattr(settings, "ingest", None)
    return getattr(ingest, "crm_encoding", ENCODINGS_AUTO) or ENCODINGS_AUTO


# -- one entity ----------------------------------------------------------------------------
@dataclass
class _Parsed:
    typed: DataFrame
    encoding: str | None
    header: list[str] | None


def parse_entity_file(
    spark: SparkSession,
    spec: tb.EntitySpec,
    path: str,
    batch_date: dt.date,
    timezone: str,
    encoding: str,
    *,
    size: int | None = None,
    first_line: bytes | None = None,
) -> _Parsed:
    """Read, decode, parse and type one landing file (lazy; the caller persists).

    ``first_line`` (the CSV header's bytes) saves a Spark job when the caller has it.
    """
    lines = read_lines(spark, path, size)
    if spec.format == "csv" and encoding == ENCODINGS_AUTO:
        encoding = detect_encoding(lines)
    elif encoding == ENCODINGS_AUTO:
        encoding = "utf-8"
    decoded = tb.decode_lines(lines, encoding)
    header = None
    if spec.format == "csv":
        if first_line is None:
            row = lines.where(F.col("_line_no") == 1).select("_bytes").first()
            first_line = bytes(row["_bytes"]) if row else b""
        try:
            header = tb.split_csv_header(first_line.decode(encoding)) if first_line else []
        except UnicodeDecodeError:
            raise ValueError(f"{path}: the CSV header is not valid {encoding}; set the CRM encoding explicitly") from None
        missing = [f.name for f in spec.fields if f.required and f.name not in header]
        if missing:
            # every line will be quarantined as missing_required; say why once, loudly
            log.warning("%s: header lacks required column(s) %s", path, ", ".join(missing))
        parsed = tb.parse_csv_lines(decoded.where(F.col("_line_no") > 1), header)
    else:
        parsed = tb.parse_json_lines(decoded)
    typed = tb.type_records(
        parsed, spec, timezone=timezone, future_cutoff=tb.future_cutoff(batch_date, timezone), header=header
    )
    return _Parsed(typed, encoding, header)


def _date_pred(batch_date: dt.date, source: str | None = None) -> str:
    pred = f"batch_date = '{batch_date.isoformat()}'"
    return pred + (f" AND source = '{source}'" if source else "")


def _write_bronze(lake, spec: tb.EntitySpec, rows: DataFrame, batch_date: dt.date) -> int:
    return lake.write(
        rows,
        spec.table,
        mode="overwrite",
        partition_by=["batch_date"],
        replace_where=_date_pred(batch_date),
        description=spec.description + " (bronze: raw values, restricted)",
        schema_mode="merge",
    )


# -- one source ------------------------------------------------------------------------------
def ingest_source(
    settings: Settings,
    spark: SparkSession,
    lake,
    source: str,
    batch_date: dt.date,
    *,
    run_id: str | None = None,
    encoding: str | None = None,
    require_success: bool = True,
) -> dict[str, EntityResult]:
    """Ingest every entity file of one source's drop for ``batch_date``.

    Returns one :class:`EntityResult` per entity. Raises :class:`IncompleteDropError` when
    the drop has no ``_SUCCESS`` marker (and ``require_success``), and
    :class:`ReconciliationError` when counts do not add up.
    """
    day = batch_date.isoformat()
    if require_success and not _file_exists(settings, f"{source}/{day}/_SUCCESS"):
        raise IncompleteDropError(
            f"landing/{source}/{day} has no _SUCCESS marker: the drop is incomplete; wait for it or pass "
            "require_success=False"
        )
    run_id = run_id or uuid.uuid4().hex
    ingested_at = dt.datetime.now(dt.timezone.utc)
    manifest = read_manifest(settings, source, day)
    specs = [s for s in tb.SPECS.values() if s.source == source]
    results: dict[str, EntityResult] = {}
    quarantines: list[DataFrame] = []
    cached: list[DataFrame] = []
    try:
        for spec in specs:
            started = time.monotonic()
            rel = f"{source}/{day}/{spec.file}"
            entry = _manifest_entry(manifest, spec.file)
            result = EntityResult(source, spec.entity, spec.table, f"landing/{rel}", None,
                                  manifest_records=None if entry is None else int(entry.get("records", 0)))
            results[spec.entity] = result
            size = _file_size(settings, rel)
            if size is None and entry is not None:
                raise ReconciliationError(
                    f"{source}/{spec.entity} {day}: manifest lists {spec.file} ({entry.get('records')} records) "
                    f"but landing/{rel} does not exist"
                )
            first_line = read_first_line(settings, rel) if size and spec.format == "csv" else None
            # no data lines: a missing file, an empty file, or a CSV holding only its header
            no_data = size is None or size == 0 or (
                first_line is not None and size <= len(first_line) + 2
                and _read_tail(settings, rel, size - len(first_line)) in (b"", b"\n", b"\r\n"))
            enc = encoding or (crm_encoding_setting(settings) if spec.format == "csv" else "utf-8")
            if enc == ENCODINGS_AUTO and entry and entry.get("encoding"):
                enc = entry["encoding"]
            if no_data:
                result.encoding = None if enc == ENCODINGS_AUTO else enc
                if size is None:
                    result.source_file = None
                if lake.exists(spec.table):
                    # a re-ingested day whose file disappeared or emptied: clear that day, keep no stale rows
                    empty = spark.createDataFrame([], tb.bronze_schema(spec))
                    result.delta_version = _write_bronze(lake, spec, empty, batch_date)
                result.seconds = time.monotonic() - started
                continue
            parsed = parse_entity_file(
                spark, spec, settings.lake_path("landing", rel), batch_date, settings.timezone, enc,
                size=size, first_line=first_line,
            )
            result.encoding = parsed.encoding
            typed = parsed.typed.withColumn("_source_file", F.lit(f"landing/{rel}"))
            typed = typed.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(typed)
            # one pass for the input count and the reason histogram
            counts = typed.groupBy(F.col("_error.code").alias("code")).count().collect()
            result.input_records = sum(r["count"] for r in counts)
            result.reasons = {r["code"]: r["count"] for r in counts if r["code"] is not None}
            bronze = tb.bronze_rows(typed, spec, batch_date, run_id, ingested_at)
            result.delta_version = _write_bronze(lake, spec, bronze, batch_date)
            quarantines.append(tb.quarantine_rows(typed, spec, batch_date, run_id, ingested_at))
            result.seconds = time.monotonic() - started
        _write_quarantine(spark, lake, source, batch_date, quarantines)
    finally:
        for frame in cached:
            frame.unpersist()
    _reconcile(settings, spark, lake, source, batch_date, results, run_id)
    return results


def _write_quarantine(spark, lake, source: str, batch_date: dt.date, frames: list[DataFrame]) -> int | None:
    if not frames and not lake.exists(QUARANTINE):
        return None
    union = spark.createDataFrame([], tb.QUARANTINE_SCHEMA)
    for frame in frames:
        union = union.unionByName(frame)
    return lake.write(
        union,
        QUARANTINE,
        mode="overwrite",
        partition_by=["batch_date", "source"],
        replace_where=_date_pred(batch_date, source),
        description="every landing record ingestion rejected, with its reason; restricted (raw payloads)",
        schema_mode="merge",
    )


def _day(batch_date: dt.date):
    return pc.field("batch_date") == pa.scalar(batch_date, pa.date32())


def _reconcile(settings, spark, lake, source, batch_date, results, run_id) -> None:
    """Read written and quarantined counts back, write the report, raise on a mismatch."""
    day = batch_date.isoformat()
    quarantined: dict[str, int] = {}
    if lake.exists(QUARANTINE):
        # driver-side reads of the committed tables (delta-rs): cheap, and independent of the DataFrames written
        entities = lake.to_arrow(QUARANTINE, columns=["entity"],
                                 filter=(_day(batch_date) & (pc.field("source") == source))).column("entity")
        counts = pc.value_counts(entities)
        quarantined = dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()))
    problems = []
    report = []
    run_at = dt.datetime.now(dt.timezone.utc)
    for entity, r in results.items():
        r.written_records = (
            lake.to_arrow(r.table, columns=["batch_date"], filter=_day(batch_date)).num_rows
            if lake.exists(r.table) else 0
        )
        r.quarantined_records = quarantined.get(entity, 0)
        issues = []
        if r.input_records != r.written_records + r.quarantined_records:
            issues.append(
                f"input {r.input_records} != written {r.written_records} + quarantined {r.quarantined_records}"
            )
        if r.manifest_records is not None and r.manifest_records != r.input_records:
            issues.append(f"manifest.json says {r.manifest_records} records, the file has {r.input_records}")
        message = "; ".join(issues) or None
        if issues:
            problems.append(f"{source}/{entity} {day}: {message}")
        report.append((source, entity, batch_date, r.source_file, r.encoding, r.input_records, r.manifest_records,
                       r.written_records, r.quarantined_records, "failed" if issues else "ok", message, run_id,
                       run_at))
        log.info(
            "ingest %s/%s %s: input=%d written=%d quarantined=%d encoding=%s reasons=%s (%.1fs)",
            source, entity, day, r.input_records, r.written_records, r.quarantined_records, r.encoding,
            r.reasons or {}, r.seconds,
        )
    lake.write(
        spark.createDataFrame(report, RECONCILIATION_SCHEMA),
        RECONCILIATION,
        mode="overwrite",
        partition_by=["batch_date", "source"],
        replace_where=_date_pred(batch_date, source),
        description="one row per source entity and drop date: input vs written + quarantined records",
        schema_mode="merge",
    )
    if problems:
        raise ReconciliationError("reconciliation failed: " + " | ".join(problems))


def ingest_bronze(
    settings: Settings,
    spark: SparkSession,
    date: str | dt.date,
    *,
    sources: tuple[str, ...] = ("weibo", "wechat", "crm"),
    run_id: str | None = None,
    require_success: bool = True,
    lake=None,
) -> dict[str, dict]:
    """Ingest every source's drop for ``date`` into bronze, quarantine and the report.

    Returns ``{"<source>_<entity>": EntityResult.as_dict()}``; sources without a drop
    folder that day are skipped (logged). Raises on an incomplete drop or a failed
    reconciliation (see :func:`ingest_source`).
    """
    from lake_io import Lake

    batch_date = _as_date(date)
    lake = lake or Lake(settings, spark)
    run_id = run_id or uuid.uuid4().hex
    out: dict[str, dict] = {}
    for source in sources:
        if not _dir_exists(settings, f"{source}/{batch_date.isoformat()}"):
            log.info("ingest %s %s: no drop folder, skipped", source, batch_date)
            continue
        for entity, result in ingest_source(settings, spark, lake, source, batch_date, run_id=run_id,
                                            require_success=require_success).items():
            out[f"{source}_{entity}"] = result.as_dict()
    return out
