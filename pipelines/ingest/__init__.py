"""Ingestion: landing drops -> bronze (+ quarantine, reconciliation) -> silver -> person records.

Python API (used by Dagster assets and by ``scim ingest``):

- :func:`ingest_bronze` ``(settings, spark, date) -> {"<source>_<entity>": counts}``
- :func:`build_silver` ``(settings, spark, date) -> {"silver/<table>": {"rows", "delta_version"}}``
- :func:`build_person_records` ``(settings, spark, date=None) -> {"silver/person_records": ...}``
- :func:`ingest_day` ``(settings, spark, date)``: the three in order
- :func:`extract_jdbc` (``pipelines.ingest.jdbc``): incremental CRM extraction from PostgreSQL

Command line: ``scim ingest --date D`` or ``scim ingest --from D1 --to D2`` (``--lake PATH``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time

from pipelines.ingest.bronze import (
    IncompleteDropError,
    ReconciliationError,
    ingest_bronze,
    ingest_source,
)
from pipelines.ingest.silver import PersonRecordError, build_person_records, build_silver

__all__ = [
    "IncompleteDropError", "PersonRecordError", "ReconciliationError", "add_arguments", "build_person_records",
    "build_silver", "ingest_bronze", "ingest_day", "ingest_source", "run",
]

log = logging.getLogger("scim.ingest")


def ingest_day(settings, spark, date, *, require_success: bool = True, lake=None) -> dict:
    """Bronze, silver and person records for one drop date; returns the three results."""
    from lake_io import Lake

    lake = lake or Lake(settings, spark)
    started = time.monotonic()
    bronze = ingest_bronze(settings, spark, date, require_success=require_success, lake=lake)
    silver = build_silver(settings, spark, date, lake=lake)
    persons = build_person_records(settings, spark, date, lake=lake)
    log.info("ingest %s: %d bronze entities, %d silver tables, person records %s (%.1fs)", date, len(bronze),
             len(silver), (persons.get("silver/person_records") or {}).get("rows"), time.monotonic() - started)
    return {"bronze": bronze, "silver": silver, "person_records": persons}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_date, help="drop date to ingest (YYYY-MM-DD)")
    parser.add_argument("--from", dest="date_from", type=_date, help="first drop date of a range")
    parser.add_argument("--to", dest="date_to", type=_date, help="last drop date of a range (inclusive)")
    parser.add_argument("--lake", help="lake root (overrides the configured lake_root)")
    parser.add_argument("--bronze-only", action="store_true", help="stop after bronze, quarantine and reconciliation")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="ingest drops that have no _SUCCESS marker (not for production)")


def _dates(args) -> list[dt.date]:
    if args.date and (args.date_from or args.date_to):
        raise SystemExit("scim ingest: give --date or --from/--to, not both")
    if args.date:
        return [args.date]
    if not (args.date_from and args.date_to):
        raise SystemExit("scim ingest: give --date D, or --from D1 --to D2")
    if args.date_to < args.date_from:
        raise SystemExit(f"scim ingest: --to {args.date_to} is before --from {args.date_from}")
    days = (args.date_to - args.date_from).days
    return [args.date_from + dt.timedelta(days=i) for i in range(days + 1)]


def run(args) -> int:
    from lake_io import Lake
    from pipelines.config import load_settings
    from pipelines.spark import get_spark

    dates = _dates(args)
    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    spark = get_spark(settings)
    lake = Lake(settings, spark)
    try:
        for day in dates:
            ingest_bronze(settings, spark, day, require_success=not args.allow_incomplete, lake=lake)
        if not args.bronze_only:
            build_silver(settings, spark, dates[-1], lake=lake)
            build_person_records(settings, spark, dates[-1], lake=lake)
    except (ReconciliationError, IncompleteDropError, PersonRecordError) as exc:
        log.error("%s", exc)
        return 1
    return 0
