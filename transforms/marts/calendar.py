"""gold/dim_date: one row per calendar day with Chinese holidays and shopping festivals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import DataFrame, SparkSession

CALENDAR_FILE = Path(__file__).with_name("calendar.yaml")

DIM_DATE_SCHEMA = (
    "date_key int, date date, year int, quarter int, month int, day int, day_of_week int, is_weekend boolean, "
    "iso_week int, is_spring_festival boolean, is_national_day boolean, is_618 boolean, is_double_11 boolean, "
    "is_double_12 boolean, shopping_festival string, is_shopping_festival boolean"
)


def load_calendar(path: str | Path | None = None) -> dict[str, Any]:
    """The marketing calendar YAML (Spring Festival dates per year, fixed-date festivals)."""
    with open(path or CALENDAR_FILE, encoding="utf-8") as fh:
        cal = yaml.safe_load(fh)
    cal["spring_festival"] = {int(y): dt.date.fromisoformat(str(d)) for y, d in cal["spring_festival"].items()}
    return cal


def _festival(day: dt.date, festivals: dict[str, list[int]]) -> str | None:
    for name, (month, mday, runup) in festivals.items():
        peak = dt.date(day.year, month, mday)
        if peak - dt.timedelta(days=runup) <= day <= peak:
            return name
    return None


def calendar_rows(start: dt.date, end: dt.date, calendar: dict[str, Any] | None = None) -> list[tuple]:
    """The dim_date rows from ``start`` to ``end`` inclusive (plain tuples in DIM_DATE_SCHEMA order).

    ``is_spring_festival``: the festival day and the following ``spring_festival_days - 1``
    days (a year missing from the calendar raises: the lunar date cannot be guessed);
    ``is_national_day``: Oct 1 and the following days of the golden week; ``is_618`` /
    ``is_double_11`` / ``is_double_12``: the festival day itself; ``shopping_festival``: the
    festival whose run-up period (calendar.yaml) contains the day, else null.
    """
    cal = calendar or load_calendar()
    if end < start:
        raise ValueError(f"dim_date: end {end} is before start {start}")
    sf_days = int(cal.get("spring_festival_days", 7))
    nd_days = int(cal.get("national_day_days", 7))
    festivals = {k: v for k, v in cal["festivals"].items() if v}
    rows = []
    day = start
    while day <= end:
        sf = cal["spring_festival"].get(day.year)
        sf_prev = cal["spring_festival"].get(day.year - 1)
        if sf is None:
            raise ValueError(f"dim_date: no Spring Festival date for {day.year} in {CALENDAR_FILE.name}; add it")
        in_sf = any(s is not None and s <= day < s + dt.timedelta(days=sf_days) for s in (sf, sf_prev))
        fest = _festival(day, festivals)
        rows.append((
            int(day.strftime("%Y%m%d")), day, day.year, (day.month - 1) // 3 + 1, day.month, day.day,
            day.isoweekday(), day.isoweekday() >= 6, day.isocalendar()[1], in_sf,
            day.month == 10 and day.day <= nd_days, (day.month, day.day) == (6, 18), (day.month, day.day) == (11, 11),
            (day.month, day.day) == (12, 12), fest, fest is not None,
        ))
        day += dt.timedelta(days=1)
    return rows


def build_dim_date(spark: SparkSession, start: dt.date, end: dt.date, calendar: dict[str, Any] | None = None) -> DataFrame:
    """gold/dim_date for ``start``..``end`` (see :func:`calendar_rows` for the flags)."""
    return spark.createDataFrame(calendar_rows(start, end, calendar), DIM_DATE_SCHEMA)
