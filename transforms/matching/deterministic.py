"""Deterministic links on unique identifiers, and the guard rails that keep them safe.

Customer-data platforms learned these rules the hard way: a junk value (13800000000,
test@test.com) or a shared family/shop phone joins hundreds of strangers into one
"customer". So a key value links only if the standardiser did not flag it as junk
(it arrives null) and it is held by at most ``max_records`` records; refused values are
nulled before any later stage can use them, and reported.
"""

from __future__ import annotations

import pandas as pd

from transforms.matching.inputs import DETERMINISTIC_KEYS

LINK_COLUMNS = ["unique_id_l", "unique_id_r", "rule", "priority"]


def null_overshared(pdf: pd.DataFrame, columns: list[str], max_records: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Null every value of ``columns`` held by more than ``max_records`` records.

    Returns the cleaned copy and a report with one row per refused value:
    ``column``, ``records`` (how many records held it), and no value (values may be PII).
    Records are never dropped: only the over-shared value is removed from them.
    """
    out = pdf.copy()
    reports = []
    for col in columns:
        if col not in out.columns:
            continue
        counts = out[col].value_counts(dropna=True)
        refused = counts[counts > max_records]
        if refused.empty:
            continue
        out[col] = out[col].where(~out[col].isin(refused.index), None)
        reports.append(pd.DataFrame({"column": col, "records": refused.to_numpy()}))
    report = pd.concat(reports, ignore_index=True) if reports else pd.DataFrame({"column": [], "records": []})
    return out, report


def deterministic_links(pdf: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """Links between records sharing a value of a unique identifier, tagged with the rule.

    ``keys`` lists identifier columns in priority order (default
    :data:`~transforms.matching.inputs.DETERMINISTIC_KEYS`); ``priority`` is the index in
    that list (0 = strongest). Records sharing a value are linked as a star to the
    smallest ``unique_id`` of the group (k-1 links for k records: enough for clustering,
    linear in size). Each pair appears once, with its strongest rule; ``unique_id_l`` <
    ``unique_id_r``.
    """
    keys = DETERMINISTIC_KEYS if keys is None else keys
    parts = []
    for priority, col in enumerate(keys):
        if col not in pdf.columns:
            continue
        sub = pdf.loc[pdf[col].notna(), ["unique_id", col]]
        if sub.empty:
            continue
        anchor = sub.groupby(col)["unique_id"].transform("min")
        edges = pd.DataFrame({"unique_id_l": anchor, "unique_id_r": sub["unique_id"]})
        edges = edges[edges["unique_id_l"] != edges["unique_id_r"]]
        parts.append(edges.assign(rule=col.removesuffix("_hash"), priority=priority))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object" if c != "priority" else "int64") for c in LINK_COLUMNS})
    links = pd.concat(parts, ignore_index=True)
    links = links.sort_values(["unique_id_l", "unique_id_r", "priority"], kind="stable")
    links = links.drop_duplicates(["unique_id_l", "unique_id_r"], keep="first")
    return links[LINK_COLUMNS].reset_index(drop=True)


def conflicting_attributes(links: pd.DataFrame, pdf: pd.DataFrame, attributes: list[str]) -> pd.Series:
    """Per link, True when its two records both know one of ``attributes`` and disagree on it.

    A phone, e-mail or QQ number is unique to a person only most of the time: a mother and
    daughter share a phone, two 周s get the same e-mail of a name-based pattern. Such a
    link between records whose gender or birth date parts differ is not safe to merge.
    ``links`` needs ``unique_id_l`` / ``unique_id_r``; ``pdf`` holds ``unique_id`` and the
    attributes (missing attribute columns are ignored).
    """
    out = pd.Series(False, index=links.index)
    if links.empty:
        return out
    look = pdf.set_index("unique_id")
    for col in attributes:
        if col not in look.columns:
            continue
        left = links["unique_id_l"].map(look[col])
        right = links["unique_id_r"].map(look[col])
        known = left.notna() & right.notna()
        out |= known & (left.astype(str) != right.astype(str))
    return out
