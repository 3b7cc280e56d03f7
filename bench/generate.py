"""Benchmark ``generate``: the sample-source generator at 100k and 1M persons (target: 1M in <= 5 min)."""

from __future__ import annotations

from typing import Any

from bench import BenchContext, benchmark

DEFAULT_PERSONS = [100_000, 1_000_000]
TARGET_SECONDS_1M = 300


@benchmark("generate")
def run(ctx: BenchContext) -> dict[str, Any]:
    from sample_data.bench import bench_generate

    rows = []
    for persons in ctx.options.get("rows") or DEFAULT_PERSONS:
        with ctx.stage("generate", persons=persons) as stage:
            result = bench_generate(persons)
            stage.update(records=result["records"], peak_rss_mb=result["peak_rss_mb"])
        rows.append({"persons": persons, "seconds": result["seconds"], "records": result["records"],
                     "records_per_s": result["records_per_second"], "landing_MB": round(result["landing_bytes"] / 1e6),
                     "peak_rss_MB": result["peak_rss_mb"]})
    return {"table": rows, "target": f"1M persons in <= {TARGET_SECONDS_1M}s"}
