"""Evaluation of clusters against a truth table: pairwise and B-cubed metrics.

Pairwise: a predicted pair is two records in one cluster, a true pair two records of one
person; precision = correct predicted pairs / predicted pairs, recall = correct / true.
B-cubed: per record, precision = |its cluster ∩ its person| / |its cluster| and recall =
|…| / |its person|, averaged over records. Both are computed overall and per source pair
(``crm-weibo`` counts only pairs with one CRM and one Weibo record; ``crm-crm`` pairs
inside the CRM; the B-cubed figures of a pair are computed on the records of those sources).
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np
import pandas as pd


def _choose2(n: np.ndarray) -> np.ndarray:
    return n * (n - 1) // 2


def _pair_counts(df: pd.DataFrame, group: str, s: str, t: str) -> int:
    """Pairs inside ``group`` with one record of source s and one of t (or two of s when s == t)."""
    counts = df.groupby([group, "source"]).size().unstack(fill_value=0)
    if s not in counts or t not in counts:
        return 0
    if s == t:
        return int(_choose2(counts[s].to_numpy()).sum())
    return int((counts[s].to_numpy() * counts[t].to_numpy()).sum())


def _ratio(a: float, b: float) -> float | None:
    return float(a) / float(b) if b else None


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None
    return 2 * p * r / (p + r)


def _bcubed(df: pd.DataFrame) -> dict[str, float | None]:
    if df.empty:
        return {"bcubed_precision": None, "bcubed_recall": None, "bcubed_f1": None}
    both = df.groupby(["cluster", "person"])["source"].transform("size")
    csize = df.groupby("cluster")["source"].transform("size")
    psize = df.groupby("person")["source"].transform("size")
    p = float((both / csize).mean())
    r = float((both / psize).mean())
    return {"bcubed_precision": p, "bcubed_recall": r, "bcubed_f1": _f1(p, r)}


def _pairwise(df: pd.DataFrame, s: str | None = None, t: str | None = None) -> dict[str, float | int | None]:
    df = df.assign(both=df["cluster"] + "\x1f" + df["person"])
    if s is None:
        pred = int(_choose2(df.groupby("cluster").size().to_numpy()).sum())
        true = int(_choose2(df.groupby("person").size().to_numpy()).sum())
        tp = int(_choose2(df.groupby("both").size().to_numpy()).sum())
    else:
        pred, true, tp = (_pair_counts(df, g, s, t) for g in ("cluster", "person", "both"))
    p, r = _ratio(tp, pred), _ratio(tp, true)
    return {"true_pairs": true, "predicted_pairs": pred, "correct_pairs": tp,
            "precision": p, "recall": r, "f1": _f1(p, r)}


def evaluate_clusters(clusters: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Score ``clusters`` (source, record_id, customer_key) against ``truth`` (source, record_id, person_id).

    Only records present in both are scored; the counts of records missing from either
    side are reported. Returns ``{"overall": {...}, "by_source_pair": {"crm-weibo": {...}},
    "records": {...}}`` where each metrics dict holds pairwise precision/recall/F1 with
    pair counts and B-cubed precision/recall/F1. A metric with no pairs to judge is None.
    """
    for name, df, key in (("clusters", clusters, "customer_key"), ("truth", truth, "person_id")):
        missing = [c for c in ("source", "record_id", key) if c not in df.columns]
        if missing:
            raise ValueError(f"{name} table lacks column(s) {missing}; it needs source, record_id, {key}")
    c = clusters[["source", "record_id", "customer_key"]].astype(str).drop_duplicates(["source", "record_id"])
    t = truth[["source", "record_id", "person_id"]].astype(str).drop_duplicates(["source", "record_id"])
    df = c.merge(t, on=["source", "record_id"], how="inner").rename(columns={"customer_key": "cluster", "person_id": "person"})
    result = {
        "records": {"scored": len(df), "only_in_clusters": len(c) - len(df), "only_in_truth": len(t) - len(df)},
        "overall": {**_pairwise(df), **_bcubed(df)},
        "by_source_pair": {},
    }
    sources = sorted(df["source"].unique())
    for s, u in combinations_with_replacement(sources, 2):
        sub = df[df["source"].isin([s, u])]
        result["by_source_pair"][f"{s}-{u}"] = {**_pairwise(df, s, u), **_bcubed(sub)}
    return result
