"""Per-file Delta statistics (``numRecords``, ``minValues``, ``maxValues``, ``nullCount``).

They come from the Parquet footer the writer has just produced, so collecting them costs
no extra pass over the data. The JSON follows what delta-rs and Spark write: nested dicts
for struct fields, no min/max for lists, maps, binary or non-finite floats, timestamps as
ISO strings in milliseconds (min rounded down, max rounded up so skipping stays safe),
decimals as exact JSON numbers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

_MS = dt.timedelta(milliseconds=1)
_DEC = "\u0001dec\u0001"
_DEC_RE = re.compile('"\\\\u0001dec\\\\u0001(-?[0-9.E+-]+)\\\\u0001dec\\\\u0001"')


def _leaves(t: pa.DataType, key: tuple[str, ...] | None, name: str) -> Iterator[tuple[tuple[str, ...] | None, pa.DataType]]:
    """Parquet leaf columns of one Arrow field in file order; key None = no stats for it."""
    if pa.types.is_struct(t):
        for i in range(t.num_fields):
            f = t.field(i)
            yield from _leaves(f.type, None if key is None else key + (f.name,), f.name)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        yield from _leaves(t.value_type, None, "element")
    elif pa.types.is_map(t):
        yield from _leaves(t.key_type, None, "key")
        yield from _leaves(t.item_type, None, "value")
    else:
        yield key, t


def _ts(value: dt.datetime, up: bool) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    floored = value.replace(microsecond=value.microsecond - value.microsecond % 1000)
    if up and floored != value:
        floored += _MS
    return floored.strftime("%Y-%m-%dT%H:%M:%S.") + f"{floored.microsecond // 1000:03d}Z"


def _json_value(value: Any, t: pa.DataType, up: bool) -> Any:
    """JSON form of a min (up=False) or max (up=True) value, or None when it must be left out."""
    if value is None or pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return None
    if pa.types.is_timestamp(t):
        return _ts(value, up)
    if pa.types.is_date(t):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        # Exact decimal text, spliced in as a JSON number by file_stats.
        return f"{_DEC}{value}{_DEC}" if value.is_finite() else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)):
        return value
    return None


def _put(target: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    for part in key[:-1]:
        target = target.setdefault(part, {})
    target[key[-1]] = value


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema) -> str:
    """Delta ``stats`` JSON of a Parquet file written with ``schema`` (data columns only)."""
    leaves = [leaf for f in schema for leaf in _leaves(f.type, (f.name,), f.name)]
    n_rows = metadata.num_rows
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, Any] = {}
    for col, (key, t) in enumerate(leaves):
        if key is None:
            continue
        lo = hi = None
        null_count: int | None = 0
        exact = True
        for rg_i in range(metadata.num_row_groups):
            rg = metadata.row_group(rg_i)
            st = rg.column(col).statistics
            if st is None:
                null_count, exact = None, False
                break
            if st.has_null_count and null_count is not None:
                null_count += st.null_count
            else:
                null_count = None
            if not st.has_min_max:
                # An all-null row group has no min/max and does not spoil the others.
                if not (st.has_null_count and st.null_count == rg.num_rows):
                    exact = False
                continue
            if getattr(st, "is_min_value_exact", True) is False or getattr(st, "is_max_value_exact", True) is False:
                exact = False
                continue
            lo = st.min if lo is None or st.min < lo else lo
            hi = st.max if hi is None or st.max > hi else hi
        if null_count is not None:
            _put(nulls, key, null_count)
        if exact and lo is not None:
            jlo, jhi = _json_value(lo, t, up=False), _json_value(hi, t, up=True)
            if jlo is not None and jhi is not None:
                _put(mins, key, jlo)
                _put(maxs, key, jhi)
    text = json.dumps(
        {"numRecords": n_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return _DEC_RE.sub(r"\1", text)
