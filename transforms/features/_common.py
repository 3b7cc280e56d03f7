"""Small helpers shared by the feature modules (no I/O)."""

from __future__ import annotations

import datetime as dt
import math

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.dates import as_date as _as_date


def require_columns(df: DataFrame, columns: list[str] | tuple[str, ...], what: str) -> None:
    """Raise ``ValueError`` naming ``what`` and the missing columns (and what is there)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {missing}; the input has {df.columns}. "
            "Fix the upstream table or rename the columns before calling."
        )


def as_date(value: str | dt.date) -> dt.date:
    """A snapshot date given as ``date`` or ``'YYYY-MM-DD'`` (see :func:`transforms.dates.as_date`)."""
    return _as_date(value, "snapshot date")


def local_date(ts: Column, timezone: str) -> Column:
    """The business-day date of a UTC timestamp in ``timezone``."""
    return F.to_date(F.from_utc_timestamp(ts, timezone))


def days_back(col: Column, snapshot: dt.date) -> Column:
    """Whole days from a date column to the snapshot date (0 = the snapshot day itself)."""
    return F.datediff(F.lit(snapshot), col)


def in_last_days(date_col: Column, snapshot: dt.date, days: int) -> Column:
    """True when ``date_col`` falls in the ``days`` days ending with the snapshot day."""
    d = days_back(date_col, snapshot)
    return (d >= 0) & (d < days)


def saturate(x: Column, tau: float) -> Column:
    """1 - exp(-x / tau): 0 at x = 0, 0.63 at x = tau, approaching 1 (null x counts as 0)."""
    return F.lit(1.0) - F.exp(-F.coalesce(x.cast("double"), F.lit(0.0)) / F.lit(float(tau)))


def log_scale(x: Column, ref: float) -> Column:
    """min(1, ln(1 + x) / ln(1 + ref)): 1 at or above ``ref``."""
    v = F.log1p(F.greatest(F.coalesce(x.cast("double"), F.lit(0.0)), F.lit(0.0))) / F.lit(math.log1p(ref))
    return F.least(v, F.lit(1.0))
