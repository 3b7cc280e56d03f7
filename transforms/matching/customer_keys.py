"""Stable customer keys across nightly runs, and the lineage of every change.

Rules (architecture.md, "Identity outputs"):

* an unchanged cluster keeps its key;
* a merge keeps the *oldest* key (earliest ``key_since``, then the smallest key) and
  records the absorbed keys;
* a split keeps the key on the part holding most of the key's previous records (ties: the
  part with the smallest record id); every other part gets a new key;
* a new key is ``C`` + 12 upper-case hex digits of SHA-256 over the cluster's smallest
  ``unique_id`` (salted with a counter on the rare collision with any key ever issued), so
  re-running a night with the same inputs and the same previous state gives the same keys.
"""

from __future__ import annotations

import hashlib

import pandas as pd

LINEAGE_COLUMNS = ["change_type", "old_keys", "new_key", "records_before", "records_after"]


def mint_key(seed: str, taken: set[str]) -> str:
    """``C`` + 12 hex digits from ``seed``; never one of ``taken`` (which it then joins)."""
    salt = 0
    while True:
        text = seed if salt == 0 else f"{seed}#{salt}"
        key = "C" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12].upper()
        if key not in taken:
            taken.add(key)
            return key
        salt += 1


def assign_customer_keys(
    clusters: pd.DataFrame,
    previous: pd.DataFrame | None,
    run_date: str,
    issued_keys: set[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give every cluster a customer key, reusing the previous run's keys by the rules above.

    ``clusters``: ``unique_id``, ``cluster_id`` (this run). ``previous``: ``unique_id``,
    ``customer_key``, ``key_since`` (the last run's assignment; None or empty on the first
    run). ``issued_keys``: every key ever issued (so a retired key is never re-used).

    Returns ``(assignment, lineage)``: assignment has ``unique_id``, ``customer_key``,
    ``key_since``; lineage has one row per change (``new``, ``merge``, ``split``,
    ``update`` — records joined or left without a merge or split — and ``retire`` — a key
    whose records all disappeared) with ``old_keys`` (sorted list), ``new_key`` (null for
    retire) and record counts before/after. Unchanged clusters produce no lineage row.
    """
    prev = previous if previous is not None else pd.DataFrame(columns=["unique_id", "customer_key", "key_since"])
    prev = prev[["unique_id", "customer_key", "key_since"]].astype({"unique_id": str, "customer_key": str, "key_since": str})
    taken = set(prev["customer_key"]) | set(issued_keys or ())
    since = prev.groupby("customer_key")["key_since"].min().to_dict()
    prev_size = prev.groupby("customer_key").size().to_dict()
    cur = clusters[["unique_id", "cluster_id"]].astype(str)
    cluster_size = cur.groupby("cluster_id").size().to_dict()

    overlap = cur.merge(prev, on="unique_id", how="inner").groupby(["customer_key", "cluster_id"]).size()
    overlap = overlap.rename("n").reset_index()
    # each previous key goes to the cluster holding most of its records (ties: smallest cluster id)
    winners = overlap.sort_values(["customer_key", "n", "cluster_id"], ascending=[True, False, True])
    winners = winners.drop_duplicates("customer_key", keep="first")
    candidates: dict[str, list[str]] = {}
    for key, cid in zip(winners["customer_key"], winners["cluster_id"]):
        candidates.setdefault(cid, []).append(key)
    prev_keys_in: dict[str, set[str]] = overlap.groupby("cluster_id")["customer_key"].agg(set).to_dict()
    prev_members = prev.groupby("customer_key")["unique_id"].agg(frozenset).to_dict()
    cur_members = cur.groupby("cluster_id")["unique_id"].agg(frozenset).to_dict()

    key_of: dict[str, str] = {}
    since_of: dict[str, str] = {}
    lineage: list[dict] = []
    for cid in sorted(cluster_size):
        keys = sorted(candidates.get(cid, []), key=lambda k: (since[k], k))
        if keys:
            kept, absorbed = keys[0], keys[1:]
            key_of[cid], since_of[cid] = kept, since[kept]
            if absorbed:
                lineage.append(_row("merge", sorted(keys), kept, sum(prev_size[k] for k in keys), cluster_size[cid]))
            elif prev_members[kept] != cur_members[cid]:
                lineage.append(_row("update", [kept], kept, prev_size[kept], cluster_size[cid]))
        else:
            key = mint_key(cid, taken)
            key_of[cid], since_of[cid] = key, run_date
            olds = sorted(prev_keys_in.get(cid, ()))
            if olds:  # the smaller part of a split (its previous key stayed with the larger part)
                lineage.append(_row("split", olds, key, sum(prev_size[k] for k in olds), cluster_size[cid]))
            else:
                lineage.append(_row("new", [], key, 0, cluster_size[cid]))
    placed = set(overlap["customer_key"])
    for key in sorted(set(prev_size) - placed):
        lineage.append(_row("retire", [key], None, prev_size[key], 0))

    assignment = cur.assign(
        customer_key=cur["cluster_id"].map(key_of), key_since=cur["cluster_id"].map(since_of)
    )[["unique_id", "customer_key", "key_since"]]
    lineage_df = pd.DataFrame(lineage, columns=LINEAGE_COLUMNS)
    lineage_df["records_before"] = lineage_df["records_before"].astype("int64")
    lineage_df["records_after"] = lineage_df["records_after"].astype("int64")
    return assignment.reset_index(drop=True), lineage_df


def _row(kind: str, old: list[str], new: str | None, before: int, after: int) -> dict:
    return {"change_type": kind, "old_keys": list(old), "new_key": new, "records_before": int(before), "records_after": int(after)}
