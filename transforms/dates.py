"""Parsing of the dates that job steps and transforms receive (drop, run and snapshot dates).

Pure (no I/O): usable from ``transforms``, ``pipelines`` and ``expectations`` alike.
"""

from __future__ import annotations

import datetime as dt


def as_date(value: str | dt.date, what: str = "date") -> dt.date:
    """``value`` as a date: a date, a datetime (its date) or an ISO ``YYYY-MM-DD`` string.

    Raises ValueError naming ``what`` (e.g. "run date") and the expected form.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not YYYY-MM-DD") from None
