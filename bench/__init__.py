"""Benchmarks of SCIM: ``python -m bench [name ...]`` (what ``make bench`` runs).

A benchmark is a function ``run(ctx: BenchContext) -> dict`` registered under a name with
:func:`benchmark`; its module is listed in ``MODULES`` so the runner imports it. It times its
stages with ``ctx.stage("name")`` and returns its figures (JSON-serialisable) plus an
optional ``"table"`` (list of dicts) that the runner renders as Markdown. Results go to
``bench/results/<name>-<UTC timestamp>.json`` and ``.md`` with the machine facts.

To add one: create ``bench/<name>.py`` with ``@benchmark("<name>")`` on its function and
append the module name to ``MODULES``.
"""

from __future__ import annotations

import os
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

MODULES = [
    "bench.writer", "bench.generate", "bench.identity", "bench.text", "bench.identity_ceiling", "bench.sentiment",
    "bench.febrl",
]
REGISTRY: dict[str, Callable[["BenchContext"], dict[str, Any]]] = {}


def benchmark(name: str) -> Callable:
    """Register ``fn`` as the benchmark ``name``."""

    def deco(fn: Callable[["BenchContext"], dict[str, Any]]) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = fn
        return fn

    return deco


@dataclass
class BenchContext:
    """What a benchmark gets: settings, the Spark session, a scratch lake, options, a stage timer."""

    settings: Any
    spark: Any
    workdir: str
    options: dict[str, Any] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str, **facts: Any) -> Iterator[dict[str, Any]]:
        """Time a stage; facts added to the yielded dict are kept with its duration."""
        record = {"stage": name, **facts}
        t0 = time.perf_counter()
        try:
            yield record
        finally:
            record["seconds"] = round(time.perf_counter() - t0, 3)
            self.stages.append(record)


def machine_facts() -> dict[str, Any]:
    """Cores, RAM, CPU model, load and library versions of this machine."""
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        with open("/proc/meminfo") as fh:
            kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
        facts["ram_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/cpuinfo") as fh:
            facts["cpu_model"] = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        facts["cpu_model"] = platform.processor()
    try:
        facts["load_avg_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("pyspark", "deltalake", "pyarrow", "pandas", "duckdb"):
        try:
            facts[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return facts
