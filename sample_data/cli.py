"""``scim generate``: write generated landing drops and their truth (docs/generate.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def _date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from exc


def _rate(value: str) -> float:
    v = float(value)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"dirt rate {value} must be in [0, 1), e.g. 0.003")
    return v


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--persons", type=int, default=2000, help="persons in the generated population")
    parser.add_argument("--days", type=int, default=2, help="daily drops to write (the first carries the history)")
    parser.add_argument("--start", type=_date, default="2026-11-01", help="date of the first drop (YYYY-MM-DD)")
    parser.add_argument("--seed", type=int, default=42, help="random seed: the same seed gives identical files")
    parser.add_argument("--lake", help="lake root to write under; unset = the settings' lake_root")
    parser.add_argument("--dirt-rate", type=_rate, default=0.003, help="share of dirty records per file")
    parser.add_argument("--crm-encoding", default="gbk", help="encoding of the CRM CSV files (gbk, gb18030, utf-8)")
    parser.add_argument("--chunk-size", type=int, default=25_000, help="persons generated per chunk (memory bound)")
    parser.add_argument("--workers", type=int, help="processes generating chunks in parallel; unset = the number of CPUs")
    parser.add_argument("--crm-postgres", metavar="URL",
                        help="also load the CRM into PostgreSQL schema crm (e.g. postgresql://user@host:5432/db)")


def run(args: argparse.Namespace) -> int:
    from pipelines.config import load_settings

    from .generator import generate

    root = args.lake or load_settings(getattr(args, "config", None)).lake_root
    if "://" in str(root) and not str(root).startswith("file://"):
        print(f"scim generate: lake {root} is not a local path; generate writes local files only", file=sys.stderr)
        return 2
    root = str(root).removeprefix("file://")
    try:
        summary = generate(root, args.persons, args.days, args.start, args.seed, dirt_rate=args.dirt_rate,
                           crm_encoding=args.crm_encoding, chunk_size=args.chunk_size,
                           crm_postgres=args.crm_postgres, workers=args.workers,
                           progress=lambda m: print(m, flush=True))
    except (ValueError, LookupError, RuntimeError) as exc:
        print(f"scim generate: {exc}", file=sys.stderr)
        return 2
    print(f"\nlanding files under {root}/landing (records per drop):")
    for name, per_day in summary["files"].items():
        days = ", ".join(f"{d}: {n}" for d, n in per_day.items())
        print(f"  {name:28s} {days}")
    print("truth: " + ", ".join(f"{k} {v}" for k, v in summary["truth"].items()))
    print("dirt injected: " + (", ".join(f"{k} {v}" for k, v in summary["dirt"].items()) or "none"))
    print(f"done in {summary['seconds']}s")
    return 0
