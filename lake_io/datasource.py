"""A Spark 4 Python Data Source (``format("scim_delta")``) over delta-rs.

Writing: every Spark task turns its Arrow batches into Parquet files under the table
directory (Hive-style partition directories, statistics from the Parquet footer) and
returns the add actions as its commit message; the driver-side ``commit`` turns all
messages into ONE Delta transaction through deltalake. Until that commit the new files
are invisible to every Delta reader. A failing task deletes its own files; ``abort``
deletes the files of the tasks that succeeded (and any file of this write id it still
finds), unless the transaction was in fact committed.

Reading: ``partitions`` packs the add actions of one pinned table version into input
partitions; each task reads its Parquet files with pyarrow and adds the partition columns
with their Delta types. Tables that need deletion vectors or column mapping are refused
with a clear error (neither writer of this project produces them).

Callers use :class:`lake_io.Lake`; the options below are its private contract:
``plan`` (JSON, written by ``Lake.write``) for writes; ``path`` and optional ``version``
and ``partition_filter`` (a predicate on partition columns, see ``_partitions``) for reads.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import unquote

import pyarrow as pa
from pyspark.sql.datasource import (
    DataSource,
    DataSourceArrowWriter,
    DataSourceReader,
    InputPartition,
    WriterCommitMessage,
)
from pyspark.sql.types import StructType

from lake_io import _partitions as parts
from lake_io._schema import arrow_schema_from_spark, normalise_schema
from lake_io._stats import file_stats

log = logging.getLogger(__name__)

FORMAT = "scim_delta"
WRITE_ID_KEY = "scim.writeId"
_FLUSH_ROWS = 1 << 20  # rows buffered per partition before a row group is written
_FLUSH_BYTES = 64 << 20  # ... or this many Arrow bytes
_TOTAL_BYTES = 256 << 20  # all buffers of one task together
_READ_SPLIT_BYTES = 128 << 20


class AlreadyCommitted(RuntimeError):
    """The app transaction (app_id, version) of this write is already in the table."""


# -- helpers shared by writer and reader ----------------------------------------------------
def filesystem(uri: str) -> tuple[Any, str]:
    """(pyarrow filesystem, root path) for a table URI or local path."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), uri
    return fs.FileSystem.from_uri(uri)


def conform(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """Reorder/cast ``batch`` to ``target``; columns it lacks become nulls."""
    if batch.schema.equals(target):
        return batch
    names = set(batch.schema.names)
    arrays = []
    for f in target:
        if f.name in names:
            arr = batch.column(f.name)
            if arr.type != f.type:
                arr = arr.cast(f.type)
        else:
            arr = pa.nulls(batch.num_rows, f.type)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def encode_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def decode_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def find_commit(uri: str, write_id: str, limit: int = 200) -> dict[str, Any] | None:
    """The history entry (with ``version``) of the commit tagged with ``write_id``, if any."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(uri):
        return None
    for entry in DeltaTable(uri).history(limit=limit):
        if entry.get(WRITE_ID_KEY) == write_id:
            return entry
    return None


def table_files(table: Any, part_cols: list[str]) -> list[tuple[str, int, dict[str, str | None]]]:
    """(log path as stored, size, partition values as log strings) of every live file."""
    actions = pa.table(table.get_add_actions(flatten=False))
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    if part_cols and "partition" in actions.column_names:
        values = actions.column("partition").to_pylist()
    else:
        values = [{} for _ in paths]
    return [
        (p, int(n or 0), {c: parts.to_partition_string((v or {}).get(c)) for c in part_cols})
        for p, n, v in zip(paths, sizes, values)
    ]


def txn_done(table: Any, app_id: str, app_version: int) -> bool:
    """True when ``table`` already records app transaction ``app_id`` at ``app_version`` or later."""
    done = table.transaction_version(app_id)
    return done is not None and int(done) >= int(app_version)


# -- the data source ------------------------------------------------------------------------
class DeltaDataSource(DataSource):
    """``spark.read/write.format("scim_delta")`` backed by deltalake (delta-rs)."""

    @classmethod
    def name(cls) -> str:
        return FORMAT

    def schema(self) -> StructType:
        table = _open_for_read(self.options)
        return StructType.fromJson(json.loads(table.schema().to_json()))

    def reader(self, schema: StructType) -> "DeltaReader":
        return DeltaReader(dict(self.options), schema)

    def writer(self, schema: StructType, overwrite: bool) -> "DeltaWriter":
        if "plan" not in self.options:
            raise ValueError("format('scim_delta') is written through lake_io.Lake.write(), which supplies the plan")
        return DeltaWriter(json.loads(self.options["plan"]))


# -- writing --------------------------------------------------------------------------------
@dataclass
class DeltaCommitMessage(WriterCommitMessage):
    """What one task wrote: add actions as plain dicts (path, size, partition_values, stats...)."""

    adds: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


def dictionary_columns(schema: pa.Schema, sample: pa.RecordBatch) -> list[str]:
    """Parquet leaf columns worth dictionary-encoding, judged on the file's first batch.

    Top-level columns that are mostly distinct (keys, hashes, amounts, timestamps, random
    doubles) are left out: pyarrow would build a dictionary, overflow it and fall back to
    plain encoding, which costs about a third of the write time and saves nothing.
    """
    import pyarrow.compute as pc

    out: list[str] = []
    for f in schema:
        t = f.type
        if not (pa.types.is_nested(t) or pa.types.is_boolean(t)):
            col = sample.column(f.name)
            present = len(col) - col.null_count
            try:
                mostly_distinct = present >= 1000 and pc.count_distinct(col).as_py() > present // 2
            except pa.ArrowNotImplementedError:
                mostly_distinct = False
            if mostly_distinct:
                continue
        out.extend(_leaf_paths(f.name, t))
    return out


def statistics_columns(schema: pa.Schema) -> list[str]:
    """Parquet leaf columns whose min/max/null count ``file_stats`` puts in the Delta log.

    Leaves inside lists and maps get no Delta statistics (and no reader prunes on them),
    so the writer does not compute Parquet statistics for them either.
    """
    out: list[str] = []

    def walk(prefix: str, t: pa.DataType) -> None:
        if pa.types.is_struct(t):
            for i in range(t.num_fields):
                walk(f"{prefix}.{t.field(i).name}", t.field(i).type)
        elif not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t)):
            out.append(prefix)

    for f in schema:
        walk(f.name, f.type)
    return out


def _leaf_paths(prefix: str, t: pa.DataType) -> list[str]:
    if pa.types.is_struct(t):
        return [p for i in range(t.num_fields) for p in _leaf_paths(f"{prefix}.{t.field(i).name}", t.field(i).type)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _leaf_paths(f"{prefix}.list.element", t.value_type)
    if pa.types.is_map(t):
        return _leaf_paths(f"{prefix}.key_value.key", t.key_type) + _leaf_paths(f"{prefix}.key_value.value", t.item_type)
    return [prefix]


class _FileSink:
    """One open Parquet file of one partition inside a task, with its row buffer."""

    def __init__(self, fs: Any, root: str, rel_path: str, schema: pa.Schema, plan: dict[str, Any],
                 partition_values: dict[str, str | None], first_batch: pa.RecordBatch):
        import pyarrow.parquet as pq

        self.rel_path = rel_path
        self.partition_values = partition_values
        self.full_path = f"{root}/{rel_path}"
        self.schema = schema
        fs.create_dir(self.full_path.rsplit("/", 1)[0], recursive=True)
        self.stream = fs.open_output_stream(self.full_path)
        self.writer = pq.ParquetWriter(
            self.stream,
            schema,
            compression=plan.get("compression", "snappy"),
            use_dictionary=dictionary_columns(schema, first_batch),
            write_statistics=statistics_columns(schema),
            # decimal(p <= 18) as INT32/INT64, as Spark's own Parquet writer stores them
            store_decimal_as_integer=True,
            store_schema=False,
        )
        self.buffer: list[pa.RecordBatch] = []
        self.buffered_rows = 0
        self.buffered_bytes = 0
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.buffer.append(batch)
        self.buffered_rows += batch.num_rows
        self.buffered_bytes += batch.nbytes
        if self.buffered_rows >= _FLUSH_ROWS or self.buffered_bytes >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        # pyarrow writes one row group per call; buffering makes row groups large.
        if self.buffer:
            table = pa.Table.from_batches(self.buffer, self.schema)  # no copy: the batches become chunks
            self.writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self.rows += table.num_rows
            self.buffer, self.buffered_rows, self.buffered_bytes = [], 0, 0

    def close(self) -> tuple[Any, int]:
        """Close the file; returns (Parquet footer metadata, size in bytes)."""
        self.flush()
        self.writer.close()
        size = self.stream.tell()
        self.stream.close()
        metadata = self.writer.writer.metadata
        return metadata, size


class DeltaWriter(DataSourceArrowWriter):
    """Writes Parquet files in tasks; commits one Delta transaction on the driver."""

    def __init__(self, plan: dict[str, Any]):
        self.plan = plan

    # executors ------------------------------------------------------------------------------
    def write(self, iterator: Iterator[pa.RecordBatch]) -> DeltaCommitMessage:
        from pyspark import TaskContext

        plan = self.plan
        target = decode_schema(plan["arrow_schema"])
        part_cols: list[str] = plan["partition_by"]
        data_schema = pa.schema([f for f in target if f.name not in part_cols])
        fs, root = filesystem(plan["uri"])
        ctx = TaskContext.get()
        task = f"{ctx.partitionId():05d}-{ctx.attemptNumber()}" if ctx else f"00000-{uuid.uuid4().hex[:8]}"
        max_rows = int(plan.get("max_rows_per_file", 0)) or None
        sinks: dict[tuple, _FileSink] = {}
        adds: list[dict[str, Any]] = []
        closing: list[_FileSink] = []
        seq = 0

        def sink_for(key: tuple, values: dict[str, str | None], first: pa.RecordBatch) -> _FileSink:
            nonlocal seq
            s = sinks.get(key)
            if s is None:
                seq += 1
                name = f"part-{task}-{plan['write_id']}-{seq:04d}.{plan.get('compression', 'snappy')}.parquet"
                rel = f"{parts.partition_dir(part_cols, values)}/{name}" if part_cols else name
                s = sinks[key] = _FileSink(fs, root, rel, data_schema, plan, values, first)
            return s

        def finish(s: _FileSink) -> None:
            closing.append(s)
            metadata, size = s.close()
            adds.append(add_entry(s.rel_path, size, s.partition_values, metadata, data_schema))

        try:
            for batch in iterator:
                if batch.num_rows == 0:
                    continue
                batch = conform(batch, target)
                for values, piece in _split(batch, part_cols):
                    key = tuple(values[c] for c in part_cols)
                    piece = piece.select(data_schema.names) if part_cols else piece
                    s = sink_for(key, values, piece)
                    s.add(piece)
                    if max_rows and s.rows + s.buffered_rows >= max_rows:
                        del sinks[key]
                        finish(s)  # roll to a new file
                    elif len(sinks) > 1 and sum(x.buffered_bytes for x in sinks.values()) > _TOTAL_BYTES:
                        max(sinks.values(), key=lambda x: x.buffered_bytes).flush()
            for s in list(sinks.values()):
                finish(s)
            sinks.clear()
            return DeltaCommitMessage(adds=adds, rows=sum(a["rows"] for a in adds))
        except BaseException:
            # Leave nothing behind from a failed task: its files would be orphans.
            for s in list(sinks.values()) + closing:
                for close in (s.writer.close, s.stream.close):  # the writer first, or its finaliser fails later
                    try:
                        close()
                    except Exception:
                        pass
                try:
                    fs.delete_file(s.full_path)
                except Exception:
                    pass
            raise

    # driver -----------------------------------------------------------------------------------
    def commit(self, messages: list[DeltaCommitMessage | None]) -> None:
        msgs = [m for m in messages if m is not None]
        commit_write(self.plan, [a for m in msgs for a in m.adds], sum(m.rows for m in msgs))

    def abort(self, messages: list[DeltaCommitMessage | None]) -> None:
        fs, root = filesystem(self.plan["uri"])
        abort_write(self.plan, {f"{root}/{a['path']}" for m in messages if m is not None for a in m.adds})


def add_entry(rel_path: str, size: int, partition_values: dict[str, str | None], metadata: Any,
              data_schema: pa.Schema) -> dict[str, Any]:
    """One written data file as :func:`commit_write` takes it: path (relative to the table;
    delta-rs URI-encodes it in the log), size, partition values, Delta statistics from the
    file's Parquet footer, and its row count."""
    return {
        "path": rel_path,
        "size": size,
        "partition_values": partition_values,
        "modification_time": int(time.time() * 1000),
        "stats": file_stats(metadata, data_schema),
        "rows": metadata.num_rows,
    }


def commit_write(plan: dict[str, Any], adds: list[dict[str, Any]], rows: int) -> None:
    """ONE Delta transaction adding ``adds`` (files already written) as ``plan`` says.

    Shared by both ways of writing the data files (this Data Source's tasks and Spark's
    native Parquet writer, :mod:`lake_io.native`). Raises :class:`AlreadyCommitted` when
    the plan's app transaction is already in the table, ``ValueError`` for data outside
    ``replace_where`` or a partitioning that differs from the table's.
    """
    from deltalake import CommitProperties, DeltaTable, Schema, Transaction
    from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

    uri = plan["uri"]
    schema = Schema.from_json(plan["delta_schema"])
    part_cols = plan["partition_by"]
    app = plan.get("app_transaction")
    props = CommitProperties(
        custom_metadata={
            WRITE_ID_KEY: plan["write_id"],
            "scim.table": plan["table"],
            "scim.mode": plan["mode"] + (" replace_where" if plan.get("replace_where") else ""),
            "scim.rows": rows,
            "scim.files": len(adds),
            "scim.dataFiles": plan.get("data_files", "datasource"),
        },
        max_commit_retries=plan.get("max_commit_retries", 15),
        app_transactions=[Transaction(app[0], int(app[1]))] if app else None,
    )
    actions = [
        AddAction(a["path"], a["size"], a["partition_values"], a["modification_time"], True, a["stats"])
        for a in adds
    ]
    predicate = None
    if plan.get("replace_where"):
        types = plan["partition_types"]
        predicate = parts.Predicate(plan["replace_where"], types)
        for a in adds:
            if not predicate(parts.typed_values(a["partition_values"], types)):
                raise ValueError(
                    f"table {plan['table']}: the data holds partition {a['partition_values']} which does not match "
                    f"replace_where {plan['replace_where']!r}; filter the DataFrame or widen the predicate"
                )
    if not DeltaTable.is_deltatable(uri):
        try:
            create_table_with_add_actions(
                uri, schema, actions, mode="error", partition_by=part_cols or None,
                description=plan.get("description"), commit_properties=props,
            )
            return
        except Exception:
            if not DeltaTable.is_deltatable(uri):  # a real failure, not a concurrent creation
                raise
    table = DeltaTable(uri)
    if list(table.metadata().partition_columns) != list(part_cols):
        raise ValueError(
            f"table {plan['table']} is partitioned by {table.metadata().partition_columns}, "
            f"the write by {part_cols}; write with the table's partition columns"
        )
    if app and txn_done(table, app[0], app[1]):
        raise AlreadyCommitted(f"table {plan['table']}: app transaction {app[0]} v{app[1]} already committed")
    if plan["mode"] == "overwrite" and predicate is None:
        # An overwrite transaction also replaces the schema in metaData when it changed.
        table.create_write_transaction(actions, "overwrite", schema, part_cols or None, commit_properties=props)
        return
    have = {f.name for f in table.schema().fields}
    new_fields = [f for f in schema.fields if f.name not in have]
    if new_fields:
        # An append transaction does not update metaData: add the merged columns first
        # (one metadata commit; nullable, so every existing file reads them as null).
        table.alter.add_columns(new_fields)
        table = DeltaTable(uri)
    if predicate is not None:
        now = int(time.time() * 1000)
        types = plan["partition_types"]
        for path, size, raw in table_files(table, part_cols):
            if predicate(parts.typed_values(raw, types)):
                actions.append(RemoveAction(unquote(path), True, now, size, raw))
    table.create_write_transaction(actions, "append", schema, part_cols or None, commit_properties=props)


def abort_write(plan: dict[str, Any], paths: set[str]) -> None:
    """Delete the data files of a write that did not commit (``paths`` plus any file
    named with its write id); nothing when the commit is found in the log."""
    try:
        if find_commit(plan["uri"], plan["write_id"]) is not None:
            # The commit reached the log (an error came after it): its files are live data.
            return
    except Exception:
        pass
    fs, root = filesystem(plan["uri"])
    paths = set(paths) | _files_of_write(fs, root, plan["write_id"])
    for p in paths:
        try:
            fs.delete_file(p)
        except Exception:
            pass


def _split(batch: pa.RecordBatch, part_cols: list[str]) -> Iterator[tuple[dict[str, str | None], pa.RecordBatch]]:
    """(partition values as log strings, rows) per partition present in ``batch``."""
    import pyarrow.compute as pc

    if not part_cols:
        yield {}, batch
        return
    keys = pa.Table.from_batches([batch]).select(part_cols).group_by(part_cols, use_threads=False).aggregate([])
    if keys.num_rows == 1:
        row = keys.to_pylist()[0]
        yield {c: parts.to_partition_string(row[c]) for c in part_cols}, batch
        return
    for row in keys.to_pylist():
        mask = None
        for c in part_cols:
            col = batch.column(c)
            m = pc.is_null(col) if row[c] is None else pc.fill_null(pc.equal(col, pa.scalar(row[c], col.type)), False)
            mask = m if mask is None else pc.and_(mask, m)
        yield {c: parts.to_partition_string(row[c]) for c in part_cols}, batch.filter(mask)


def _files_of_write(fs: Any, root: str, write_id: str) -> set[str]:
    from pyarrow import fs as pafs

    try:
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    except Exception:
        return set()
    return {
        i.path for i in infos
        if i.type == pafs.FileType.File and write_id in i.base_name and "_delta_log" not in i.path
    }


# -- reading --------------------------------------------------------------------------------
def _open_for_read(options: Any) -> Any:
    from deltalake import DeltaTable

    uri = options.get("path")
    if not uri:
        raise ValueError("format('scim_delta') needs option path=<table uri>")
    if not DeltaTable.is_deltatable(uri):
        raise FileNotFoundError(f"no Delta table at {uri}")
    version = options.get("version")
    table = DeltaTable(uri, version=int(version)) if version not in (None, "", "None") else DeltaTable(uri)
    protocol = table.protocol()
    features = set(protocol.reader_features or [])
    if "deletionVectors" in features or "columnMapping" in features or protocol.min_reader_version == 2:
        raise ValueError(
            f"table {uri} uses deletion vectors or column mapping, which the scim_delta reader does not apply; "
            f"read it with delta-spark (delta_writer='delta-spark') or lake.to_arrow()"
        )
    return table


@dataclass
class _Files(InputPartition):
    files: list[tuple[str, dict[str, str | None]]]

    def __init__(self, files: list[tuple[str, dict[str, str | None]]]):
        super().__init__(None)
        self.files = files


class DeltaReader(DataSourceReader):
    """Reads one pinned version of a Delta table, file groups in parallel."""

    def __init__(self, options: dict[str, Any], schema: StructType):
        table = _open_for_read(options)
        self.uri = table.table_uri
        self.version = table.version()
        self.schema_json = schema.json()
        fields = {f["name"]: f["type"] for f in json.loads(table.schema().to_json())["fields"]}
        self.partition_cols = list(table.metadata().partition_columns)
        self.partition_types = {c: fields[c] for c in self.partition_cols}
        self.files = table_files(table, self.partition_cols)
        if options.get("partition_filter"):
            # Prune whole files by partition values (Spark still sees only matching rows).
            keep = parts.Predicate(options["partition_filter"], self.partition_types)
            self.files = [f for f in self.files if keep(parts.typed_values(f[2], self.partition_types))]

    def partitions(self) -> list[_Files]:
        groups: list[_Files] = []
        current: list[tuple[str, dict[str, str | None]]] = []
        size = 0
        for path, nbytes, values in sorted(self.files, key=lambda f: f[0]):
            if current and size + nbytes > _READ_SPLIT_BYTES:
                groups.append(_Files(current))
                current, size = [], 0
            current.append((path, values))
            size += nbytes
        if current:
            groups.append(_Files(current))
        return groups

    def read(self, partition: _Files) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        target = normalise_schema(arrow_schema_from_spark(StructType.fromJson(json.loads(self.schema_json))))
        fs, root = filesystem(self.uri)
        # A table without files yields no partitions; Spark then hands a plain InputPartition.
        for rel, raw in getattr(partition, "files", []):
            typed = parts.typed_values(raw, self.partition_types)
            with fs.open_input_file(f"{root}/{unquote(rel)}") as fh:
                pf = pq.ParquetFile(fh)
                present = [n for n in target.names if n in set(pf.schema_arrow.names) and n not in typed]
                for batch in pf.iter_batches(batch_size=65536, columns=present, use_threads=False):
                    extra = {
                        c: pa.repeat(pa.scalar(typed[c], target.field(c).type), batch.num_rows)
                        for c in self.partition_cols if c in target.names
                    }
                    if extra:
                        batch = pa.RecordBatch.from_arrays(
                            list(batch.columns) + list(extra.values()),
                            names=list(batch.schema.names) + list(extra),
                        )
                    yield conform(batch, target)


def register(spark: Any) -> None:
    """Register ``format("scim_delta")`` in ``spark`` (idempotent)."""
    spark.dataSource.register(DeltaDataSource)
