"""Small column helpers shared by the marts: surrogate keys, date keys, input checks."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


class MartInputError(ValueError):
    """An input DataFrame lacks columns a mart needs; the message names mart, input and columns."""


def require(df: DataFrame, columns: list[str], mart: str, name: str) -> None:
    """Raise :class:`MartInputError` unless ``df`` has every column of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MartInputError(
            f"{mart}: input {name} lacks column(s) {missing} (it has {df.columns}); "
            f"map the silver columns in pipelines/publish.py or rebuild the input table"
        )


def surrogate_key(*cols: Column | str) -> Column:
    """A stable bigint surrogate key: xxhash64 of the business key (same key, same value, every run)."""
    return F.xxhash64(*[F.col(c) if isinstance(c, str) else c for c in cols])


def date_key(col: Column | str) -> Column:
    """yyyymmdd as int (the dim_date key) of a date column."""
    c = F.col(col) if isinstance(col, str) else col
    return F.date_format(c, "yyyyMMdd").cast("int")


def money(col: Column | str) -> Column:
    """Money as decimal(18,2)."""
    c = F.col(col) if isinstance(col, str) else col
    return c.cast("decimal(18,2)")


def safe_ratio(num: Column, den: Column) -> Column:
    """num / den as double; null when den is 0 or null (a ratio over nothing is unknown, not 0)."""
    return F.when(den > 0, num.cast("double") / den.cast("double"))


def local_date(ts: Column | str, timezone: str) -> Column:
    """Business-day date of a UTC timestamp in ``timezone``."""
    c = F.col(ts) if isinstance(ts, str) else ts
    return F.to_date(F.from_utc_timestamp(c, timezone))


def utc_now() -> Column:
    """Current UTC timestamp (session time zone is UTC in SCIM sessions)."""
    return F.current_timestamp()
