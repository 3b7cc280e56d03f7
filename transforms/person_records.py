"""Person records: the identity contract (docs/standardisation.md, architecture.md).

Every source is mapped to the *raw person record* (``source``, ``record_id`` and any of the
optional attributes); these functions turn it into the *standardised person record* that
the matcher reads, on Spark (nightly pipeline) and on pandas (``scim link``, DuckDB path),
with one shared scalar core (``transforms.standardise.record``), so both give the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from transforms.standardise.hashing import check_key
from transforms.standardise.record import (
    BOOL_COLUMNS,
    CONTRACT_COLUMNS,
    EXTRA_INPUT_COLUMNS,
    HELPER_COLUMNS,
    INT_COLUMNS,
    OPTIONAL_COLUMNS,
    OUTPUT_COLUMNS,
    RAW_COLUMNS,
    REQUIRED_COLUMNS,
    standardise_person_rows,
)

log = logging.getLogger(__name__)

__all__ = [
    "CONTRACT_COLUMNS", "EXTRA_INPUT_COLUMNS", "HELPER_COLUMNS", "OPTIONAL_COLUMNS", "OUTPUT_COLUMNS",
    "RAW_COLUMNS", "REQUIRED_COLUMNS", "STANDARD_SCHEMA",
    "standardise_person_records", "standardise_person_records_pandas",
    "validate_person_records", "validate_person_records_pandas",
]


def _spark_type(column: str) -> T.DataType:
    if column in INT_COLUMNS:
        return T.IntegerType()
    if column in BOOL_COLUMNS:
        return T.BooleanType()
    return T.StringType()


STANDARD_SCHEMA = T.StructType([T.StructField(c, _spark_type(c), c not in ("phone_masked",)) for c in OUTPUT_COLUMNS])
_ARROW_SCHEMA = pa.schema(
    [
        pa.field(c, pa.int32() if c in INT_COLUMNS else pa.bool_() if c in BOOL_COLUMNS else pa.string(), c != "phone_masked")
        for c in OUTPUT_COLUMNS
    ]
)
REJECT_REASON_COLUMN = "reason"


def _require_key_columns(columns: list[str], what: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(
            f"{what} lacks required column(s) {missing}; a raw person record needs 'source' and 'record_id' "
            f"(got columns {sorted(columns)})"
        )


def _raw_projection(df: DataFrame) -> DataFrame:
    """Every raw contract column as a string (missing ones as null); other columns are dropped."""
    present = set(df.columns)
    return df.select(
        *[
            (F.col(c).cast("string") if c in present else F.lit(None).cast("string")).alias(c)
            for c in RAW_COLUMNS
        ]
    )


def standardise_person_records(
    df: DataFrame, hmac_key: bytes, today: dt.date | None = None, allow_landline: bool = True
) -> DataFrame:
    """Raw person records -> standardised person records (lazy; one Arrow pass over all columns).

    Promises: one output row per input row, columns exactly ``OUTPUT_COLUMNS`` (the contract
    columns of architecture.md, then ``HELPER_COLUMNS``); no raw identifier in the output
    (phone, e-mail, id number, QQ and WeChat ids only as HMAC-SHA256 hex under
    ``hmac_key``); missing optional columns count as null; unknown columns are dropped.
    Call ``validate_person_records`` first: this function does not reject rows.
    ``today`` (default: the driver's date) bounds birth dates, the same on every worker.
    Raises ValueError if ``source`` or ``record_id`` is missing, or the key is too short.
    """
    _require_key_columns(df.columns, "person records DataFrame")
    key = check_key(hmac_key)
    today = today or dt.date.today()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = list(standardise_person_rows(batch.to_pylist(), key, today, allow_landline))
            yield pa.RecordBatch.from_pylist(rows, schema=_ARROW_SCHEMA)

    return _raw_projection(df).mapInArrow(run, STANDARD_SCHEMA)


def _pandas_value(value: object) -> object:
    return None if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)) else value


def standardise_person_records_pandas(
    pdf: pd.DataFrame, hmac_key: bytes, today: dt.date | None = None, allow_landline: bool = True
) -> pd.DataFrame:
    """``standardise_person_records`` on a pandas DataFrame (same rows, same columns).

    Integer parts are nullable ``Int32``, ``phone_masked`` is ``bool``, the rest ``object``
    strings with None for null. The index is reset (0..n-1, input order kept).
    """
    _require_key_columns(list(pdf.columns), "person records DataFrame")
    key = check_key(hmac_key)
    started = time.monotonic()
    n = len(pdf)
    columns = {
        c: [_pandas_value(v) for v in pdf[c].tolist()] if c in pdf.columns else [None] * n for c in RAW_COLUMNS
    }
    records = ({c: columns[c][i] for c in RAW_COLUMNS} for i in range(n))
    out = pd.DataFrame(
        list(standardise_person_rows(records, key, today or dt.date.today(), allow_landline)),
        columns=list(OUTPUT_COLUMNS),
    )
    for c in OUTPUT_COLUMNS:
        if c in INT_COLUMNS:
            out[c] = out[c].astype("Int32")
        elif c in BOOL_COLUMNS:
            out[c] = out[c].astype(bool)
        else:
            out[c] = out[c].astype("object").where(out[c].notna(), None)
    log.info("standardise person records (pandas): %d rows in %.2fs", n, time.monotonic() - started)
    return out


def _blank(column: str):
    return F.col(column).isNull() | (F.trim(F.col(column).cast("string")) == "")


def validate_person_records(df: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Split raw person records into (good, rejected); nothing is dropped.

    Rejected rows keep every input column plus ``reason``: ``missing_source``,
    ``missing_record_id``, ``duplicate_record`` (an exact copy of a kept row: the first copy
    stays in good) or ``conflicting_duplicate`` (same source and record_id, different
    content: every copy is rejected, since none can be preferred).
    Raises ValueError if the ``source`` or ``record_id`` column is absent.
    """
    _require_key_columns(df.columns, "person records DataFrame")
    reason = (
        F.when(_blank("source"), F.lit("missing_source")).when(_blank("record_id"), F.lit("missing_record_id"))
    )
    flagged = df.withColumn("_reason", reason)
    keyed = flagged.where(F.col("_reason").isNull())
    all_cols = [F.col(c) for c in df.columns]
    copy_no = F.row_number().over(Window.partitionBy(*all_cols).orderBy(F.lit(1)))
    keyed = keyed.withColumn("_copy", copy_no)
    distinct_versions = F.sum(F.when(F.col("_copy") == 1, 1).otherwise(0)).over(
        Window.partitionBy("source", "record_id")
    )
    keyed = keyed.withColumn("_versions", distinct_versions).withColumn(
        "_reason",
        F.when(F.col("_versions") > 1, F.lit("conflicting_duplicate"))
        .when(F.col("_copy") > 1, F.lit("duplicate_record")),
    )
    checked = flagged.where(F.col("_reason").isNotNull()).select(*df.columns, "_reason").unionByName(
        keyed.select(*df.columns, "_reason")
    )
    good = checked.where(F.col("_reason").isNull()).select(*df.columns)
    rejected = checked.where(F.col("_reason").isNotNull()).select(
        *df.columns, F.col("_reason").alias(REJECT_REASON_COLUMN)
    )
    return good, rejected


def validate_person_records_pandas(pdf: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``validate_person_records`` on pandas: same rules, same reasons, input order kept."""
    _require_key_columns(list(pdf.columns), "person records DataFrame")
    frame = pdf.reset_index(drop=True)

    def blank(column: str) -> pd.Series:
        values = frame[column]
        return values.isna() | values.astype(str).str.strip().eq("")

    reason = pd.Series([None] * len(frame), index=frame.index, dtype="object")
    reason[blank("record_id")] = "missing_record_id"
    reason[blank("source")] = "missing_source"
    keyed = reason.isna()
    # Hashable view of every column, so that NaN equals NaN when comparing copies.
    as_text = frame.astype("object").where(frame.notna(), "\x00null").astype(str)
    copies = as_text[keyed].duplicated(keep="first")
    versions = as_text[keyed].drop_duplicates().groupby(["source", "record_id"]).size()
    key_versions = pd.MultiIndex.from_frame(as_text.loc[keyed, ["source", "record_id"]]).map(versions)
    conflicting = pd.Series(key_versions > 1, index=copies.index)
    reason[copies[copies].index] = "duplicate_record"
    reason[conflicting[conflicting].index] = "conflicting_duplicate"
    good = frame[reason.isna()].copy()
    rejected = frame[reason.notna()].copy()
    rejected[REJECT_REASON_COLUMN] = reason[reason.notna()]
    return good, rejected
