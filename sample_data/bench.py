"""Benchmark hook for bench/: time one generation run of a given size."""

from __future__ import annotations

import resource
import shutil
import tempfile
from pathlib import Path


def bench_generate(persons: int, days: int = 2, seed: int = 42, root: str | None = None) -> dict:
    """Generate ``persons`` x ``days`` into a temporary folder (removed afterwards unless
    ``root`` is given) and report seconds, records written, bytes and peak memory."""
    from .generator import generate

    tmp = Path(root) if root else Path(tempfile.mkdtemp(prefix="scim_bench_gen_"))
    try:
        s = generate(tmp, persons, days, "2026-11-01", seed, progress=lambda m: None)
        records = sum(n for per_day in s["files"].values() for n in per_day.values())
        size = sum(p.stat().st_size for p in (tmp / "landing").rglob("*") if p.is_file())
    finally:
        if root is None:
            shutil.rmtree(tmp, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"name": "generate", "persons": persons, "days": days, "seconds": s["seconds"], "records": records,
            "landing_bytes": size, "records_per_second": round(records / max(s["seconds"], 1e-9)),
            "peak_rss_mb": round(peak_mb, 1)}
