"""``scim lake``: look at the lake's Delta tables without Spark (list, history, describe, vacuum)."""

from __future__ import annotations

import argparse
import json

from pipelines.config import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "history", "describe", "vacuum"], help="what to do")
    parser.add_argument("table", nargs="?", help="lake-relative table, e.g. silver/orders (all for list)")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    parser.add_argument("--limit", type=int, default=10, help="history: newest N versions")
    parser.add_argument("--retention-hours", type=int, default=168, help="vacuum: keep files newer than this")
    parser.add_argument("--dry-run", action="store_true", help="vacuum: list the files it would delete")


def lake_root_exists(root: str) -> bool:
    """True when the lake root is an existing directory (local path or object-store URI). Reads only."""
    from pyarrow import fs as pafs

    from lake_io.datasource import filesystem

    filesystem_, path = filesystem(root)
    return filesystem_.get_file_info(path).type == pafs.FileType.Directory


def run(args: argparse.Namespace) -> int:
    from lake_io import Lake

    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    lake = Lake(settings)
    if args.action == "list":
        tables = lake.list_tables(args.table or "")
        if not tables:
            where = settings.lake_path(args.table) if args.table else settings.lake_root
            state = "does not exist" if not lake_root_exists(settings.lake_root) else "holds no Delta table"
            raise SystemExit(f"scim lake list: {where} {state}; pass --lake PATH (or set SCIM_LAKE_ROOT) "
                             "to an existing lake, or create one with `scim run --sample`")
        for table in tables:
            d = lake.describe(table)
            print(f"{table:40s} v{d['version']:<5d} rows={d['num_rows'] if d['num_rows'] is not None else '?':<10} "
                  f"files={d['num_files']}")
        return 0
    if not args.table:
        raise SystemExit(f"scim lake {args.action}: name a table (see `scim lake list`)")
    if not lake.exists(args.table):
        raise SystemExit(f"scim lake {args.action}: no Delta table {args.table!r} under {settings.lake_root}")
    if args.action == "history":
        for entry in lake.history(args.table, limit=args.limit):
            print(json.dumps({k: entry.get(k) for k in ("version", "timestamp", "operation", "operationParameters")},
                             ensure_ascii=False, default=str))
    elif args.action == "describe":
        print(json.dumps(lake.describe(args.table), ensure_ascii=False, indent=2, default=str))
    else:
        deleted = lake.vacuum(args.table, retention_hours=args.retention_hours, dry_run=args.dry_run)
        print(f"{'would delete' if args.dry_run else 'deleted'} {len(deleted)} files from {args.table}")
    return 0
