"""The BI catalog: the lake's gold (and, for engineers, silver) Delta tables as DuckDB views.

Two DuckDB files under ``<lake>/_bi/``:

- ``scim.duckdb``: schema ``gold``, one view per gold table. The BI endpoint: what
  ``scim sql``, Superset (SQLAlchemy + duckdb-engine), notebooks and the DuckDB CLI open.
- ``scim_engineering.duckdb``: schemas ``gold`` and ``silver`` (``scim sql --silver``);
  file mode 0600, since silver holds hashed identifiers and masked contact details.

Each view reads exactly the Parquet files of the table's Delta snapshot at refresh time
(partition values from the Delta log, types from the Delta schema, timestamps as
``TIMESTAMPTZ``); the table description and column comments become ``COMMENT ON``
entries, so ``duckdb_columns()``, SQLAlchemy's inspector and Superset show them. Each file
also holds ``main.scim_catalog``: one row per table with the Delta version it shows.

:func:`refresh_catalog` builds both files from the current snapshots into temporary files
and renames them over the old ones (``os.replace``): a reader sees the previous refresh or
the new one, never a mix. ``publish_gold`` calls :func:`refresh_after_write` once every
gold table of the night is written, so BI moves from one complete night to the next;
``scim erase`` calls it too.
Why views over snapshot files and not DuckDB's ``delta`` extension, and what vacuum does
to them: docs/bi.md.

Also the ``scim sql`` command (``add_arguments``/``run``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from pipelines.config import Settings

log = logging.getLogger("scim.bi")

CATALOG_DIR = "_bi"
CATALOGS = {"bi": ("scim.duckdb", ("gold",)), "engineering": ("scim_engineering.duckdb", ("gold", "silver"))}
# DuckDB 2.x writes a storage format that DuckDB 1.x cannot open; BI tools often bundle a 1.x
# (Superset's [duckdb] extra pins duckdb<2). Views and comments need nothing newer than this.
STORAGE_VERSION = "v1.0.0"
META_TABLE = "scim_catalog"

_PRIMITIVES = {
    "string": "VARCHAR", "long": "BIGINT", "integer": "INTEGER", "short": "SMALLINT", "byte": "TINYINT",
    "float": "FLOAT", "double": "DOUBLE", "boolean": "BOOLEAN", "binary": "BLOB", "date": "DATE",
    "timestamp": "TIMESTAMPTZ", "timestamp_ntz": "TIMESTAMP",
}


class BIError(RuntimeError):
    """The BI catalog cannot be built or opened; the message names the table or file and the fix."""


# -- where -------------------------------------------------------------------------------------
def catalog_path(settings: Settings, engineering: bool = False) -> Path:
    """The catalog file (``<lake>/_bi/scim.duckdb``, or ``scim_engineering.duckdb``). Touches nothing.

    Raises :class:`BIError` for a lake that is not a local path: DuckDB reads object stores
    only through its ``httpfs`` extension, which is not installable offline (docs/bi.md).
    """
    if not settings.lake_is_local:
        raise BIError(f"the BI catalog needs a local lake; {settings.lake_root} is remote: query it with "
                      f"Spark or Trino (docs/bi.md), or DuckDB with the httpfs and delta extensions where installable")
    name = CATALOGS["engineering" if engineering else "bi"][0]
    return Path(settings.lake_root) / CATALOG_DIR / name


def sqlalchemy_url(settings: Settings, engineering: bool = False) -> str:
    """The SQLAlchemy URL (duckdb-engine) of the catalog, read-only."""
    return f"duckdb:///{catalog_path(settings, engineering)}?access_mode=read_only"


# -- building ----------------------------------------------------------------------------------
def duckdb_type(delta_type: Any) -> str:
    """DuckDB type of a Delta schema type (its JSON form: a string or a nested dict)."""
    if isinstance(delta_type, str):
        if delta_type.startswith("decimal"):
            return delta_type.upper()
        if delta_type not in _PRIMITIVES:
            raise BIError(f"Delta type {delta_type!r} has no DuckDB equivalent here; extend _PRIMITIVES in pipelines/bi/catalog.py")
        return _PRIMITIVES[delta_type]
    kind = delta_type.get("type")
    if kind == "array":
        return f"{duckdb_type(delta_type['elementType'])}[]"
    if kind == "map":
        return f"MAP({duckdb_type(delta_type['keyType'])}, {duckdb_type(delta_type['valueType'])})"
    if kind == "struct":
        return "STRUCT(" + ", ".join(f"{_ident(f['name'])} {duckdb_type(f['type'])}" for f in delta_type["fields"]) + ")"
    raise BIError(f"Delta type {delta_type!r} is not understood by pipelines/bi/catalog.py duckdb_type")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def unreadable_reason(snap: dict[str, Any]) -> str | None:
    """Why a view over the snapshot's Parquet files would show wrong rows (None when it is fine)."""
    features = set(snap["reader_features"])
    if "deletionVectors" in features:
        return ("it uses deletion vectors, which a view over its Parquet files cannot apply; purge them "
                "(Spark: REORG TABLE ... APPLY (PURGE)) or query it with Spark/Trino")
    if snap["configuration"].get("delta.columnMapping.mode", "none") != "none" or "columnMapping" in features:
        return "it uses column mapping (physical column names differ); query it with Spark/Trino"
    return None


def view_sql(con: Any, snap: dict[str, Any]) -> str:
    """``SELECT`` over the snapshot's files: one ``read_parquet`` per partition, columns typed as in Delta.

    Reads the Parquet footers once (through ``con``) to find columns absent from older files
    (NULL, as Delta readers give them) and timestamps stored without the UTC flag.
    """
    fields, parts = snap["fields"], snap["partition_by"]
    if not snap["files"]:
        cols = ", ".join(f"CAST(NULL AS {duckdb_type(f['type'])}) AS {_ident(f['name'])}" for f in fields)
        return f"SELECT {cols} WHERE false"
    groups: dict[tuple, list[str]] = {}
    for f in snap["files"]:
        if not os.path.exists(f["uri"]):
            raise BIError(f"table {snap['table']} v{snap['version']}: data file {f['uri']} is missing "
                          f"(deleted by hand or by a vacuum without retention); repair the table "
                          f"(deltalake DeltaTable.repair) or rewrite it")
        groups.setdefault(tuple(f["partition_values"].get(c) for c in parts), []).append(f["uri"])
    selects = []
    for values, uris in sorted(groups.items(), key=lambda kv: [v or "" for v in kv[0]]):
        source = ("read_parquet([" + ", ".join(_lit(u) for u in uris) + "], union_by_name = true, "
                  "hive_partitioning = false)")
        physical = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        pvalue = dict(zip(parts, values))
        cols = []
        for f in fields:
            name, target = f["name"], duckdb_type(f["type"])
            if name in pvalue:
                expr = "NULL" if pvalue[name] is None else _lit(pvalue[name])
            elif name not in physical:
                expr = "NULL"
            elif target == "TIMESTAMPTZ" and physical[name].startswith("TIMESTAMP") and "TIME ZONE" not in physical[name]:
                expr = f"timezone('UTC', {_ident(name)})"  # stored without the UTC flag (e.g. INT96): it is UTC
            elif isinstance(f["type"], dict):
                cols.append(f"{_ident(name)}")  # nested: Parquet already carries the shape
                continue
            else:
                expr = _ident(name)
            cols.append(f"CAST({expr} AS {target}) AS {_ident(name)}")
        selects.append(f"SELECT {', '.join(cols)} FROM {source}")
    return "\nUNION ALL\n".join(selects)


def _build(path: Path, layers: tuple[str, ...], snaps: dict[str, dict[str, Any]], skipped: dict[str, str]) -> None:
    """Write a catalog for ``layers`` to ``path`` (a new file)."""
    import duckdb

    refreshed = dt.datetime.now(dt.timezone.utc)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH {_lit(str(path))} AS cat (STORAGE_VERSION {_lit(STORAGE_VERSION)})")
        con.execute(f"CREATE TABLE cat.main.{META_TABLE} (layer VARCHAR, table_name VARCHAR, delta_version BIGINT, "
                    "num_files BIGINT, num_rows BIGINT, refreshed_at TIMESTAMPTZ, skipped_reason VARCHAR)")
        con.execute(f"COMMENT ON TABLE cat.main.{META_TABLE} IS "
                    f"{_lit('Which Delta version of each lake table the views of this catalog show (scim sql --refresh rebuilds it)')}")
        for layer in layers:
            con.execute(f"CREATE SCHEMA cat.{_ident(layer)}")
        for table, snap in sorted(snaps.items()):
            layer, name = table.split("/", 1)
            if layer not in layers:
                continue
            reason = skipped.get(table)
            rows = [f["num_records"] for f in snap["files"]]
            con.execute(f"INSERT INTO cat.main.{META_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [layer, name, snap["version"], len(snap["files"]),
                         None if any(r is None for r in rows) else int(sum(rows)), refreshed, reason])
            if reason:
                continue
            ref = f"cat.{_ident(layer)}.{_ident(name)}"
            con.execute(f"CREATE VIEW {ref} AS {view_sql(con, snap)}")
            if snap["description"]:
                con.execute(f"COMMENT ON VIEW {ref} IS {_lit(snap['description'])}")
            for f in snap["fields"]:
                comment = (f.get("metadata") or {}).get("comment")
                if comment:
                    con.execute(f"COMMENT ON COLUMN {ref}.{_ident(f['name'])} IS {_lit(str(comment))}")
        con.execute("DETACH cat")
    finally:
        con.close()


def refresh_catalog(settings: Settings, lake: Any = None) -> dict[str, Any]:
    """Rebuild both catalog files from the current snapshot of every gold and silver table.

    Returns ``{"catalogs": {name: path}, "tables": n, "skipped": {table: reason}, "seconds"}``.
    Each file is written under a temporary name and renamed over the old one; a failure
    halfway removes the temporary file and leaves the previous catalog as it was. A table a
    view cannot read correctly (deletion vectors, column mapping) gets no view: it is
    listed in ``skipped``, logged, and its ``scim_catalog`` row says why. Does not take the
    lake's run lock (the CLI does): call it when no job is writing, e.g. at the end of a publish.
    """
    if lake is None:
        from lake_io import Lake

        lake = Lake(settings)
    t0 = time.monotonic()
    target = catalog_path(settings)
    snaps: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for layer in ("gold", "silver"):
        for table in lake.list_tables(layer):
            snaps[table] = snap = lake.snapshot(table)
            reason = unreadable_reason(snap)
            if reason:
                skipped[table] = reason
                log.warning("bi catalog: no view for %s: %s", table, reason)
    target.parent.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (filename, layers) in CATALOGS.items():
        final = target.parent / filename
        tmp = target.parent / f".{filename}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            _build(tmp, layers, snaps, skipped)
            os.chmod(tmp, 0o600 if name == "engineering" else 0o644)
            os.replace(tmp, final)
        finally:
            for leftover in (tmp, Path(f"{tmp}.wal")):
                leftover.unlink(missing_ok=True)
        paths[name] = str(final)
    gold = sum(1 for t in snaps if t.startswith("gold/") and t not in skipped)
    silver = sum(1 for t in snaps if t.startswith("silver/") and t not in skipped)
    out = {"catalogs": paths, "tables": len(snaps) - len(skipped), "skipped": skipped,
           "seconds": round(time.monotonic() - t0, 2)}
    log.info("bi catalog refreshed: gold views=%d silver views=%d skipped=%d (%.1fs) %s", gold, silver, len(skipped),
             out["seconds"], target)
    return out


def refresh_after_write(settings: Settings, lake: Any = None) -> dict[str, Any] | None:
    """Refresh the catalog of a local lake after a job's last commit; None (logged) for a remote lake.

    Called at the end of ``publish_gold`` (BI moves to the new night) and of ``scim erase``
    (whose vacuum deletes the files the old views read, and whose rows must vanish from BI).
    """
    if not settings.lake_is_local:
        log.info("bi catalog: lake %s is not local; no DuckDB catalog (query it with Spark or Trino)", settings.lake_root)
        return None
    return refresh_catalog(settings, lake)


# -- reading -----------------------------------------------------------------------------------
def open_catalog(settings: Settings, engineering: bool = False) -> Any:
    """A read-only DuckDB connection on the catalog, session time zone = ``settings.timezone``.

    Raises :class:`BIError` naming the fix when the lake or the catalog is missing.
    """
    import duckdb

    path = catalog_path(settings, engineering)
    root = Path(settings.lake_root)
    if not root.is_dir():
        raise BIError(f"no lake at {root}: run `scim run --sample --lake {root}` (or `make run`), or pass --lake")
    if not path.exists():
        raise BIError(f"no BI catalog at {path}: publish gold (`scim run`, `scim publish --date D`) or build it "
                      f"with `scim sql --refresh --lake {root}`")
    con = duckdb.connect(str(path), read_only=True)
    con.execute(f"SET TimeZone = {_lit(settings.timezone)}")
    return con


def stale_tables(con: Any, lake: Any) -> list[str]:
    """Tables whose Delta version in the lake differs from the one the catalog shows, or that the catalog lacks."""
    shown = {f"{layer}/{name}": v for layer, name, v in
             con.execute(f"SELECT layer, table_name, delta_version FROM main.{META_TABLE}").fetchall()}
    layers = {t.split("/", 1)[0] for t in shown} or {"gold"}
    out = []
    for layer in sorted(layers):
        for table in lake.list_tables(layer):
            if shown.get(table) != lake.version(table):
                out.append(table)
    return out


# -- scim sql ------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--command", dest="sql", help="SQL to run (several statements separated by ';'); "
                        "without it: SQL from standard input, or a prompt on a terminal")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    parser.add_argument("--silver", action="store_true", help="open the engineering catalog (schemas gold and silver)")
    parser.add_argument("--refresh", action="store_true",
                        help="rebuild the catalog from the lake's current snapshots first (waits for no running job)")
    parser.add_argument("--lock-timeout", type=float, default=0,
                        help="--refresh: seconds to wait for a running job to release the lake")
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    parser.add_argument("--url", action="store_true", help="print the catalog's path and SQLAlchemy URL, and exit")


def _print(rel: Any, fmt: str) -> None:
    if rel is None:  # a statement without a result (SET, PRAGMA ...)
        return
    if fmt == "table":
        rel.show(max_rows=10_000, max_width=10_000)
        return
    cols, rows = rel.columns, rel.fetchall()
    if fmt == "csv":
        import csv

        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
    else:
        for r in rows:
            sys.stdout.write(json.dumps(dict(zip(cols, r)), ensure_ascii=False, default=str) + "\n")


def _split(sql: str) -> list[str]:
    """Statements of a script (DuckDB's own parser: semicolons inside strings stay)."""
    import duckdb

    return [s.query for s in duckdb.extract_statements(sql)]


def one_line(exc: Exception) -> str:
    """DuckDB's error message on one line: its text without the ``LINE n:`` excerpt and caret below it."""
    text = str(exc).split("\nLINE ", 1)[0]
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _execute(con: Any, sql: str, fmt: str) -> None:
    for statement in _split(sql):
        _print(con.sql(statement), fmt)


def _prompt(con: Any, fmt: str) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # pragma: no cover
        pass
    print("scim sql: DuckDB on the BI catalog. End statements with ';'; .tables lists the views; Ctrl-D quits.")
    buf = ""
    while True:
        try:
            line = input("scim> " if not buf else "  ..> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            buf = ""
            continue
        if not buf and line.strip() in (".tables", "\\d"):
            line = ("SELECT schema_name || '.' || view_name AS view, comment FROM duckdb_views() "
                    "WHERE NOT internal ORDER BY 1;")
        buf += line + "\n"
        if buf.strip().endswith(";"):
            try:
                _execute(con, buf, fmt)
            except Exception as exc:  # the prompt stays open after a bad statement
                print(f"error: {exc}", file=sys.stderr)  # with DuckDB's LINE excerpt and caret
            buf = ""


def run(args: argparse.Namespace) -> int:
    import duckdb

    from lake_io import Lake
    from pipelines.config import load_settings
    from pipelines.locks import LakeBusyError, run_lock

    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    try:
        if args.url:
            print(f"path: {catalog_path(settings, args.silver)}")
            print(f"sqlalchemy: {sqlalchemy_url(settings, args.silver)}")
            return 0
        if args.refresh:
            if not Path(settings.lake_root).is_dir():
                raise BIError(f"no lake at {settings.lake_root}: run `scim run --sample` (or `make run`), or pass --lake")
            with run_lock(settings, job="scim sql --refresh", timeout=args.lock_timeout):
                info = refresh_catalog(settings)
            print(f"refreshed {info['tables']} views in {info['seconds']}s: {info['catalogs']['bi']}", file=sys.stderr)
            for table, reason in info["skipped"].items():
                print(f"  no view for {table}: {reason}", file=sys.stderr)
        con = open_catalog(settings, args.silver)
    except (BIError, LakeBusyError) as exc:
        print(f"scim sql: {exc}", file=sys.stderr)
        return 2
    try:
        stale = stale_tables(con, Lake(settings))
        if stale:
            print(f"scim sql: warning: the catalog predates the lake's current version of {len(stale)} table(s) "
                  f"({', '.join(stale[:5])}{' ...' if len(stale) > 5 else ''}); run `scim sql --refresh` when no job runs",
                  file=sys.stderr)
        if args.sql is None and sys.stdin.isatty():
            return _prompt(con, args.format)
        sql = args.sql if args.sql is not None else sys.stdin.read()
        try:
            _execute(con, sql, args.format)
        except duckdb.Error as exc:
            hint = ""
            if isinstance(exc, duckdb.CatalogException):
                views = [r[0] for r in con.execute("SELECT schema_name || '.' || view_name FROM duckdb_views() "
                                                   "WHERE NOT internal ORDER BY 1").fetchall()]
                hint = f" (views in this catalog: {', '.join(views)}" + ("" if args.silver else "; silver tables: add --silver") + ")"
            print(f"scim sql: {one_line(exc)}{hint}", file=sys.stderr)
            return 1
        return 0
    finally:
        con.close()
