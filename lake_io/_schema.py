"""Schema plumbing between Spark, Arrow and the Delta log.

Three representations of one table schema meet here:

* the Spark ``StructType`` of the DataFrame being written (or handed to readers),
* the Arrow schema the Parquet files are written with,
* the Delta schema in the log (``metaData.schemaString``), whose JSON is the Spark JSON,
  so column comments stored as field metadata ``"comment"`` are seen by any Spark reader.

Rules kept everywhere: timestamps are ``timestamp("us", tz="UTC")`` (delta-rs refuses
other zone names such as ``Etc/UTC``; ``timestamp_ntz`` is refused because it bumps the
protocol and breaks Spark-based BI readers), and every column is nullable, as Spark makes
file-based writes nullable too (so appends of literal columns do not clash with the table).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:  # deltalake is imported where used: Spark task workers never need it
    from deltalake import Schema

UTC_TS = pa.timestamp("us", tz="UTC")

# Widening casts applied silently when a DataFrame column is narrower than the table's.
_WIDENINGS = {
    ("byte", "short"), ("byte", "integer"), ("byte", "long"),
    ("short", "integer"), ("short", "long"), ("integer", "long"),
    ("float", "double"),
}


class LakeSchemaError(ValueError):
    """A DataFrame does not fit the table it is written to; the message names the column and the fix."""


def normalise_type(t: pa.DataType, where: str) -> pa.DataType:
    """Arrow type as written to Delta: UTC microsecond timestamps, nested types recursed."""
    if pa.types.is_timestamp(t):
        if t.tz is None:
            raise LakeSchemaError(
                f"column {where} is timestamp_ntz (no time zone); Delta tables here keep UTC timestamps: "
                f"cast it with F.to_utc_timestamp(...) or .cast('timestamp')"
            )
        return UTC_TS
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_map(t):
        return pa.map_(normalise_type(t.key_type, f"{where}.key"), normalise_type(t.item_type, f"{where}.value"))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return pa.list_(pa.field("element", normalise_type(t.value_type, f"{where}.element"), nullable=True))
    if pa.types.is_struct(t):
        return pa.struct(
            [pa.field(t.field(i).name, normalise_type(t.field(i).type, f"{where}.{t.field(i).name}"), nullable=True)
             for i in range(t.num_fields)]
        )
    return t


def normalise_schema(schema: pa.Schema) -> pa.Schema:
    """Nullable fields, UTC timestamps, no field metadata."""
    return pa.schema([pa.field(f.name, normalise_type(f.type, f.name), nullable=True) for f in schema])


def arrow_schema_from_spark(spark_schema: Any) -> pa.Schema:
    """Arrow schema of a Spark ``StructType`` as written to the lake (raises on timestamp_ntz)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return normalise_schema(to_arrow_schema(spark_schema, timezone="UTC"))


def delta_schema(arrow_schema: pa.Schema, comments: Mapping[str, str] | None = None) -> Schema:
    """Delta schema for ``arrow_schema`` with column comments as field metadata ``comment``."""
    from deltalake import Field, Schema

    comments = dict(comments or {})
    unknown = sorted(set(comments) - set(arrow_schema.names))
    if unknown:
        raise LakeSchemaError(f"column_comments name unknown columns {unknown}; known: {arrow_schema.names}")
    base = Schema.from_arrow(arrow_schema)
    fields = []
    for f in base.fields:
        meta = dict(f.metadata or {})
        if f.name in comments:
            meta["comment"] = comments[f.name]
        fields.append(Field(f.name, f.type, nullable=True, metadata=meta or None))
    return Schema(fields)


def arrow_from_delta(schema: Schema) -> pa.Schema:
    """Arrow schema of a Delta schema (normalised, without metadata)."""
    return normalise_schema(pa.schema(schema.to_arrow()))


def schema_fields(schema: Schema) -> list[dict[str, Any]]:
    """The Delta schema JSON fields (``name``, ``type``, ``nullable``, ``metadata``)."""
    return json.loads(schema.to_json())["fields"]


def comments_of(schema: Schema) -> dict[str, str]:
    """Top-level column comments of a Delta schema."""
    return {f["name"]: f["metadata"]["comment"] for f in schema_fields(schema) if "comment" in (f.get("metadata") or {})}


def _strip(t: Any) -> Any:
    """A Delta JSON type without nullability and metadata, for comparisons."""
    if isinstance(t, dict):
        if t.get("type") == "struct":
            return {"struct": [(f["name"], _strip(f["type"])) for f in t["fields"]]}
        if t.get("type") == "array":
            return {"array": _strip(t["elementType"])}
        if t.get("type") == "map":
            return {"map": (_strip(t["keyType"]), _strip(t["valueType"]))}
    return t


def reconcile(
    table: Schema, data: Schema, table_name: str, schema_mode: str | None
) -> tuple[Schema, list[str]]:
    """The schema to write with, given the table's and the DataFrame's.

    Returns (final Delta schema, new column names). Columns missing from the data are
    written as nulls; narrower integer/float columns are widened; new columns need
    ``schema_mode="merge"``; any other type change raises :class:`LakeSchemaError`.
    Existing field metadata (comments) is kept.
    """
    from deltalake import Field, Schema

    tfields = {f["name"]: f for f in schema_fields(table)}
    dfields = schema_fields(data)
    new = [f["name"] for f in dfields if f["name"] not in tfields]
    for f in dfields:
        old = tfields.get(f["name"])
        if old is None:
            continue
        a, b = _strip(old["type"]), _strip(f["type"])
        if a != b and (b, a) not in _WIDENINGS:
            raise LakeSchemaError(
                f"table {table_name}: column {f['name']} is {json.dumps(a)} in the table but {json.dumps(b)} "
                f"in the data; cast the column to the table's type (or overwrite the table)"
            )
    if new and schema_mode != "merge":
        raise LakeSchemaError(
            f"table {table_name}: the data has new columns {new}; pass schema_mode='merge' to add them"
        )
    if not new:
        return table, []
    merged = list(table.fields) + [
        Field(f.name, f.type, nullable=True, metadata=f.metadata or None) for f in data.fields if f.name in new
    ]
    return Schema(merged), new
