"""``python -m bench [name ...] [--rows N,N]``: run benchmarks, write JSON + Markdown results."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import REGISTRY, MODULES, BenchContext, machine_facts

RESULTS = Path(__file__).resolve().parent / "results"


def _markdown(name: str, result: dict[str, Any], facts: dict[str, Any], stages: list[dict[str, Any]]) -> str:
    lines = [f"# Benchmark `{name}`", "", f"Run at {result['started_utc']} UTC.", ""]
    table = result.get("table") or []
    if table:
        cols = list(table[0])
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(str(row.get(c, "")) for c in cols) + " |" for row in table]
        lines.append("")
    for key in ("summary", "note"):
        if result.get(key):
            lines += [str(result[key]), ""]
    lines += ["## Stages", "", "| stage | seconds | facts |", "|---|---|---|"]
    for s in stages:
        extra = {k: v for k, v in s.items() if k not in ("stage", "seconds")}
        lines.append(f"| {s['stage']} | {s['seconds']} | {json.dumps(extra, ensure_ascii=False) if extra else ''} |")
    lines += ["", "## Machine", ""] + [f"- {k}: {v}" for k, v in facts.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    for module in MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {sorted(REGISTRY)})")
    parser.add_argument("--rows", help="comma-separated row counts for benchmarks that take sizes")
    parser.add_argument("--out", default=str(RESULTS), help="results directory")
    parser.add_argument("--keep", action="store_true", help="keep the scratch lake")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    unknown = [n for n in args.names if n not in REGISTRY]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {sorted(REGISTRY)}")
    names = args.names or sorted(REGISTRY)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("TZ", "UTC")
    from pipelines.config import load_settings
    from pipelines.spark import get_spark

    workdir = tempfile.mkdtemp(prefix="scim-bench-")
    settings = load_settings(lake_root=os.path.join(workdir, "lake"))
    spark = get_spark(settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"rows": [int(x) for x in args.rows.split(",")]} if args.rows else {}
    try:
        for name in names:
            ctx = BenchContext(settings=settings, spark=spark, workdir=workdir, options=options)
            started = dt.datetime.now(dt.timezone.utc)
            facts_before = machine_facts()
            result = REGISTRY[name](ctx)
            result["started_utc"] = started.strftime("%Y-%m-%d %H:%M:%S")
            facts = machine_facts()
            facts["load_avg_at_start"] = facts_before.get("load_avg_1_5_15")
            facts["spark_master"] = settings.spark.master
            stamp = started.strftime("%Y%m%dT%H%M%SZ")
            payload = {"benchmark": name, "result": result, "stages": ctx.stages, "machine": facts}
            (out / f"{name}-{stamp}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
            (out / f"{name}-{stamp}.md").write_text(_markdown(name, result, facts, ctx.stages), encoding="utf-8")
            print(_markdown(name, result, facts, ctx.stages))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
