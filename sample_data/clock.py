"""Time helpers: the generated world runs on Asia/Shanghai local time (UTC+8, no DST).

Times are numpy ``datetime64[s]`` arrays holding *local* wall-clock time; these helpers
format them the way each source writes them.
"""

from __future__ import annotations

import numpy as np

DAY = np.timedelta64(1, "D")
SECOND = np.timedelta64(1, "s")
UTC_OFFSET = np.timedelta64(8, "h")

# Spring Festival (lunar new year) dates: the CRM's biggest offline season.
SPRING_FESTIVAL = {
    2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10",
    2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26", 2029: "2029-02-13",
    2030: "2030-02-03",
}


def day(s: str) -> np.datetime64:
    return np.datetime64(s, "D")


def _stamp(t: np.ndarray, sep: bytes, suffix: bytes) -> np.ndarray:
    # byte-level formatting: far cheaper than per-element string operations on millions of rows
    t = np.asarray(t, dtype="datetime64[s]")
    d = t.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (d - month_start).astype(np.int64) + 1
    sec = (t - d).astype(np.int64)
    out = np.empty((len(t), 19 + len(suffix)), dtype=np.uint8)
    fields = ((0, 4, year), (5, 2, month), (8, 2, day), (11, 2, sec // 3600), (14, 2, sec // 60 % 60),
              (17, 2, sec % 60))
    for pos, width, value in fields:
        for k in range(width):
            out[:, pos + k] = 48 + value // 10 ** (width - 1 - k) % 10
    out[:, 4] = out[:, 7] = ord("-")
    out[:, 13] = out[:, 16] = ord(":")
    out[:, 10] = sep[0]
    if suffix:
        out[:, 19:] = np.frombuffer(suffix, dtype=np.uint8)
    return out.view(f"S{19 + len(suffix)}").ravel().astype(f"U{19 + len(suffix)}").astype(object)


def iso(t: np.ndarray) -> np.ndarray:
    """``2019-03-02T10:11:12+08:00`` strings (object array)."""
    return _stamp(t, b"T", b"+08:00")


def local(t: np.ndarray) -> np.ndarray:
    """``2019-03-02 10:11:12`` strings (object array), as the CRM writes them."""
    return _stamp(t, b" ", b"")


def date_str(t: np.ndarray) -> np.ndarray:
    """``2019-03-02`` strings (object array)."""
    return np.datetime_as_string(np.asarray(t, dtype="datetime64[D]"), unit="D").astype(object)


def unix(t: np.ndarray) -> np.ndarray:
    """Unix seconds (int64) of local times."""
    return ((np.asarray(t, dtype="datetime64[s]") - UTC_OFFSET).astype("int64"))


def drop_index(t: np.ndarray, start: np.datetime64) -> np.ndarray:
    """Index of the daily drop a local time belongs to; history (before ``start``) is drop 0."""
    d = (np.asarray(t, dtype="datetime64[s]").astype("datetime64[D]") - start).astype("int64")
    return np.maximum(d, 0)


def random_times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, daytime: bool = True) -> np.ndarray:
    """Uniform days in ``[lo, hi)`` (datetime64[D] arrays) with a realistic time of day."""
    lo = np.asarray(lo, dtype="datetime64[D]")
    hi = np.asarray(hi, dtype="datetime64[D]")
    span = np.maximum((hi - lo).astype("int64"), 1)
    d = lo + (rng.random(len(lo)) * span).astype("int64")
    return d.astype("datetime64[s]") + time_of_day(rng, len(lo), daytime)


def time_of_day(rng: np.random.Generator, n: int, daytime: bool = True) -> np.ndarray:
    """Seconds after midnight, peaking at lunch and in the evening (social media hours)."""
    if not daytime:
        return (rng.random(n) * 86400).astype("int64") * SECOND
    hours = rng.choice(24, size=n, p=_HOUR_WEIGHTS)
    return (hours * 3600 + rng.integers(0, 3600, n)).astype("int64") * SECOND


_H = np.array([2, 1, 0.6, 0.3, 0.2, 0.3, 0.8, 2, 3, 4, 4.5, 5, 6, 5, 4.5, 4.5, 4.5, 5, 5.5, 6.5, 8, 9, 8, 5])
_HOUR_WEIGHTS = _H / _H.sum()
