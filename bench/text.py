"""Benchmark ``text``: segmentation + sentiment throughput on Spark vs single-process jieba (target >= 1M chars/s/core)."""

from __future__ import annotations

from typing import Any

from bench import BenchContext, benchmark

DEFAULT_POSTS = [20_000]


@benchmark("text")
def run(ctx: BenchContext) -> dict[str, Any]:
    from transforms.text.bench import bench_text

    rows = []
    for n in ctx.options.get("rows") or DEFAULT_POSTS:
        with ctx.stage("text", posts=n):
            r = bench_text(ctx.spark, n)
        rows.append({"posts": n, **{k: v for k, v in r.items() if isinstance(v, (int, float, str))}})
    return {"table": rows, "target": ">= 1,000,000 chars/s per core on Spark"}
