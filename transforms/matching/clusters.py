"""Clustering of links into persons, with the guard rails applied edge by edge.

Links are taken strongest first — human "match" decisions, then deterministic links in
identifier-priority order, then model links by falling probability — and each one joins
two clusters unless that would

* join two records a reviewer declared "no match" (``cannot_link``), even through others;
* put two different values of an exclusive identifier (e.g. two WeChat unionids) into one
  person: the higher-priority evidence already said they differ;
* make a cluster larger than ``max_cluster_size``.

A refused link is returned with its reason so the engine can send it to review. The
result is deterministic: the same links give the same clusters, whatever their order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TIERS = {"decision": 0, "deterministic": 1, "probabilistic": 2}


class _Clusters:
    def __init__(self, ids: list[str], exclusive: dict[str, dict[str, str]], cannot: dict[str, set[str]]):
        self.parent = {i: i for i in ids}
        self.size = dict.fromkeys(ids, 1)
        self.exclusive = {i: dict(exclusive.get(i, {})) for i in ids}
        self.cannot = {i: set(cannot.get(i, ())) for i in ids}

    def find(self, x: str) -> str:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def refusal(self, a: str, b: str, max_size: int | None, forced: bool) -> str | None:
        if any(self.find(x) == b for x in self.cannot[a]) or any(self.find(x) == a for x in self.cannot[b]):
            return "decided_no_match"
        if forced:
            return None
        ea, eb = self.exclusive[a], self.exclusive[b]
        if any(k in eb and eb[k] != v for k, v in ea.items()):
            return "conflicting_identifier"
        if max_size is not None and self.size[a] + self.size[b] > max_size:
            return "cluster_size_cap"
        return None

    def union(self, a: str, b: str) -> None:
        if self.size[a] < self.size[b] or (self.size[a] == self.size[b] and b < a):
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.exclusive[a].update(self.exclusive.pop(b))
        self.cannot[a] |= self.cannot.pop(b)


def order_links(links: pd.DataFrame) -> pd.DataFrame:
    """Links sorted strongest first (see module docstring); ties broken by ids."""
    df = links.copy()
    df["_tier"] = df["link_type"].map(TIERS).fillna(3)
    df["_prio"] = pd.to_numeric(df.get("priority"), errors="coerce").fillna(99) if "priority" in df else 99
    df["_prob"] = -pd.to_numeric(df.get("match_probability"), errors="coerce").fillna(1.0) if "match_probability" in df else -1.0
    df = df.sort_values(["_tier", "_prio", "_prob", "unique_id_l", "unique_id_r"], kind="stable")
    return df.drop(columns=["_tier", "_prio", "_prob"]).reset_index(drop=True)


def cluster_links(
    record_ids: pd.Series,
    links: pd.DataFrame,
    *,
    max_cluster_size: int | None = None,
    exclusive: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster records through ``links`` under the guard rails.

    ``record_ids``: every ``unique_id`` (records without links become singletons).
    ``links``: ``unique_id_l``, ``unique_id_r``, ``link_type`` (``decision`` /
    ``deterministic`` / ``probabilistic``), optional ``priority`` and ``match_probability``.
    ``exclusive``: ``unique_id`` plus one column per exclusive identifier (null = unknown).
    ``cannot_link``: ``unique_id_l``, ``unique_id_r`` pairs decided "no match".

    Returns ``(clusters, links_out)``: clusters has ``unique_id`` and ``cluster_id`` (the
    smallest ``unique_id`` of the cluster); links_out is ``links`` in processing order with
    ``accepted`` (bool) and ``refused_reason`` (null, ``decided_no_match``,
    ``conflicting_identifier`` or ``cluster_size_cap``). A link inside an already-joined
    cluster is accepted (it is consistent evidence).
    """
    ids = sorted(set(record_ids.astype(str)))
    known = set(ids)
    unknown = set(links["unique_id_l"]).union(links["unique_id_r"]) - known
    if unknown:
        raise ValueError(f"{len(unknown)} links name records that are not in the input, e.g. {sorted(unknown)[0]!r}")
    excl: dict[str, dict[str, str]] = {}
    if exclusive is not None and len(exclusive):
        cols = [c for c in exclusive.columns if c != "unique_id"]
        for row in exclusive.itertuples(index=False):
            values = {c: v for c, v in zip(cols, row[1:]) if isinstance(v, str)}
            if values and row[0] in known:
                excl[row[0]] = values
    cannot: dict[str, set[str]] = {}
    if cannot_link is not None:
        for a, b in zip(cannot_link["unique_id_l"], cannot_link["unique_id_r"]):
            if a in known and b in known:
                cannot.setdefault(a, set()).add(b)
                cannot.setdefault(b, set()).add(a)
    uf = _Clusters(ids, excl, cannot)
    ordered = order_links(links)
    accepted = np.zeros(len(ordered), dtype=bool)
    reasons: list[str | None] = [None] * len(ordered)
    for i, (a, b, kind) in enumerate(zip(ordered["unique_id_l"], ordered["unique_id_r"], ordered["link_type"])):
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            accepted[i] = True
            continue
        reason = uf.refusal(ra, rb, max_cluster_size, forced=kind == "decision")
        if reason is None:
            uf.union(ra, rb)
            accepted[i] = True
        else:
            reasons[i] = reason
    roots = [uf.find(i) for i in ids]
    first: dict[str, str] = {}
    for i, root in zip(ids, roots):  # ids are sorted: the first id seen per root is its smallest
        first.setdefault(root, i)
    clusters = pd.DataFrame({"unique_id": ids, "cluster_id": [first[r] for r in roots]})
    out = ordered.assign(accepted=accepted, refused_reason=pd.Series(reasons, dtype="object"))
    return clusters[["unique_id", "cluster_id"]], out
