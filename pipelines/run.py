"""``scim run``: materialise the whole asset graph for a day or a date range, in-process.

This is what ``make run`` calls. With ``--sample`` it first writes generated landing drops
for the requested days (skipping days whose drops are already complete), so the embedded
default needs nothing but this command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time

from pipelines.config import ConfigError, load_settings

log = logging.getLogger("scim.run")


def _date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    when = parser.add_argument_group("which days")
    when.add_argument("--date", type=_date, help="one daily partition (default: the last complete drop)")
    when.add_argument("--from", dest="date_from", type=_date, help="first day of a range (backfill as one run)")
    when.add_argument("--to", dest="date_to", type=_date, help="last day of a range")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    sample = parser.add_argument_group("embedded sample data")
    sample.add_argument("--sample", action="store_true", help="generate sample landing drops first (skips complete days)")
    sample.add_argument("--persons", type=int, default=2000, help="persons in the generated population")
    sample.add_argument("--days", type=int, default=2, help="daily drops to generate")
    sample.add_argument("--start", type=_date, default="2026-11-01", help="first generated drop")
    sample.add_argument("--seed", type=int, default=42, help="generator seed")


def _days(args: argparse.Namespace) -> tuple[str, str] | None:
    if args.date and (args.date_from or args.date_to):
        raise SystemExit("scim run: give either --date or --from/--to, not both")
    if args.date:
        return args.date, args.date
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise SystemExit("scim run: --from and --to go together")
        if args.date_to < args.date_from:
            raise SystemExit(f"scim run: --to {args.date_to} is before --from {args.date_from}")
        return args.date_from, args.date_to
    if args.sample:
        start = dt.date.fromisoformat(args.start)
        return start.isoformat(), (start + dt.timedelta(days=args.days - 1)).isoformat()
    return None


def _generate_sample(settings, args) -> None:
    from pipelines.landing import complete_dates
    from sample_data import generate

    start = dt.date.fromisoformat(args.start)
    wanted = {(start + dt.timedelta(days=i)).isoformat() for i in range(args.days)}
    if wanted <= set(complete_dates(settings)):
        log.info("sample drops %s..%s already complete; not regenerating", min(wanted), max(wanted))
        return
    t0 = time.monotonic()
    summary = generate(settings.lake_root, persons=args.persons, days=args.days, start=args.start, seed=args.seed)
    log.info("generated sample drops for %d persons, %d days in %.1fs", args.persons, args.days, time.monotonic() - t0)
    return summary


def run(args: argparse.Namespace) -> int:
    from pipelines.orchestrate import check_days

    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    days = _days(args)
    if days is not None:
        try:  # before generating anything: a day outside the partitions would only fail later
            check_days(*days)
        except ValueError as exc:
            option = "--date" if args.date else "--from/--to" if args.date_from else "--start/--days"
            raise SystemExit(f"scim run: {option}: {exc}") from None
    if args.sample:
        _generate_sample(settings, args)
    if days is None:
        from pipelines.landing import complete_dates

        ready = complete_dates(settings)
        if not ready:
            raise ConfigError(f"no complete landing drop under {settings.lake_path('landing')}; use --sample or --date")
        days = (ready[-1], ready[-1])
    from pipelines.orchestrate import materialize_days, print_summary

    t0 = time.monotonic()
    result = materialize_days(settings, days[0], days[1], config_file=getattr(args, "config", None))
    print_summary(settings, result, time.monotonic() - t0)
    return 0 if result.success else 1

