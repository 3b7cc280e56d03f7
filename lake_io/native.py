"""Delta data files written by Spark's own Parquet writer, committed by delta-rs.

The default way ``Lake.write`` writes data files on a classic (non-Connect) Spark session
with the lake on a local or mounted file system. The Python Data Source
(:mod:`lake_io.datasource`) makes the JVM convert every row to Arrow and stream it to a
Python worker, which costs about as much CPU as Spark's whole Parquet encode (docs/lake.md,
"Where the time goes"). Here the tasks run Spark's native Parquet writer instead:

1. ``df`` is conformed to the table schema (column order, casts, missing columns as nulls)
   and written with ``df.write.parquet`` (Hive-style partition directories, partition
   columns not in the files, as Delta expects) into ``<table>/_scim_staging/<write id>/``.
   Timestamps go out as ``TIMESTAMP_MICROS`` (UTC-adjusted), which Delta requires; the
   session's ``spark.sql.parquet.outputTimestampType`` is set to that when it is not.
2. The driver lists the staged files, reads each footer for the Delta statistics
   (:func:`lake_io._stats.file_stats`, the same code the Data Source tasks use), moves the
   files to their partition directories under names carrying the write id, and commits
   ONE Delta transaction with :func:`lake_io.datasource.commit_write`.
3. Any failure before the commit deletes the moved files and the staging directory
   (:func:`lake_io.datasource.abort_write`); the table stays at its previous version.

:func:`unusable_reason` says when this path cannot be used; ``Lake.write`` then falls
back to the Data Source, which works wherever Spark's Python workers can reach the lake.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq

from lake_io import _partitions as parts
from lake_io._stats import _leaves
from lake_io.datasource import abort_write, add_entry, commit_write, decode_schema, filesystem

log = logging.getLogger("lake_io")

STAGING_DIR = "_scim_staging"
TIMESTAMP_CONF = "spark.sql.parquet.outputTimestampType"
_SPARK_NAME = re.compile(r"^part-(\d+)-[0-9a-fA-F-]{36}(.*)$")


def unusable_reason(spark: Any, uri: str, lake_is_local: bool, partition_types: dict[str, Any]) -> str | None:
    """Why Spark's Parquet writer cannot write this table's data files here, or None.

    ``lake_is_local``: the settings' judgement of the lake root (``Settings.lake_is_local``).
    """
    if getattr(spark, "_jsparkSession", None) is None:
        return "Spark Connect session (the driver cannot see the files the server writes)"
    if not lake_is_local:
        return f"lake URI {uri} is not a local or mounted path (Spark and delta-rs name object stores differently)"
    timestamps = [c for c, t in partition_types.items() if str(t) == "timestamp"]
    if timestamps:
        return f"timestamp partition column(s) {timestamps} (Spark names their directories in the session zone)"
    if str(spark.conf.get("spark.sql.parquet.writeLegacyFormat", "false")).lower() == "true":
        return "spark.sql.parquet.writeLegacyFormat is true (legacy decimals and lists)"
    return None


def _conformed(df: Any, plan: dict[str, Any]) -> Any:
    """``df`` with the table's columns in file order (data columns, then partition columns)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    target = StructType.fromJson(json.loads(plan["delta_schema"]))
    part_cols = plan["partition_by"]
    have = {f.name: f.dataType for f in df.schema.fields}
    fields = [f for f in target.fields if f.name not in part_cols] + [target[c] for c in part_cols]
    cols = []
    for f in fields:
        if f.name in have:
            c = F.col(f"`{f.name}`")
            if have[f.name] != f.dataType:
                c = c.cast(f.dataType)
        else:
            c = F.lit(None).cast(f.dataType)
        cols.append(c.alias(f.name))
    return df.select(*cols)


def _partition_values(rel_dir: str, part_cols: list[str], path: str) -> dict[str, str | None]:
    """Delta-log partition values of a file from its Hive-style directory under the staging root."""
    pieces = [p for p in rel_dir.split("/") if p]
    if len(pieces) != len(part_cols):
        raise RuntimeError(f"staged file {path} is not under {len(part_cols)} partition directories {part_cols}")
    values: dict[str, str | None] = {}
    for col, piece in zip(part_cols, pieces):
        name, sep, raw = piece.partition("=")
        if not sep or unquote(name) != col:
            raise RuntimeError(f"staged file {path}: directory {piece!r} is not a partition of column {col}")
        values[col] = None if raw == parts.HIVE_NULL else unquote(raw)
    return values


def write(spark: Any, df: Any, plan: dict[str, Any]) -> None:
    """Write ``df``'s data files with Spark's Parquet writer and commit them as ``plan`` says.

    ``plan`` is the one ``Lake.write`` builds for the Data Source; the commit carries its
    write id, so the caller finds its version the same way.
    """
    from pyarrow import fs as pafs

    uri, write_id = plan["uri"], plan["write_id"]
    part_cols: list[str] = plan["partition_by"]
    target = decode_schema(plan["arrow_schema"])
    data_schema = pa.schema([f for f in target if f.name not in part_cols])
    leaves = sum(1 for f in data_schema for _ in _leaves(f.type, (f.name,), f.name))
    fs, root = filesystem(uri)
    staging = f"{root}/{STAGING_DIR}/{write_id}"
    if str(spark.conf.get(TIMESTAMP_CONF, "INT96")).upper() != "TIMESTAMP_MICROS":
        # Delta stores timestamps as INT64 microseconds; Spark's default INT96 is not allowed.
        log.info("setting %s=TIMESTAMP_MICROS on the session (Delta data files need it)", TIMESTAMP_CONF)
        spark.conf.set(TIMESTAMP_CONF, "TIMESTAMP_MICROS")
    moved: set[str] = set()
    try:
        writer = _conformed(df, plan).write.mode("errorifexists").option("compression", plan.get("compression", "snappy"))
        if plan.get("max_rows_per_file"):
            writer = writer.option("maxRecordsPerFile", int(plan["max_rows_per_file"]))
        if part_cols:
            writer = writer.partitionBy(*part_cols)
        writer.parquet(staging)

        infos = fs.get_file_info(pafs.FileSelector(staging, recursive=True))
        staged = sorted(
            i.path for i in infos
            if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
            and not i.base_name.startswith((".", "_")) and "/_temporary" not in i.path
        )
        adds: list[dict[str, Any]] = []
        for n, path in enumerate(staged):
            rel = path[len(staging) + 1:]
            rel_dir, _, base = rel.rpartition("/")
            values = _partition_values(rel_dir, part_cols, path)
            with fs.open_input_file(path) as f:
                metadata = pq.ParquetFile(f).metadata
            if metadata.num_rows == 0:
                continue  # Spark writes an empty file for an empty partition-less write
            if metadata.num_columns != leaves:
                raise RuntimeError(f"staged file {path} has {metadata.num_columns} Parquet columns, the table {leaves}")
            m = _SPARK_NAME.match(base)
            name = f"part-{m.group(1)}-{write_id}-{n:04d}{m.group(2)}" if m else f"part-{n:05d}-{write_id}.parquet"
            final_rel = f"{parts.partition_dir(part_cols, values)}/{name}" if part_cols else name
            final = f"{root}/{final_rel}"
            if part_cols:
                fs.create_dir(final.rpartition("/")[0], recursive=True)
            fs.move(path, final)
            moved.add(final)
            adds.append(add_entry(final_rel, fs.get_file_info(final).size, values, metadata, data_schema))
        commit_write({**plan, "data_files": "spark-parquet"}, adds, sum(a["rows"] for a in adds))
    except BaseException:
        abort_write(plan, moved)
        raise
    finally:
        try:
            fs.delete_dir(staging)
        except Exception:
            pass


def stale_staging(uri: str, older_than_hours: float) -> list[str]:
    """Staging directories of writes that never finished (the driver died), older than the limit."""
    from pyarrow import fs as pafs

    fs, root = filesystem(uri)
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{root}/{STAGING_DIR}", allow_not_found=True))
    except Exception:
        return []
    cutoff = time.time() - older_than_hours * 3600
    return [i.path for i in infos if i.type == pafs.FileType.Directory and i.mtime is not None
            and i.mtime.timestamp() < cutoff]
