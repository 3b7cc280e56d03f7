"""Benchmark ``writer``: ``Lake.write`` (delta-rs) vs Spark's native Parquet writer.

``Lake.write`` is timed both ways it can write the data files: with Spark's Parquet
writer and a delta-rs commit (``spark-parquet``, the default) and through the Python Data
Source (``datasource``, the fallback). Same cached DataFrame (a realistic mix: keys, Chinese names, decimal amounts, UTC
timestamps, dates, low-cardinality channels, doubles, booleans, arrays, hashed identifiers
with nulls), same number of Spark tasks, snappy compression for both. Reported as rows per
second of each and their ratio (delta / parquet) within one run; target >= 0.85x for the
default path.
"""

from __future__ import annotations

import os
from typing import Any

from bench import BenchContext, benchmark

DEFAULT_ROWS = [1_000_000, 5_000_000]
WARMUP_ROWS = 100_000
TARGET = 0.85
MODES = ["spark-parquet", "datasource"]  # the first is the default and carries the target


def build(spark: Any, n: int) -> Any:
    """``n`` rows of order-like events."""
    from pyspark.sql import functions as F

    def pick(values: list[str], expr: Any) -> Any:
        return F.element_at(F.array(*[F.lit(v) for v in values]), (expr % len(values) + 1).cast("int"))

    names = ["宋小姐", "王先生", "李女士", "张伟", "刘洋", "陈静", "Anna Lee", "杨帆😀"]
    channels = ["store", "wechat_mini", "weibo_shop", "call_centre", "tmall"]
    tags = ["多肉植物", "零食", "艺术", "coffee", "新婚", "母婴", "汽车"]
    idc = F.col("id")
    return spark.range(n).select(
        idc.alias("order_id"),
        F.concat(F.lit("C"), F.lpad((idc * 7919 % 200_000).cast("string"), 8, "0")).alias("customer_id"),
        pick(names, idc * 31).alias("name"),
        ((idc * 104_729 % 1_000_000) / 100).cast("decimal(18,2)").alias("amount"),
        F.timestamp_seconds(F.lit(1_793_491_200) + idc * 13 % (86_400 * 30)).alias("event_ts"),
        F.date_add(F.lit("2026-11-01").cast("date"), (idc % 30).cast("int")).alias("event_date"),
        pick(channels, idc * 17).alias("channel"),
        F.rand(7).alias("score"),
        (idc % 3 == 0).alias("is_member"),
        F.array(pick(tags, idc), pick(tags, idc * 3 + 1)).alias("tags"),
        F.when(idc % 10 == 0, F.lit(None)).otherwise(F.sha2(idc.cast("string"), 256)).alias("phone_hash"),
    )


def _disk(path: str) -> tuple[int, int]:
    files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".parquet")]
    return len(files), sum(os.path.getsize(f) for f in files)


@benchmark("writer")
def run(ctx: BenchContext) -> dict[str, Any]:
    from lake_io import Lake

    spark = ctx.spark
    lakes = {mode: Lake(ctx.settings.model_copy(update={"delta_data_files": mode}), spark) for mode in MODES}
    sizes = ctx.options.get("rows") or DEFAULT_ROWS
    rows_out = []
    warmup = min(WARMUP_ROWS, *sizes)
    for i, n in enumerate([warmup] + list(sizes)):
        warm = i == 0
        with ctx.stage(f"build+cache {n}" + (" (warm-up)" if warm else ""), rows=n):
            df = build(spark, n).cache()
            df.count()
        parquet_path = os.path.join(ctx.workdir, f"parquet_{n}")
        with ctx.stage(f"spark parquet {n}", rows=n) as rec:
            df.write.mode("overwrite").parquet(parquet_path)
        rec["files"], rec["bytes"] = _disk(parquet_path)
        delta: dict[str, dict[str, Any]] = {}
        for mode, lake in lakes.items():
            table = f"bench/writer_{mode.replace('-', '_')}_" + ("warmup" if warm else str(n))
            with ctx.stage(f"delta writer {mode} {n}", rows=n) as rec2:
                lake.write(df, table, mode="overwrite")
            rec2["files"], rec2["bytes"] = _disk(lake.uri(table))
            delta[mode] = rec2
        df.unpersist()
        if warm:
            continue
        p_sec = rec["seconds"]
        d_sec, o_sec = delta[MODES[0]]["seconds"], delta[MODES[1]]["seconds"]
        rows_out.append({
            "rows": n,
            "parquet s": p_sec,
            "delta s": d_sec,
            "parquet rows/s": round(n / p_sec),
            "delta rows/s": round(n / d_sec),
            "ratio delta/parquet": round(p_sec / d_sec, 3),
            "parquet MB": round(rec["bytes"] / 1e6, 1),
            "delta MB": round(delta[MODES[0]]["bytes"] / 1e6, 1),
            "files p/d": f"{rec['files']}/{delta[MODES[0]]['files']}",
            "datasource s": o_sec,
            "ratio datasource/parquet": round(p_sec / o_sec, 3),
        })
    worst = min(r["ratio delta/parquet"] for r in rows_out)
    return {
        "table": rows_out,
        "target_ratio": TARGET,
        "worst_ratio": worst,
        "meets_target": worst >= TARGET,
        "summary": f"Worst throughput ratio delta/parquet: {worst:.2f}x (target >= {TARGET}x), "
                   f"data files by Spark's Parquet writer; through the Python Data Source: "
                   f"{min(r['ratio datasource/parquet'] for r in rows_out):.2f}x.",
        "note": f"'delta' = Lake.write with the default data files ({MODES[0]}); 'datasource' = the Python Data "
                f"Source fallback. A warm-up pass of every writer on {warmup} rows ran first and is not in the table.",
    }
