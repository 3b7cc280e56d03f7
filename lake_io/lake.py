"""The :class:`Lake`: every read, write and maintenance call of the project on Delta tables.

Default backend (``settings.delta_writer == "deltars"``): Spark's tasks write the Parquet
data files (by default with Spark's own Parquet writer, :mod:`lake_io.native`; else through
the ``scim_delta`` Python Data Source) and the driver commits one Delta transaction with
deltalake; MERGE, DELETE, history, comments and maintenance run with
deltalake on the driver. ``Lake(settings, spark)`` returns :class:`lake_io.delta_spark.DeltaSparkLake`
instead when ``settings.delta_writer == "delta-spark"``.

Table names are lake-relative paths ("silver/orders"); ``uri(name)`` maps them to the lake.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Mapping

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable

from lake_io import datasource as ds
from lake_io import native
from lake_io._partitions import Predicate, UnsupportedPredicate
from lake_io._schema import (
    LakeSchemaError,
    arrow_from_delta,
    arrow_schema_from_spark,
    comments_of,
    delta_schema,
    normalise_schema,
    reconcile,
    schema_fields,
)

log = logging.getLogger("lake_io")

_PARTITION_TYPES = {"string", "date", "timestamp", "boolean", "byte", "short", "integer", "long"}


class LakeError(RuntimeError):
    """A lake operation could not be done; the message names the table and the fix."""


class Lake:
    """Delta tables of one lake (root ``settings.lake_root``).

    ``spark`` may be None for driver-only work (to_arrow, merge of Arrow data, maintenance);
    ``write`` and ``read`` need it.
    """

    def __new__(cls, settings: Any, spark: Any = None) -> "Lake":
        if cls is Lake and getattr(settings, "delta_writer", "deltars") == "delta-spark":
            from lake_io.delta_spark import DeltaSparkLake

            return super().__new__(DeltaSparkLake)
        return super().__new__(cls)

    def __init__(self, settings: Any, spark: Any = None):
        self.settings = settings
        self.spark = spark
        self.backend = "deltars"

    # -- naming -------------------------------------------------------------------------------
    def uri(self, table: str) -> str:
        """URI (or local path) of ``table`` below the lake root. Touches nothing."""
        if not table or table.strip("/") == "" or ".." in table.split("/"):
            raise LakeError(f"invalid table name {table!r}: use a lake-relative path such as 'silver/orders'")
        return self.settings.lake_path(table)

    def exists(self, table: str) -> bool:
        """True when ``table`` is a Delta table (has a ``_delta_log``). Reads only."""
        return DeltaTable.is_deltatable(self.uri(table))

    def _table(self, table: str, version: int | None = None) -> DeltaTable:
        uri = self.uri(table)
        if not DeltaTable.is_deltatable(uri):
            raise LakeError(f"table {table} does not exist at {uri}; write it first")
        return DeltaTable(uri, version=version) if version is not None else DeltaTable(uri)

    def _need_spark(self, what: str) -> Any:
        if self.spark is None:
            raise LakeError(f"Lake.{what} needs a Spark session: build the Lake with Lake(settings, spark)")
        return self.spark

    def _register(self) -> None:
        # Registered on every call: a Spark job started from another Python thread does not
        # always see a registration made in the first one (and registering is cheap).
        spark = self._need_spark("read/write")
        ds.register(spark)
        # The JVM looks Python data sources up in the thread's active session, which a new
        # Python thread (pinned to a new JVM thread) does not have: set it (classic Spark only).
        jss, jvm = getattr(spark, "_jsparkSession", None), getattr(spark, "_jvm", None)
        if jss is not None and jvm is not None:
            jvm.org.apache.spark.sql.SparkSession.setActiveSession(jss)

    # -- writing ------------------------------------------------------------------------------
    def write(
        self,
        df: Any,
        table: str,
        mode: str = "append",
        partition_by: list[str] | None = None,
        replace_where: str | None = None,
        description: str | None = None,
        column_comments: Mapping[str, str] | None = None,
        schema_mode: str | None = None,
        *,
        app_id: str | None = None,
        app_version: int | None = None,
        max_rows_per_file: int | None = None,
        compression: str = "snappy",
    ) -> int:
        """Write a Spark DataFrame to ``table``; returns the committed Delta version.

        Writes: Parquet files from every Spark task (Hive-style partition directories,
        per-file statistics), then ONE Delta commit on the driver when all tasks succeeded.
        Modes: ``append``; ``overwrite`` (replaces the table's data); ``overwrite`` with
        ``replace_where`` on partition columns (removes only the files of the matching
        partitions, in the same commit; the data must lie inside the predicate). A
        predicate on other columns raises :class:`UnsupportedPredicate` before any work.
        Creates the table (with ``description`` and ``column_comments``) when missing; on
        an existing table new comments are set in one extra metadata commit after the data
        commit (only when they change). ``schema_mode="merge"`` adds new columns.
        ``app_id``/``app_version`` record a Delta app transaction: a rerun with a version
        at or below the recorded one is skipped and returns the current version.

        Failure halfway: a failed task deletes its files and Spark aborts the job; the
        abort deletes every file of this write; the table stays at its previous version.
        If the driver dies between task completion and commit, unreferenced files may
        remain; ``vacuum`` removes them. The optional metadata commit, if it fails, leaves
        the data committed and the old comments.
        """
        t0 = time.monotonic()
        self._register()
        if mode not in ("append", "overwrite"):
            raise LakeError(f"write to {table}: mode must be 'append' or 'overwrite', not {mode!r}")
        if replace_where and mode != "overwrite":
            raise LakeError(f"write to {table}: replace_where needs mode='overwrite'")
        if schema_mode not in (None, "merge", "overwrite"):
            raise LakeError(f"write to {table}: schema_mode must be None, 'merge' or 'overwrite'")
        if (app_id is None) != (app_version is None):
            raise LakeError(f"write to {table}: pass both app_id and app_version, or neither")
        uri = self.uri(table)
        data_arrow = arrow_schema_from_spark(df.schema)
        exists = DeltaTable.is_deltatable(uri)
        pending_comments: dict[str, str] = {}
        if exists:
            current = DeltaTable(uri)
            if app_id is not None and ds.txn_done(current, app_id, app_version):
                log.info("lake write table=%s skipped: app transaction %s v%s already committed", table, app_id, app_version)
                return current.version()
            part_cols = list(current.metadata().partition_columns)
            if partition_by is not None and list(partition_by) != part_cols:
                raise LakeError(
                    f"write to {table}: table is partitioned by {part_cols}, not {list(partition_by)}; "
                    f"pass partition_by={part_cols} (repartitioning a table needs a rewrite to a new table)"
                )
            if mode == "overwrite" and not replace_where and schema_mode == "overwrite":
                keep = {**comments_of(current.schema()), **dict(column_comments or {})}
                final = delta_schema(data_arrow, {k: v for k, v in keep.items() if k in data_arrow.names})
            else:
                final, _new = reconcile(current.schema(), delta_schema(data_arrow), table, schema_mode)
            have = comments_of(final)
            names = {f["name"] for f in schema_fields(final)}
            unknown = sorted(set(column_comments or {}) - names)
            if unknown:
                raise LakeSchemaError(f"table {table}: column_comments name unknown columns {unknown}")
            pending_comments = {k: v for k, v in (column_comments or {}).items() if have.get(k) != v}
        else:
            part_cols = list(partition_by or [])
            final = delta_schema(data_arrow, column_comments)
        fields = {f["name"]: f["type"] for f in schema_fields(final)}
        for c in part_cols:
            if c not in data_arrow.names:
                raise LakeSchemaError(f"write to {table}: partition column {c} is not in the DataFrame")
            if str(fields[c]) not in _PARTITION_TYPES:
                raise LakeSchemaError(f"write to {table}: partition column {c} has type {fields[c]}, which cannot partition")
        partition_types = {c: fields[c] for c in part_cols}
        if replace_where:
            Predicate(replace_where, partition_types)  # raises UnsupportedPredicate early, before any work
        write_id = uuid.uuid4().hex[:16]
        plan = {
            "uri": uri,
            "table": table,
            "write_id": write_id,
            "mode": mode,
            "partition_by": part_cols,
            "partition_types": partition_types,
            "replace_where": replace_where,
            "delta_schema": final.to_json(),
            "arrow_schema": ds.encode_schema(arrow_from_delta(final)),
            "description": description,
            "app_transaction": [app_id, int(app_version)] if app_id is not None else None,
            "max_rows_per_file": max_rows_per_file or 0,
            "compression": compression,
        }
        data_files = getattr(self.settings, "delta_data_files", "spark-parquet")
        if data_files == "spark-parquet":
            reason = native.unusable_reason(self._need_spark("write"), uri, self.settings.lake_is_local, partition_types)
            if reason is not None:
                log.info("lake write table=%s: data files through the Data Source: %s", table, reason)
                data_files = "datasource"
        try:
            if data_files == "spark-parquet":
                native.write(self.spark, df, plan)
            else:
                df.write.format(ds.FORMAT).mode("append").option("plan", json.dumps(plan)).save()
        except Exception:
            # A concurrent run committed the same app transaction first: ours was aborted.
            if app_id is not None and DeltaTable.is_deltatable(uri) and ds.txn_done(DeltaTable(uri), app_id, app_version):
                log.info("lake write table=%s skipped: app transaction %s v%s committed concurrently", table, app_id, app_version)
                return DeltaTable(uri).version()
            raise
        entry = ds.find_commit(uri, write_id)
        if entry is None:
            raise LakeError(f"write to {table}: Spark reported success but commit {write_id} is not in the Delta log")
        version = int(entry["version"])
        if exists and (pending_comments or (description is not None and description != DeltaTable(uri).metadata().description)):
            version = self.set_comments(table, description=description, column_comments=pending_comments or None)
        log.info(
            "lake write table=%s mode=%s rows=%s files=%s data_files=%s version=%d seconds=%.2f",
            table, mode + (" replace_where" if replace_where else ""), entry.get("scim.rows"), entry.get("scim.files"),
            data_files, version, time.monotonic() - t0,
        )
        return version

    def merge(
        self,
        df: Any,
        table: str,
        keys: list[str],
        update_condition: str | None = None,
        delete_not_matched: bool = False,
        *,
        partition_by: list[str] | None = None,
        description: str | None = None,
        column_comments: Mapping[str, str] | None = None,
        schema_mode: str | None = None,
    ) -> int:
        """Upsert ``df`` into ``table`` by ``keys``; returns the committed version.

        ``df`` is a Spark DataFrame (collected to the driver with ``df.toArrow()``: meant for
        dimension-sized data) or a pyarrow Table.
        Matched rows are updated (all columns; only where ``update_condition`` holds, a SQL
        predicate over ``t.`` target and ``s.`` source columns), unmatched source rows are
        inserted, and with ``delete_not_matched`` target rows absent from the source are
        deleted. Creates the table with a plain write when it does not exist. Source rows
        with a null key or a duplicate key raise :class:`LakeError` (nothing is written).
        Commits once (deltalake MERGE); a failure before the commit leaves the table as
        it was (files written by the failed merge are unreferenced until ``vacuum``).
        """
        t0 = time.monotonic()
        source = df if isinstance(df, pa.Table) else df.toArrow()
        source = source.cast(normalise_schema(source.schema))
        missing = [k for k in keys if k not in source.column_names]
        if not keys or missing:
            raise LakeError(f"merge into {table}: key columns {missing or keys} are not in the source")
        _check_keys(source, keys, table)
        if not self.exists(table):
            if self.spark is None or isinstance(df, pa.Table):
                return self._create_from_arrow(table, source, partition_by, description, column_comments)
            return self.write(df, table, mode="append", partition_by=partition_by, description=description,
                              column_comments=column_comments)
        dt = self._table(table)
        predicate = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        merger = dt.merge(
            source, predicate=predicate, source_alias="s", target_alias="t", merge_schema=schema_mode == "merge",
            commit_properties=CommitProperties(custom_metadata={"scim.table": table, "scim.mode": "merge"}),
        )
        merger = merger.when_matched_update_all(predicate=update_condition).when_not_matched_insert_all()
        if delete_not_matched:
            merger = merger.when_not_matched_by_source_delete()
        metrics = merger.execute()
        version = dt.version()
        if description is not None or column_comments:
            version = self.set_comments(table, description=description, column_comments=column_comments)
        log.info(
            "lake merge table=%s rows=%d inserted=%s updated=%s deleted=%s version=%d seconds=%.2f",
            table, source.num_rows, metrics.get("num_target_rows_inserted"), metrics.get("num_target_rows_updated"),
            metrics.get("num_target_rows_deleted"), version, time.monotonic() - t0,
        )
        return version

    def _create_from_arrow(self, table: str, data: pa.Table, partition_by: list[str] | None,
                           description: str | None, column_comments: Mapping[str, str] | None) -> int:
        """Create ``table`` from Arrow data: an empty table with comments (commit 0), then the rows (commit 1)."""
        from deltalake import write_deltalake

        uri = self.uri(table)
        schema = delta_schema(normalise_schema(data.schema), column_comments)
        DeltaTable.create(uri, schema=schema, partition_by=partition_by, description=description)
        write_deltalake(uri, data, mode="append", partition_by=partition_by)
        return DeltaTable(uri).version()

    def delete(self, table: str, predicate: str) -> int:
        """Delete the rows matching ``predicate`` (SQL); returns the committed version.

        Rewrites the files holding matching rows and commits once (deltalake DELETE). A
        failure before the commit leaves the table unchanged (new files unreferenced).
        """
        t0 = time.monotonic()
        if not predicate or not predicate.strip():
            raise LakeError(f"delete from {table}: an empty predicate would delete everything; pass one")
        dt = self._table(table)
        metrics = dt.delete(predicate, commit_properties=CommitProperties(custom_metadata={"scim.table": table}))
        version = dt.version()
        log.info("lake delete table=%s rows=%s version=%d seconds=%.2f", table, metrics.get("num_deleted_rows"),
                 version, time.monotonic() - t0)
        return version

    def set_comments(self, table: str, description: str | None = None,
                     column_comments: Mapping[str, str] | None = None) -> int:
        """Set the table description and/or column comments; returns the last committed version.

        Each change is one metadata-only commit (description first, then one per column);
        nothing is written when the values are already set. A failure halfway leaves the
        earlier changes committed and the later ones not.
        """
        dt = self._table(table)
        names = {f["name"] for f in schema_fields(dt.schema())}
        unknown = sorted(set(column_comments or {}) - names)
        if unknown:
            raise LakeSchemaError(f"table {table}: column_comments name unknown columns {unknown}")
        if description is not None and description != dt.metadata().description:
            dt.alter.set_table_description(description)
        have = comments_of(dt.schema())
        for col, comment in (column_comments or {}).items():
            if have.get(col) != comment:
                meta = {k: (v if isinstance(v, str) else str(v))
                        for k, v in (next(f for f in schema_fields(dt.schema()) if f["name"] == col).get("metadata") or {}).items()}
                meta["comment"] = comment
                dt.alter.set_column_metadata(col, meta)
        return DeltaTable(self.uri(table)).version()

    # -- reading ------------------------------------------------------------------------------
    def read(self, table: str, version: int | None = None, *, partition_filter: str | None = None) -> Any:
        """A Spark DataFrame over ``table`` (at ``version`` when given). Reads only.

        Distributed: one pinned snapshot, Parquet files read in Spark tasks; partition
        columns carry their Delta types; column comments are in the schema metadata.
        ``partition_filter`` (same grammar as ``replace_where``, partition columns only)
        skips the files of other partitions; Spark ``where`` filters do not prune files.
        """
        self._register()
        uri = self.uri(table)
        if not DeltaTable.is_deltatable(uri):
            raise LakeError(f"table {table} does not exist at {uri}")
        if partition_filter:
            dt = DeltaTable(uri, version=version) if version is not None else DeltaTable(uri)
            types = {f["name"]: f["type"] for f in schema_fields(dt.schema())}
            Predicate(partition_filter, {c: types[c] for c in dt.metadata().partition_columns})  # fail early
        reader = self.spark.read.format(ds.FORMAT).option("path", uri)
        if version is not None:
            reader = reader.option("version", str(int(version)))
        if partition_filter:
            reader = reader.option("partition_filter", partition_filter)
        return reader.load()

    def to_arrow(self, table: str, version: int | None = None, columns: list[str] | None = None,
                 filter: Any = None) -> pa.Table:
        """The table (or a version of it) as a pyarrow Table on the driver; for small tables.

        ``filter`` is a pyarrow expression, DNF filters ``[("col", "=", v), ...]`` or a SQL
        predicate string. Reads only.
        """
        dt = self._table(table, version)
        if isinstance(filter, str):
            from deltalake import QueryBuilder

            cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
            return pa.table(QueryBuilder().register("t", dt).execute(f"SELECT {cols} FROM t WHERE {filter}").read_all())
        return dt.to_pyarrow_table(columns=columns, filters=filter)

    # -- inspection ---------------------------------------------------------------------------
    def history(self, table: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commit history, newest first (``version``, ``operation``, ``timestamp``, ``scim.*`` tags). Reads only."""
        return self._table(table).history(limit=limit)

    def version(self, table: str) -> int:
        """Current version of ``table``. Reads only."""
        return self._table(table).version()

    def describe(self, table: str) -> dict[str, Any]:
        """Description, columns (name, type, comment), partition columns, version, file and row counts.

        Reads only (the log; ``num_rows`` from file statistics, None if a file has none).
        """
        dt = self._table(table)
        meta = dt.metadata()
        actions = pa.table(dt.get_add_actions(flatten=True))
        rows = actions.column("num_records").to_pylist() if "num_records" in actions.column_names else []
        return {
            "description": meta.description,
            "columns": [
                {"name": f["name"], "type": f["type"] if isinstance(f["type"], str) else f["type"].get("type"),
                 "comment": (f.get("metadata") or {}).get("comment")}
                for f in schema_fields(dt.schema())
            ],
            "partition_by": list(meta.partition_columns),
            "version": dt.version(),
            "num_files": actions.num_rows,
            "num_rows": None if any(r is None for r in rows) else int(sum(rows)),
        }

    def snapshot(self, table: str) -> dict[str, Any]:
        """The current snapshot of ``table`` as an outside reader needs it, all from ONE version.

        ``version``, ``description``, ``fields`` (the Delta schema's JSON fields, with their
        ``metadata``: comments), ``partition_by``, ``reader_features`` (protocol reader
        features, e.g. ``deletionVectors``, ``columnMapping``), ``configuration`` and
        ``files``: ``[{"uri", "partition_values" (Delta's strings, None for null),
        "num_records", "size_bytes"}]`` with absolute URIs. Reads only (the log).
        """
        from urllib.parse import unquote

        dt = self._table(table)
        meta, protocol = dt.metadata(), dt.protocol()
        parts = list(meta.partition_columns)
        actions = pa.table(dt.get_add_actions(flatten=False))
        root = self.uri(table).rstrip("/")
        files = []
        for row in actions.to_pylist():
            path = row["path"]
            uri = path if "://" in path or path.startswith("/") else f"{root}/{unquote(path)}"
            pv = row.get("partition") or {}
            files.append({"uri": uri, "partition_values": {c: None if pv.get(c) is None else str(pv.get(c)) for c in parts},
                          "num_records": row.get("num_records"), "size_bytes": row.get("size_bytes")})
        return {"table": table, "version": dt.version(), "description": meta.description,
                "fields": schema_fields(dt.schema()), "partition_by": parts,
                "reader_features": list(protocol.reader_features or []), "configuration": dict(meta.configuration or {}),
                "files": files}

    def list_tables(self, prefix: str = "") -> list[str]:
        """Lake-relative names of the Delta tables below ``prefix``, sorted. Reads only."""
        fs, root = ds.filesystem(self.settings.lake_root)
        from pyarrow import fs as pafs

        base = root.rstrip("/")
        start = f"{base}/{prefix.strip('/')}" if prefix.strip("/") else base
        found: list[str] = []
        stack = [start]
        while stack:
            path = stack.pop()
            try:
                infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
            except (FileNotFoundError, NotADirectoryError):
                continue
            dirs = [i for i in infos if i.type == pafs.FileType.Directory]
            if any(i.base_name == "_delta_log" for i in dirs):
                found.append(path[len(base):].strip("/"))
                continue
            stack.extend(i.path for i in dirs if not i.base_name.startswith("."))
        return sorted(found)

    # -- maintenance --------------------------------------------------------------------------
    def optimize(self, table: str, zorder_by: list[str] | None = None, target_size: int | None = None) -> dict[str, Any]:
        """Compact small files (and Z-order by ``zorder_by``); returns deltalake's metrics.

        Writes new files and commits once with ``dataChange=false``; a failure before the
        commit leaves the table unchanged (its new files unreferenced until ``vacuum``).
        """
        t0 = time.monotonic()
        dt = self._table(table)
        if zorder_by:
            metrics = dt.optimize.z_order(list(zorder_by), target_size=target_size)
        else:
            metrics = dt.optimize.compact(target_size=target_size)
        log.info("lake optimize table=%s zorder=%s files_added=%s files_removed=%s version=%d seconds=%.2f",
                 table, zorder_by, metrics.get("numFilesAdded"), metrics.get("numFilesRemoved"), dt.version(),
                 time.monotonic() - t0)
        return metrics

    def vacuum(self, table: str, retention_hours: int = 168, enforce_retention: bool = True,
               dry_run: bool = False) -> list[str]:
        """Delete files no version younger than ``retention_hours`` needs; returns their paths.

        Also removes files never committed and the staging directories of writes whose
        driver died (left by a crashed job). Time travel to versions
        older than the retention stops working. Deleting is not atomic: a failure halfway
        leaves some files deleted, none that a retained version needs.
        """
        t0 = time.monotonic()
        dt = self._table(table)
        files = dt.vacuum(retention_hours=retention_hours, dry_run=dry_run,
                          enforce_retention_duration=enforce_retention, full=True)
        # Staging directories of native Parquet writes whose driver died before cleaning up
        # (delta-rs skips directories starting with "_").
        stale = native.stale_staging(self.uri(table), retention_hours)
        if not dry_run:
            fs, _root = ds.filesystem(self.uri(table))
            for path in stale:
                fs.delete_dir(path)
        files = list(files) + stale
        log.info("lake vacuum table=%s files=%d dry_run=%s seconds=%.2f", table, len(files), dry_run, time.monotonic() - t0)
        return files

    def checkpoint(self, table: str) -> None:
        """Write a checkpoint of the current version (faster log replay). Adds no version.

        A failure halfway leaves no usable checkpoint file; readers replay the JSON log as before.
        """
        self._table(table).create_checkpoint()


def _check_keys(source: pa.Table, keys: list[str], table: str) -> None:
    """Refuse null or duplicate merge keys (a MERGE would insert duplicates or fail)."""
    import pyarrow.compute as pc

    for k in keys:
        n = source.column(k).null_count
        if n:
            raise LakeError(f"merge into {table}: {n} source rows have a null {k}; fix or quarantine them first")
    if source.num_rows:
        counts = source.group_by(keys).aggregate([([], "count_all")])
        dup = pc.sum(pc.greater(counts.column("count_all"), 1)).as_py() or 0
        if dup:
            raise LakeError(f"merge into {table}: {dup} key values occur more than once in the source; deduplicate first")


__all__ = ["Lake", "LakeError", "LakeSchemaError", "UnsupportedPredicate"]
