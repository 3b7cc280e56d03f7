"""The identity report of one run: ``_reports/identity/<run_date>/index.html``.

One self-contained HTML page (no scripts, no external files) with what a reviewer or an
operator asks first about a night's identity run:

* the headline counts (records, customers, links merged / refused, pairs to review,
  reviewer decisions applied);
* the cluster-size distribution (how many customers have 1, 2, 3... records);
* link rates per source pair: the share of one source's records whose customer also has a
  record of the other source (for one source with itself: a second record, i.e. duplicates),
  and the merged links per source pair and link type;
* the review queue by reason and probability band;
* links to Splink's charts of the same run (match weights, waterfall of a sample, the
  comparison viewer on a masked sample) and the saved model.

Only counts, shares and source names: no record id, name or identifier, so the page can be
shared beyond the identity reviewers. The Splink pages beside it carry record ids and
masked values (see :mod:`transforms.matching.display`).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

REPORT = "index.html"
MODEL = "splink_model.json"
_CHARTS = {
    "match_weights.html": "Splink match weights of the trained model",
    "waterfall.html": "Splink waterfall charts of a sample of pairs around the match threshold",
    "comparison_viewer.html": "Splink comparison viewer on a sample of scored pairs (values masked)",
    MODEL: "the trained Splink model (settings, m and u probabilities; no records)",
}
PROBABILITY_BANDS = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001]


def cluster_sizes(clusters: pd.DataFrame) -> pd.DataFrame:
    """``size`` (records per customer_key) -> ``customers``, ``records``, ``share`` of customers."""
    sizes = clusters.groupby("customer_key").size()
    out = sizes.value_counts().sort_index().rename_axis("size").reset_index(name="customers")
    out["records"] = out["size"] * out["customers"]
    out["share"] = out["customers"] / max(int(out["customers"].sum()), 1)
    return out


def link_rates(clusters: pd.DataFrame) -> pd.DataFrame:
    """Per (``source``, ``other``): ``records`` of ``source``, ``linked`` = those whose
    customer also has a record of ``other`` (another record, when ``other == source``) and
    ``rate`` = linked / records."""
    per = clusters.groupby(["customer_key", "source"]).size().unstack(fill_value=0)
    rows = []
    for source in per.columns:
        mine = per[per[source] > 0]
        n = int(mine[source].sum())
        for other in per.columns:
            linked_keys = mine[other] > (1 if other == source else 0)
            linked = int(mine.loc[linked_keys, source].sum())
            rows.append({"source": source, "other": other, "records": n, "linked": linked,
                         "rate": linked / n if n else 0.0})
    return pd.DataFrame(rows, columns=["source", "other", "records", "linked", "rate"])


def merged_links(links: pd.DataFrame) -> pd.DataFrame:
    """Merged links per unordered source pair and link type (``deterministic`` rules named)."""
    merged = links[links["status"] == "merged"]
    if merged.empty:
        return pd.DataFrame(columns=["sources", "link_type", "links"])
    pair = [" ↔ ".join(sorted((a, b))) for a, b in zip(merged["source_l"], merged["source_r"])]
    kind = [f"{t} ({r})" if t == "deterministic" else t for t, r in zip(merged["link_type"], merged["rule"])]
    return (pd.DataFrame({"sources": pair, "link_type": kind}).value_counts().rename("links").reset_index()
            .sort_values(["sources", "links"], ascending=[True, False]))


def review_by_reason(review: pd.DataFrame) -> pd.DataFrame:
    """Pairs to review per ``reason`` and probability band."""
    if review.empty:
        return pd.DataFrame(columns=["reason", "band", "pairs"])
    bands = pd.cut(review["match_probability"].astype(float), PROBABILITY_BANDS, right=False,
                   labels=[f"{lo:.1f}–{min(hi, 1.0):.1f}" for lo, hi in zip(PROBABILITY_BANDS, PROBABILITY_BANDS[1:])])
    out = pd.DataFrame({"reason": review["reason"], "band": bands}).value_counts().rename("pairs").reset_index()
    return out[out["pairs"] > 0].sort_values(["reason", "band"])


def _table(df: pd.DataFrame, formats: dict[str, str] | None = None, bar: str | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns) + ("<th></th>" if bar else "")
    top = float(df[bar].max()) if bar and len(df) else 0.0
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for col, value in zip(df.columns, row):
            text = formats[col].format(value) if col in formats else str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        if bar:
            width = 0 if not top else round(240 * float(getattr(row, bar)) / top)
            cells.append(f'<td><div class="bar" style="width:{width}px"></div></td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render(result: Any, run_date: str, run_id: str, charts: list[str]) -> str:
    """The report page of one engine result (``EngineResult``); ``charts``: files written beside it."""
    s = result.summary
    counts = [("person records", s.get("records")), ("customers (clusters)", s.get("clusters")),
              ("customers with more than one record", s.get("multi_record_clusters")),
              ("deterministic links", s.get("deterministic_links")), ("links merged", s.get("links_merged")),
              ("links refused", s.get("links_refused")), ("pairs to review", s.get("review_pairs")),
              ("reviewer decisions applied", s.get("decisions_applied")),
              ("decisions naming absent records (ignored)", s.get("decisions_ignored"))]
    rates = link_rates(result.clusters)
    matrix = rates.pivot(index="source", columns="other", values="rate") if len(rates) else pd.DataFrame()
    matrix_html = _table(matrix.reset_index().rename(columns={"source": "records of ↓ linked to →"}),
                         {c: "{:.1%}" for c in matrix.columns}) if len(matrix) else "<p>no records</p>"
    changes = s.get("lineage_changes") or {}
    links = "".join(f'<li><a href="{html.escape(name)}">{html.escape(name)}</a>: {html.escape(text)}</li>'
                    for name, text in _CHARTS.items() if name in charts)
    sizes = cluster_sizes(result.clusters)
    review = review_by_reason(result.review)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SCIM identity report {html.escape(run_date)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #ccc;padding:.2em .6em;text-align:right}}th{{background:#f3f3f3}}
td:first-child{{text-align:left}}.bar{{background:#4a7ebb;height:.8em}}</style></head><body>
<h1>Identity report, {html.escape(run_date)}</h1>
<p>Run <code>{html.escape(run_id)}</code>, backend {html.escape(str(s.get("backend")))}. Counts, shares and source
names only; the Splink pages below carry record ids and masked values.</p>
<h2>Counts</h2>{_table(pd.DataFrame(counts, columns=["", "count"]))}
<h2>Customer-key changes</h2>{_table(pd.DataFrame(sorted(changes.items()), columns=["change", "customers"]))}
<h2>Cluster sizes</h2>
<p>Records per customer. Large clusters deserve a look: a cluster above the cap
(<code>identity.max_cluster_size</code>) is never merged, its links go to review.</p>
{_table(sizes, {"share": "{:.1%}"}, bar="customers")}
<h2>Link rates per source pair</h2>
<p>Share of the row source's records whose customer also has a record of the column source
(on the diagonal: another record of the same source, i.e. duplicates).</p>
{matrix_html}
<h3>Merged links per source pair</h3>{_table(merged_links(result.links), bar="links")}
<h2>Review queue</h2>
<p>Pairs waiting for a reviewer, by reason and match probability (<code>scim review list</code>).</p>
{_table(review, bar="pairs") if len(review) else "<p>empty</p>"}
<h2>Splink charts of this run</h2><ul>{links or "<li>none (too few records for the probabilistic stage)</li>"}</ul>
</body></html>
"""


def identity_reports(result: Any, run_date: str, run_id: str) -> dict[str, str]:
    """The files of a run's identity report directory: Splink's charts, the model, the index page."""
    import json

    files = dict(result.reports)
    if result.model is not None:
        files[MODEL] = json.dumps(result.model, ensure_ascii=False, indent=1, default=str)
    files[REPORT] = render(result, run_date, run_id, charts=list(files))
    return files
