"""Benchmark ``text``: segmentation + sentiment throughput on Spark vs single-process jieba (target >= 1M chars/s/core).

See ``transforms/text/bench.py`` for what each row measures.  ``--rows`` sets the number of
posts (default 50,000, about 2.6M characters).
"""

from __future__ import annotations

from typing import Any

from bench import BenchContext, benchmark

DEFAULT_POSTS = [50_000]


@benchmark("text")
def run(ctx: BenchContext) -> dict[str, Any]:
    from transforms.text.bench import TARGET_PER_CORE, bench_text, summary_rows

    rows, raw = [], []
    for n in ctx.options.get("rows") or DEFAULT_POSTS:
        with ctx.stage("text", posts=n) as stage:
            r = bench_text(ctx.spark, n)
            stage.update(load_before=r["load_before"], load_after=r["load_after"])
        raw.append(r)
        rows += summary_rows(r)
    loads = "; ".join(f"{r['n_posts']} posts: load {r['load_before']} before, {r['load_after']} after" for r in raw)
    note = (
        f"Target: >= {TARGET_PER_CORE:,} characters per second per core on Spark. "
        "chars/s/core (wall) = characters / (wall seconds x Spark cores); chars/s/core (cpu) = characters / CPU "
        "seconds spent by the Spark JVM and its Python workers (less sensitive to other processes on a shared "
        "machine); single-process rows run on one core. x jieba = the cpu figure (else the wall figure) / jieba's. "
        f"Fastest of {raw[0]['repeats'] if raw else '?'} runs per path after a warm-up. Load averages (1, 5, 15 min): {loads}."
    )
    return {"table": rows, "note": note, "raw": raw, "target": f">= {TARGET_PER_CORE:,} chars/s per core on Spark"}
