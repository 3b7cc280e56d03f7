"""``scim evaluate-identity --clusters FILE --truth FILE``: pairwise and B-cubed scores.

Clusters: source, record_id, customer_key (``scim link`` output, or the lake table
exported). Truth: source, record_id, person_id (the generator's ``truth/accounts.parquet``).
Parquet or CSV. Prints a table overall and per source pair; ``--json`` saves the numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from transforms.matching.metrics import evaluate_clusters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clusters", required=True, help="clusters file (.parquet/.csv): source, record_id, customer_key")
    parser.add_argument("--truth", required=True, help="truth file (.parquet/.csv): source, record_id, person_id")
    parser.add_argument("--json", help="also write the metrics as JSON to this file")


def _read(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{path}: no such file")
    if p.suffix.lower() == ".csv":
        return pd.read_csv(p, dtype=str, keep_default_na=False)
    return pd.read_parquet(p)


def _fmt(v) -> str:
    return "   -  " if v is None else f"{v:6.4f}"


def format_report(metrics: dict) -> str:
    """The metrics as a fixed-width text table."""
    head = f"{'scope':<16}{'pairs':>9}{'pred':>9}{'prec':>8}{'recall':>8}{'F1':>8}{'B3 prec':>9}{'B3 rec':>8}{'B3 F1':>8}"
    lines = [head, "-" * len(head)]
    rows = [("overall", metrics["overall"]), *metrics["by_source_pair"].items()]
    for name, m in rows:
        lines.append(f"{name:<16}{m['true_pairs']:>9}{m['predicted_pairs']:>9}  {_fmt(m['precision'])}  "
                     f"{_fmt(m['recall'])}  {_fmt(m['f1'])}   {_fmt(m['bcubed_precision'])}  "
                     f"{_fmt(m['bcubed_recall'])}  {_fmt(m['bcubed_f1'])}")
    r = metrics["records"]
    lines.append(f"records scored: {r['scored']} (only in clusters: {r['only_in_clusters']}, "
                 f"only in truth: {r['only_in_truth']})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        metrics = evaluate_clusters(_read(args.clusters), _read(args.truth))
    except ValueError as exc:
        print(f"scim evaluate-identity: {exc}")
        return 2
    print(format_report(metrics))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return 0
