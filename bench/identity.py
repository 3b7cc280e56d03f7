"""Benchmark ``identity``: SCIM's identity engine vs a plain Splink DuckDB run on the same records.

Targets (issue 5): precision >= 0.99 for automatic merges, pairwise F1 >= 0.90, and the
identity stage within 1.5x of the plain Splink run, at 100k persons.
"""

from __future__ import annotations

import os
from typing import Any

from bench import BenchContext, benchmark

DEFAULT_PERSONS = [100_000]


@benchmark("identity")
def run(ctx: BenchContext) -> dict[str, Any]:
    from pipelines.identity.bench import identity_benchmark

    rows = []
    for persons in ctx.options.get("rows") or DEFAULT_PERSONS:
        with ctx.stage("identity", persons=persons):
            r = identity_benchmark(persons=persons, workdir=os.path.join(ctx.workdir, f"identity-{persons}"),
                                   settings=ctx.settings, spark=ctx.spark)
        rows.append({"persons": persons, "records": r.get("records"), "speed_ratio": r.get("speed_ratio"),
                     **{f"scim_{k}": v for k, v in (r.get("scim") or {}).items() if isinstance(v, (int, float))},
                     **{f"plain_{k}": v for k, v in (r.get("plain_splink") or {}).items()
                        if isinstance(v, (int, float))},
                     **{f"scim_f1_{pair}": m.get("f1") for pair, m in
                        ((r.get("scim") or {}).get("by_source_pair") or {}).items() if m.get("f1") is not None}})
    return {"table": rows, "targets": "precision >= 0.99, F1 >= 0.90, speed ratio <= 1.5"}
