"""``scim link FILE... --out DIR``: the identity engine on person-record files.

Runs outside the nightly pipeline on any records in the person-record contract (Parquet
or CSV; missing optional columns are treated as null): standardisation, deterministic
links, Splink, clustering, customer keys. Writes ``DIR/clusters.parquet`` (source,
record_id, customer_key), ``DIR/links.parquet``, ``DIR/review.parquet``,
``DIR/summary.json`` and, with ``--reports``, the Splink charts under ``DIR/reports/``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger("scim.identity")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="person-record files (.parquet or .csv)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--encoding", default="utf-8", help="encoding of CSV inputs (e.g. gb18030)")
    parser.add_argument("--previous", help="clusters.parquet of an earlier run: keeps its customer keys stable")
    parser.add_argument("--decisions", help="reviewer decisions (.parquet/.csv: source_l, record_id_l, source_r, "
                                            "record_id_r, decision, decided_at)")
    parser.add_argument("--backend", choices=["duckdb", "spark"], help="override settings.identity.backend")
    parser.add_argument("--match-threshold", type=float, help="override settings.identity.match_threshold")
    parser.add_argument("--review-threshold", type=float, help="override settings.identity.review_threshold")
    parser.add_argument("--run-date", default=None, help="date recorded as key_since for new keys (default today)")
    parser.add_argument("--reports", action="store_true", help="also write Splink waterfall/match-weight charts")


def read_records(path: str, encoding: str = "utf-8") -> pd.DataFrame:
    """One person-record file as strings-or-null; raises ValueError naming the file and the fix."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{path}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".parquet" or p.is_dir():
        df = pd.read_parquet(p)
    elif suffix in (".csv", ".txt"):
        try:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not {encoding} ({exc.reason}); pass --encoding gb18030 for GBK files") from None
        df = df.replace("", None)
    else:
        raise ValueError(f"{path}: unknown format {suffix!r}; use .parquet or .csv")
    missing = [c for c in ("source", "record_id") if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing required column(s) {missing}; every person record needs source and record_id")
    for col in ("source", "record_id"):
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if empty.any():
            line = int(empty.to_numpy().nonzero()[0][0])
            raise ValueError(f"{path}: record {line + 1} has an empty {col}; fill it or drop the record")
    return df


def run(args: argparse.Namespace) -> int:
    from pipelines.config import load_settings
    from transforms.matching.engine import EngineConfig, resolve
    from pipelines.identity.pipeline import standardise_if_raw

    settings = load_settings(getattr(args, "config", None))
    try:
        frames = [read_records(f, args.encoding) for f in args.files]
    except ValueError as exc:
        print(f"scim link: {exc}")
        return 2
    records = pd.concat(frames, ignore_index=True, sort=False)
    records = standardise_if_raw(records, settings.hmac_key_bytes())
    overrides = {k: v for k, v in (("match_threshold", args.match_threshold),
                                   ("review_threshold", args.review_threshold)) if v is not None}
    config = EngineConfig.from_settings(settings.identity.model_copy(update=overrides))
    if config.review_threshold >= config.match_threshold:
        print("scim link: --review-threshold must be below --match-threshold")
        return 2
    backend = args.backend or settings.identity.backend
    spark = None
    if backend == "spark":
        from pipelines.spark import get_spark

        spark = get_spark(settings)
    previous = pd.read_parquet(args.previous) if args.previous else None
    decisions = read_records_plain(args.decisions, args.encoding) if args.decisions else None
    run_date = args.run_date or pd.Timestamp.now(tz=settings.timezone).date().isoformat()
    try:
        result = resolve(records, config=config, run_date=run_date, previous=previous, decisions=decisions,
                         backend=backend, spark=spark, make_reports=args.reports)
    except ValueError as exc:
        print(f"scim link: {exc}")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.clusters.to_parquet(out / "clusters.parquet", index=False)
    result.links.to_parquet(out / "links.parquet", index=False)
    result.review.to_parquet(out / "review.parquet", index=False)
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2, default=str), encoding="utf-8")
    if result.reports:
        (out / "reports").mkdir(exist_ok=True)
        for name, html in result.reports.items():
            (out / "reports" / name).write_text(html, encoding="utf-8")
    s = result.summary
    print(f"{s['records']} records -> {s['clusters']} customers ({s['multi_record_clusters']} with several records); "
          f"{s['deterministic_links']} deterministic links, {s['links_merged']} links merged, "
          f"{s['review_pairs']} pairs to review; written to {out}")
    return 0


def read_records_plain(path: str, encoding: str) -> pd.DataFrame:
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    return pd.read_csv(p, dtype=str, keep_default_na=False, encoding=encoding).replace("", None)
