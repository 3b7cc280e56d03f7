"""``scim review``: the identity review workflow (list, show, decide, export, import).

The nightly identity step leaves uncertain pairs in ``silver/identity_review_queue`` (one
snapshot per run date). A reviewer

* lists the latest queue by reason and probability (``list``), filtered by reason,
  probability band or source;
* looks at one pair (``show``): both records side by side with masked values
  (:mod:`transforms.matching.display`: 王**, 138****5678, z***@qq.com; identifiers only as
  present/same/different) and the evidence, a per-comparison waterfall of match weights
  from the stored evidence (``--html FILE`` writes Splink's waterfall chart of the pair
  when the run saved its model);
* records ``match`` / ``no_match`` with who and why (``decide``), or
* exports the queue to a CSV for a spreadsheet (UTF-8 with BOM, so Excel shows Chinese)
  and imports the filled-in file (``export`` / ``import``; every row is validated and
  errors name the line; nothing is recorded unless every row is valid).

Decisions go to ``silver/identity_decisions`` through
:func:`pipelines.identity.persistence.record_decisions` (one Delta commit); every later
identity run honours the latest decision per pair. Reads use delta-rs only (no Spark);
recording a decision starts Spark for the one write.

A pair is named by its pair id (``P`` + 10 hex digits, shown by ``list`` and in the CSV) or
by its two records, ``SOURCE:RECORD_ID,SOURCE:RECORD_ID`` (any pair of existing records,
e.g. to split an automatic merge with ``no_match``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import hashlib
import io
import json
import logging
import math
import os
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.config import load_settings
from pipelines.identity import persistence
from transforms.matching.display import PRESENT, mask_value

PERSONS = "silver/person_records"
CRM_CUSTOMERS = "silver/crm_customers"
DECISIONS = ("match", "no_match")
#: Columns of the exported CSV; the reviewer fills the last three.
CSV_COLUMNS = [
    "pair_id", "run_date", "reason", "match_probability", "match_weight", "source_l", "record_id_l", "source_r",
    "record_id_r", "name_l", "name_r", "nickname_l", "nickname_r", "gender_l", "gender_r", "birth_l", "birth_r",
    "phone_l", "phone_r", "email_l", "email_r", "location_l", "location_r", "same_identifiers", "evidence",
    "decision", "reviewer", "note",
]
_IDENTIFIERS = {"phone_hash": "phone", "email_hash": "email", "qq_hash": "qq", "id_number_hash": "id number",
                "wechat_unionid_hash": "unionid", "wechat_openid_hash": "openid"}


class ReviewError(ValueError):
    """A review command cannot do what it was asked; the message names the input and the fix."""


# -- pairs ------------------------------------------------------------------------------------

def pair_id(uid_l: str, uid_r: str) -> str:
    """Short stable id of an unordered record pair (``P`` + 10 hex; never a number in Excel)."""
    a, b = sorted((uid_l, uid_r))
    return "P" + hashlib.sha1(f"{a}|{b}".encode("utf-8")).hexdigest()[:10]


def _uid(source: Any, record_id: Any) -> str:
    return f"{source}:{record_id}"


def _with_pair_ids(df: pd.DataFrame) -> pd.DataFrame:
    uid_l = [_uid(s, r) for s, r in zip(df["source_l"], df["record_id_l"])]
    uid_r = [_uid(s, r) for s, r in zip(df["source_r"], df["record_id_r"])]
    return df.assign(pair_id=[pair_id(a, b) for a, b in zip(uid_l, uid_r)])


@dataclass(frozen=True)
class Pair:
    source_l: str
    record_id_l: str
    source_r: str
    record_id_r: str

    @property
    def id(self) -> str:
        return pair_id(_uid(self.source_l, self.record_id_l), _uid(self.source_r, self.record_id_r))


class Review:
    """The review tables of one lake, read with delta-rs (no Spark)."""

    def __init__(self, settings: Any):
        from lake_io import Lake

        self.settings = settings
        self.lake = Lake(settings)

    def _frame(self, table: str, filter: Any = None) -> pd.DataFrame | None:
        if not self.lake.exists(table):
            return None
        return self.lake.to_arrow(table, filter=filter).to_pandas()

    def run_dates(self) -> list[str]:
        if not self.lake.exists(persistence.REVIEW):
            return []
        dates = self.lake.to_arrow(persistence.REVIEW, columns=["run_date"]).column("run_date").unique().to_pylist()
        return sorted(d.isoformat() for d in dates)

    def queue(self, run_date: str | None = None) -> pd.DataFrame:
        """The review queue of ``run_date`` (default: the latest run), with pair ids and the latest decision."""
        dates = self.run_dates()
        if not dates:
            raise ReviewError(f"no review queue under {self.settings.lake_path(persistence.REVIEW)}: run the identity "
                              "step first (`scim run`), or pass --lake to the lake that has one")
        day = run_date or dates[-1]
        if day not in dates:
            raise ReviewError(f"--run-date {day}: the review queue has no snapshot of that day; it has "
                              f"{dates[0]} .. {dates[-1]} ({len(dates)} runs)")
        q = self._frame(persistence.REVIEW, filter=[("run_date", "=", dt.date.fromisoformat(day))])
        q = _with_pair_ids(q)
        decided = self.decisions()
        q["decision"] = q["pair_id"].map(decided.set_index("pair_id")["decision"]) if len(decided) else None
        return q.sort_values(["reason", "match_probability"], ascending=[True, False]).reset_index(drop=True)

    def decisions(self) -> pd.DataFrame:
        """The latest decision per pair (``pair_id``, ``decision``, ``reviewer``, ``decided_at``, ``note``)."""
        d = self._frame(persistence.DECISIONS)
        if d is None or d.empty:
            return pd.DataFrame(columns=["pair_id", "decision", "reviewer", "decided_at", "note"])
        d = _with_pair_ids(d).sort_values("decided_at", kind="stable")
        return d.drop_duplicates("pair_id", keep="last").reset_index(drop=True)

    def resolve(self, ref: str) -> tuple[Pair, pd.Series | None]:
        """The pair named by ``ref`` and its newest review-queue row (None when it was never queued)."""
        ref = ref.strip()
        rows = None
        if ref.upper().startswith("P") and len(ref) == 11 and "," not in ref:
            rows = self._queued(lambda q: q["pair_id"] == "P" + ref[1:].lower())
            if rows is None or rows.empty:
                raise ReviewError(f"pair {ref}: not in any review queue of {self.settings.lake_root}; "
                                  "take the id from `scim review list`, or name the records as SOURCE:ID,SOURCE:ID")
            row = rows.iloc[-1]
            return Pair(row.source_l, row.record_id_l, row.source_r, row.record_id_r), row
        parts = [p.strip() for p in ref.split(",")]
        if len(parts) != 2 or not all(":" in p for p in parts):
            raise ReviewError(f"pair {ref!r}: give a pair id (P + 10 hex, from `scim review list`) or two records as "
                              "SOURCE:RECORD_ID,SOURCE:RECORD_ID (e.g. crm:10233995,weibo:7508518204)")
        (sl, rl), (sr, rr) = sorted(tuple(p.split(":", 1)) for p in parts)
        pair = Pair(sl, rl, sr, rr)
        missing = [u for u in (f"{sl}:{rl}", f"{sr}:{rr}") if u not in self._existing([pair])]
        if missing:
            raise ReviewError(f"pair {ref}: no person record {', '.join(missing)} in {PERSONS}; check the source "
                              "(crm, weibo, wechat) and the record id")
        rows = self._queued(lambda q: q["pair_id"] == pair.id)
        return pair, (None if rows is None or rows.empty else rows.iloc[-1])

    def _queued(self, predicate) -> pd.DataFrame | None:
        q = self._frame(persistence.REVIEW)
        if q is None:
            return None
        q = _with_pair_ids(q)
        return q[predicate(q)].sort_values("run_date")

    def _existing(self, pairs: list[Pair]) -> set[str]:
        return set(self.records(pairs)["unique_id"])

    def records(self, pairs: list[Pair]) -> pd.DataFrame:
        """The person records of ``pairs`` (clear values: mask before showing), with ``unique_id`` and the
        CRM's masked e-mail display value (``email_masked``)."""
        keys = sorted({(p.source_l, p.record_id_l) for p in pairs} | {(p.source_r, p.record_id_r) for p in pairs})
        if not keys or not self.lake.exists(PERSONS):
            return pd.DataFrame(columns=["unique_id", "source", "record_id", "email_masked"])
        found = []
        for i in range(0, len(keys), 200):  # DNF filters grow with the keys: a few hundred per scan
            chunk = keys[i:i + 200]
            found.append(self._frame(PERSONS, filter=[[("source", "=", s), ("record_id", "=", r)] for s, r in chunk]))
        recs = pd.concat(found, ignore_index=True).drop_duplicates(["source", "record_id"])
        recs["unique_id"] = [_uid(s, r) for s, r in zip(recs["source"], recs["record_id"])]
        crm_ids = sorted(recs.loc[recs["source"] == "crm", "record_id"])
        emails: dict[str, Any] = {}
        if crm_ids and self.lake.exists(CRM_CUSTOMERS):
            c = self.lake.to_arrow(CRM_CUSTOMERS, columns=["customer_id", "email_masked"],
                                   filter=[[("customer_id", "=", i)] for i in crm_ids]).to_pandas()
            emails = dict(zip(c["customer_id"], c["email_masked"]))
        recs["email_masked"] = [emails.get(r) if s == "crm" else None for s, r in zip(recs["source"], recs["record_id"])]
        return recs


# -- display ----------------------------------------------------------------------------------

def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _birth(rec: pd.Series) -> str | None:
    parts = [rec.get("birth_year"), rec.get("birth_month"), rec.get("birth_day")]
    if all(_missing(p) for p in parts):
        return None
    year = "????" if _missing(parts[0]) else f"{int(parts[0]):04d}"
    month = "??" if _missing(parts[1]) else f"{int(parts[1]):02d}"
    return f"{year}-{month}-{'??' if _missing(parts[2]) else mask_value('birth_day', parts[2])}"


def _phone(rec: pd.Series) -> str | None:
    p3, l4 = rec.get("phone_prefix3"), rec.get("phone_last4")
    if _missing(p3) or _missing(l4):
        return None if _missing(l4) else "****" + str(l4)
    return mask_value("phone_p3l4", f"{p3}{l4}")


def _email(rec: pd.Series) -> str | None:
    if not _missing(rec.get("email_masked")):
        return rec["email_masked"]
    return None if _missing(rec.get("email_hash")) else f"{PRESENT} (hash only)"


def _location(rec: pd.Series) -> str | None:
    parts = [rec.get(c) for c in ("province", "city") if not _missing(rec.get(c))]
    return " ".join(dict.fromkeys(str(p) for p in parts)) or None


def masked_fields(rec: pd.Series | None) -> dict[str, Any]:
    """The display values of one person record (everything a reviewer sees of it)."""
    if rec is None:
        return {k: "(record no longer in silver/person_records)" if k == "name" else None
                for k in ("name", "nickname", "gender", "birth", "phone", "email", "location", "address", "postcode")}
    return {
        "name": mask_value("full_name", rec.get("full_name")),
        "nickname": mask_value("nickname", rec.get("nickname")),
        "gender": mask_value("gender", rec.get("gender")),
        "birth": _birth(rec),
        "phone": _phone(rec),
        "email": _email(rec),
        "location": _location(rec),
        "address": mask_value("address", rec.get("address")),
        "postcode": mask_value("postcode", rec.get("postcode")),
    }


def _same(a: Any, b: Any) -> str:
    if _missing(a) or _missing(b):
        return ""
    return "same" if a == b else "differs"


def identifier_agreement(left: pd.Series | None, right: pd.Series | None) -> dict[str, str]:
    """Per pseudonymised identifier both records hold: ``same`` or ``differs`` (never a value)."""
    if left is None or right is None:
        return {}
    out = {}
    for col, label in _IDENTIFIERS.items():
        verdict = _same(left.get(col), right.get(col))
        if verdict:
            out[label] = verdict
    return out


@dataclass(frozen=True)
class Step:
    comparison: str
    level: str
    weight: float


def waterfall(evidence: str | None, total_weight: float | None,
              labels: dict[str, dict[int, str]] | None = None) -> tuple[list[Step], float | None, str | None]:
    """(comparison steps, prior weight, deterministic rule) from a stored evidence JSON.

    Each step is a comparison whose level was observed (not null) or that moved the weight,
    with Splink's chart label for the level and its match weight (term-frequency adjustment
    included); ``labels`` (:func:`comparison_labels` of the run's saved model) name the
    levels and give the order, else levels show as ``level <gamma>``. The prior is the total weight minus the comparisons' (it includes the
    per-source-pair prior of ``identity.account_share``). A deterministic or reviewer link
    has no comparisons: its rule is returned instead.
    """
    data = json.loads(evidence) if evidence else {}
    comparisons = {k: v for k, v in data.items() if isinstance(v, dict) and "gamma" in v}
    if not comparisons:
        return [], None, data.get("rule")
    labels = labels or {}
    steps = []
    for name, item in comparisons.items():
        gamma, weight = int(item["gamma"]), float(item.get("match_weight") or 0.0)
        if gamma == -1 and weight == 0.0:
            continue
        steps.append(Step(name, labels.get(name, {}).get(gamma, f"level {gamma}"), weight))
    prior = None if total_weight is None or _missing(total_weight) else float(total_weight) - sum(s.weight for s in steps)
    order = {name: i for i, name in enumerate(labels)}
    return sorted(steps, key=lambda s: order.get(s.comparison, 99)), prior, None


def comparison_labels(model: dict[str, Any] | None) -> dict[str, dict[int, str]]:
    """``{comparison: {gamma: label}}`` in model order, from a saved Splink model (Splink's chart labels).

    The comparisons of a run are chosen from its records (:mod:`transforms.matching.model_plan`),
    so the labels come from that run's model, not from a fixed list. Splink numbers a
    comparison's levels from ``n - 1`` (first non-null level) down to 0, the null level -1.
    """
    out: dict[str, dict[int, str]] = {}
    for comp in (model or {}).get("comparisons", []):
        levels = comp.get("comparison_levels", [])
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        labels = {len(non_null) - 1 - i: lv.get("label_for_charts") or f"level {len(non_null) - 1 - i}"
                  for i, lv in enumerate(non_null)}
        null = next((lv for lv in levels if lv.get("is_null_level")), None)
        if null is not None:
            labels[-1] = null.get("label_for_charts") or "null"
        out[comp["output_column_name"]] = labels
    return out


def render_waterfall(steps: list[Step], prior: float | None, total: float | None, probability: float | None) -> str:
    width = max([len(f"{s.comparison}: {s.level}") for s in steps] + [24])
    lines = [f"  {'starting weight (prior)'.ljust(width)}  {prior:+7.2f}"] if prior is not None else []
    running = prior or 0.0
    for s in steps:
        running += s.weight
        bar = ("+" if s.weight > 0 else "-") * min(int(round(abs(s.weight) * 2)), 30)
        lines.append(f"  {f'{s.comparison}: {s.level}'.ljust(width)}  {s.weight:+7.2f}  {running:+7.2f}  {bar}")
    if total is not None and not _missing(total):
        lines.append(f"  {'final match weight'.ljust(width)}  {float(total):+7.2f}  "
                     f"(probability {float(probability):.3f})")
    return "\n".join(lines)


def splink_waterfall_html(model: dict[str, Any], steps: list[Step], prior: float, total: float) -> str:
    """Splink's waterfall chart of one pair, from the run's saved model and the pair's stored weights.

    Each comparison's level comes from the model; a level's term-frequency adjustment is the
    stored weight minus the level's model weight; the prior is set so that the bars add up
    to the stored total. No record value is in the chart (``remove_sensitive_data``).
    """
    from splink import DuckDBAPI, Linker

    from transforms.matching import splink_model
    from transforms.matching.model_plan import ModelPlan

    p = 2.0 ** prior / (1.0 + 2.0 ** prior)
    plan = ModelPlan([c["output_column_name"] for c in model["comparisons"]], [], [], [])
    creator = splink_model.settings_creator(plan, model={**model, "probability_two_random_records_match": p})
    empty = pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith("birth_") else object) for c in plan.columns})
    linker = Linker(DuckDBAPI().register(empty), creator, log_level=logging.WARNING)
    by_name = {s.comparison: s for s in steps}
    record: dict[str, Any] = {"match_weight": total, "match_probability": 2.0 ** total / (1.0 + 2.0 ** total)}
    labels = comparison_labels(model)
    for comp in linker._settings_obj.comparisons:  # Splink's own level objects: the model's weights
        name = comp.output_column_name
        step = by_name.get(name)
        gamma = -1 if step is None else next(g for g, lab in labels[name].items() if lab == step.level)
        record[f"gamma_{name}"] = gamma
        level = comp._get_comparison_level_by_comparison_vector_value(gamma)
        level_weight = 0.0 if level.is_null_level else math.log2(level._bayes_factor)
        record[f"bf_{name}"] = 2.0 ** level_weight
        record[f"mw_tf_adj_{name}"] = (step.weight - level_weight) if step is not None and level._has_tf_adjustments else 0.0
        record[f"bf_tf_adj_{name}"] = 2.0 ** record[f"mw_tf_adj_{name}"]
    chart = linker.visualisations.waterfall_chart([record], filter_nulls=True, remove_sensitive_data=True)
    return chart.to_html(inline=True)


def _read_model(settings: Any, run_date: str) -> dict[str, Any] | None:
    from pyarrow import fs as pafs

    from lake_io.datasource import filesystem
    from pipelines.identity.report import MODEL

    filesystem_, path = filesystem(settings.lake_path(persistence.REPORTS, run_date, MODEL))
    if filesystem_.get_file_info(path).type != pafs.FileType.File:
        return None
    with filesystem_.open_input_stream(path) as fh:
        return json.loads(fh.read().decode("utf-8"))


# -- commands ---------------------------------------------------------------------------------

def _pad(text: Any, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two)."""
    text = "" if text is None else str(text)
    used = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(width - used, 0)


def _short(uid: str, width: int = 22) -> str:
    return uid if len(uid) <= width else uid[:width - 1] + "…"


def _filtered(q: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    if getattr(args, "reason", None):
        q = q[q["reason"].isin(args.reason)]
    if getattr(args, "min_probability", None) is not None:
        q = q[q["match_probability"] >= args.min_probability]
    if getattr(args, "max_probability", None) is not None:
        q = q[q["match_probability"] <= args.max_probability]
    if getattr(args, "source", None):
        q = q[q["source_l"].isin(args.source) | q["source_r"].isin(args.source)]
    if not getattr(args, "all", False):
        q = q[q["decision"].isna()]
    return q


def cmd_list(review: Review, args: argparse.Namespace) -> int:
    q = review.queue(args.run_date)
    total, shown = len(q), _filtered(q, args)
    decided = int(q["decision"].notna().sum())
    print(f"review queue of {q['run_date'].iloc[0] if total else args.run_date}: {total} pairs, {decided} decided since; "
          f"{len(shown)} shown" + ("" if args.all else " (undecided; --all shows decided pairs too)"))
    if shown.empty:
        return 0
    counts = shown.groupby("reason").size()
    print("by reason: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
    print(f"\n{'pair':<12} {'reason':<24} {'prob':>5} {'weight':>6}  {'left':<22} {'right':<22} matched on")
    for row in shown.head(args.limit).itertuples(index=False):
        mark = f"  [{row.decision}]" if isinstance(row.decision, str) else ""
        print(f"{row.pair_id:<12} {row.reason:<24} {row.match_probability:5.3f} {row.match_weight:6.2f}  "
              f"{_short(_uid(row.source_l, row.record_id_l)):<22} {_short(_uid(row.source_r, row.record_id_r)):<22} "
              f"{row.matched_on or ''}{mark}")
    if len(shown) > args.limit:
        print(f"... {len(shown) - args.limit} more (--limit N, or filter with --reason / --min-probability / --source)")
    return 0


def cmd_show(review: Review, args: argparse.Namespace) -> int:
    pair, row = review.resolve(args.pair)
    recs = review.records([pair]).set_index("unique_id")
    left = recs.loc[_uid(pair.source_l, pair.record_id_l)] if _uid(pair.source_l, pair.record_id_l) in recs.index else None
    right = recs.loc[_uid(pair.source_r, pair.record_id_r)] if _uid(pair.source_r, pair.record_id_r) in recs.index else None
    ml, mr = masked_fields(left), masked_fields(right)
    print(f"pair {pair.id}: {_uid(pair.source_l, pair.record_id_l)}  vs  {_uid(pair.source_r, pair.record_id_r)}")
    if row is not None:
        print(f"queued {row.run_date} as {row.reason}: probability {row.match_probability:.3f}, "
              f"match weight {row.match_weight:.2f}, matched on {row.matched_on or '-'}")
    else:
        print("not in any review queue (e.g. an automatic merge, or never scored)")
    latest = review.decisions()
    latest = latest[latest["pair_id"] == pair.id]
    if len(latest):
        d = latest.iloc[-1]
        print(f"decided: {d['decision']} by {d['reviewer']} at {d['decided_at']}" + (f" ({d['note']})" if d["note"] else ""))
    print(f"\n  {'':<10} {_pad('left', 28)} right")
    for field in ml:
        print(f"  {field:<10} {_pad(ml[field], 28)} {'' if mr[field] is None else mr[field]}")
    same = identifier_agreement(left, right)
    print("  identifiers (pseudonymised, compared not shown): "
          + (", ".join(f"{k} {v}" for k, v in same.items()) if same else "none held by both records"))
    if row is None:
        return 0
    model = _read_model(review.settings, str(row.run_date))
    steps, prior, rule = waterfall(row.evidence, row.match_weight, comparison_labels(model))
    print("\nevidence")
    if rule:
        print(f"  deterministic rule: {rule} (one identifier shared; refused by a guard rail: {row.reason})")
        return 0
    print(render_waterfall(steps, prior, row.match_weight, row.match_probability))
    if args.html:
        if model is None:
            print(f"\nno Splink model saved for the run of {row.run_date} "
                  f"(_reports/identity/{row.run_date}/splink_model.json): --html needs a run that saved one",
                  file=sys.stderr)
            return 1
        Path(args.html).write_text(splink_waterfall_html(model, steps, prior, float(row.match_weight)), encoding="utf-8")
        print(f"\nwrote Splink's waterfall chart of the pair to {args.html}")
    return 0


def reviewer_name(given: str | None) -> str:
    """``--reviewer``, else $USER (or the login name); a ReviewError when neither is known."""
    name = (given or os.environ.get("USER") or "").strip()
    if not name:
        try:
            name = getpass.getuser().strip()
        except (KeyError, OSError):
            name = ""
    if not name:
        raise ReviewError("who decides? pass --reviewer NAME (USER is not set)")
    return name


def _record(settings: Any, rows: list[dict[str, Any]]) -> int:
    from pipelines.spark import get_spark

    return persistence.record_decisions(settings, get_spark(settings), pd.DataFrame(rows))


def cmd_decide(review: Review, args: argparse.Namespace) -> int:
    pair, _row = review.resolve(args.pair)
    missing = {_uid(pair.source_l, pair.record_id_l), _uid(pair.source_r, pair.record_id_r)} - review._existing([pair])
    if missing:
        raise ReviewError(f"pair {pair.id}: record(s) {', '.join(sorted(missing))} are no longer in {PERSONS} "
                          "(erased or re-keyed); a decision on them would be ignored")
    who = reviewer_name(args.reviewer)
    version = _record(review.settings, [{**pair.__dict__, "decision": args.decision, "reviewer": who,
                                         "note": args.note}])
    print(f"recorded {args.decision} on pair {pair.id} by {who} (silver/identity_decisions v{version}); "
          "the next identity run honours it")
    return 0


def _cell(value: Any) -> str:
    text = "" if value is None or _missing(value) else str(value)
    # a cell starting with = + - @ is a formula to a spreadsheet: keep it text
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def export_rows(review: Review, q: pd.DataFrame) -> list[dict[str, str]]:
    pairs = [Pair(r.source_l, r.record_id_l, r.source_r, r.record_id_r) for r in q.itertuples(index=False)]
    recs = review.records(pairs).set_index("unique_id")
    out = []
    labels: dict[str, dict[str, dict[int, str]]] = {}  # run date -> that run's level labels
    for row, pair in zip(q.itertuples(index=False), pairs):
        run_date = str(row.run_date)
        if run_date not in labels:
            labels[run_date] = comparison_labels(_read_model(review.settings, run_date))
        ul, ur = _uid(pair.source_l, pair.record_id_l), _uid(pair.source_r, pair.record_id_r)
        left = recs.loc[ul] if ul in recs.index else None
        right = recs.loc[ur] if ur in recs.index else None
        ml, mr = masked_fields(left), masked_fields(right)
        steps, _prior, rule = waterfall(row.evidence, row.match_weight, labels[run_date])
        evidence = rule or "; ".join(f"{s.comparison}: {s.level} {s.weight:+.1f}" for s in steps)
        same = identifier_agreement(left, right)
        values = {
            "pair_id": pair.id, "run_date": str(row.run_date), "reason": row.reason,
            "match_probability": f"{row.match_probability:.4f}", "match_weight": f"{row.match_weight:.3f}",
            **pair.__dict__,
            **{f"{k}_{side}": m[k] for side, m in (("l", ml), ("r", mr))
               for k in ("name", "nickname", "gender", "birth", "phone", "email", "location")},
            "same_identifiers": ", ".join(f"{k} {v}" for k, v in same.items()), "evidence": evidence,
            "decision": row.decision if isinstance(row.decision, str) else "", "reviewer": "", "note": "",
        }
        out.append({k: _cell(values[k]) for k in CSV_COLUMNS})
    return out


def cmd_export(review: Review, args: argparse.Namespace) -> int:
    q = _filtered(review.queue(args.run_date), args)
    path = Path(args.file)
    if path.exists() and not args.force:
        raise ReviewError(f"{path} exists; pass --force to overwrite it (a filled-in file would be lost)")
    rows = export_rows(review, q)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel then reads UTF-8 (Chinese)
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} pairs to {path}; fill in decision (match / no_match), reviewer and note, "
          f"then `scim review import {path}`")
    return 0


def _clean(text: str | None) -> str:
    text = (text or "").strip()
    return text[1:] if text.startswith("'") else text


def _pair_of(rec: dict[str, Any]) -> Pair | None:
    """The pair a CSV row names by its four id columns (None when one is empty)."""
    ids = [_clean(rec.get(c)) for c in ("source_l", "record_id_l", "source_r", "record_id_r")]
    if not all(ids):
        return None
    (sl, rl), (sr, rr) = sorted([(ids[0], ids[1]), (ids[2], ids[3])])
    return Pair(sl, rl, sr, rr)


def parse_import(path: Path, known: dict[str, Pair], existing: set[str], default_reviewer: str | None,
                 current: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], list[str], int, int]:
    """(decision rows, errors naming the line, rows left undecided, rows unchanged) of a filled-in review CSV.

    ``current``: the latest recorded decision per pair id; a row repeating it is not recorded again.
    """
    current = current or {}
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [f"{path}: not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' from the spreadsheet"], 0, 0
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    need = {"decision"} | ({"pair_id"} if "pair_id" in header else {"source_l", "record_id_l", "source_r", "record_id_r"})
    if not need <= set(header):
        return [], [f"{path} line 1: columns {sorted(need - set(header))} missing; import a file written by "
                    "`scim review export` (columns pair_id ... decision, reviewer, note)"], 0, 0
    rows, errors, undecided, unchanged, seen = [], [], 0, 0, {}
    for line, rec in enumerate(reader, start=2):
        where = f"{path} line {line}"
        decision = _clean(rec.get("decision")).lower().replace("-", "_").replace(" ", "_")
        if not decision:
            undecided += 1
            continue
        if decision not in DECISIONS:
            errors.append(f"{where}: decision {rec.get('decision')!r} is not match or no_match")
            continue
        ref = _clean(rec.get("pair_id"))
        if ref:
            pair = known.get("P" + ref[1:].lower()) if ref[:1].upper() == "P" else None
            if pair is None:
                errors.append(f"{where}: pair_id {ref!r} is in no review queue of this lake; keep the pair_id "
                              "column as exported (or export again)")
                continue
        else:
            pair = _pair_of(rec)
            if pair is None:
                errors.append(f"{where}: no pair_id and incomplete source_l/record_id_l/source_r/record_id_r")
                continue
        absent = sorted({_uid(pair.source_l, pair.record_id_l), _uid(pair.source_r, pair.record_id_r)} - existing)
        if absent:
            errors.append(f"{where}: record(s) {', '.join(absent)} not in {PERSONS} (erased, or the id was changed "
                          "by the spreadsheet: format id columns as text)")
            continue
        reviewer = _clean(rec.get("reviewer")) or (default_reviewer or "")
        if not reviewer:
            errors.append(f"{where}: reviewer is empty; fill it in or pass --reviewer NAME")
            continue
        if pair.id in seen and seen[pair.id][1] != decision:
            errors.append(f"{where}: pair {pair.id} was decided {seen[pair.id][1]} on line {seen[pair.id][0]}; "
                          "keep one decision per pair")
            continue
        seen[pair.id] = (line, decision)
        if current.get(pair.id) == decision:
            unchanged += 1
            continue
        rows.append({**pair.__dict__, "decision": decision, "reviewer": reviewer, "note": _clean(rec.get("note")) or None})
    return rows, errors, undecided, unchanged


def cmd_import(review: Review, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise ReviewError(f"{path} not found; give the CSV written by `scim review export`")
    queued = review._queued(lambda q: q["pair_id"].notna())
    known = {} if queued is None else {
        r.pair_id: Pair(r.source_l, r.record_id_l, r.source_r, r.record_id_r) for r in queued.itertuples(index=False)}
    # every record the file may name: the queued pairs' records and those it names by id
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        named = [_pair_of(rec) for rec in csv.DictReader(fh)]
    wanted = list(known.values()) + [p for p in named if p is not None]
    existing = review._existing(wanted)
    try:
        default: str | None = reviewer_name(args.reviewer)
    except ReviewError:
        default = None  # then every row must name its reviewer
    latest = review.decisions()
    rows, errors, undecided, unchanged = parse_import(path, known, existing, default,
                                                      dict(zip(latest["pair_id"], latest["decision"])))
    if errors:
        print("\n".join(errors), file=sys.stderr)
        print(f"scim review import: {len(errors)} invalid row(s); nothing recorded. Fix them and import again.",
              file=sys.stderr)
        return 2
    if not rows:
        print(f"{path}: no new decision ({undecided} rows without a decision, {unchanged} as already recorded); "
              "nothing recorded")
        return 0
    if args.dry_run:
        print(f"{path}: {len(rows)} valid new decisions, {undecided} rows undecided, {unchanged} unchanged; "
              "--dry-run: nothing recorded")
        return 0
    version = _record(review.settings, rows)
    counts = pd.Series([r["decision"] for r in rows]).value_counts().to_dict()
    print(f"recorded {len(rows)} decisions ({', '.join(f'{k} {v}' for k, v in counts.items())}; {undecided} rows "
          f"left undecided, {unchanged} unchanged) in silver/identity_decisions v{version}; "
          "the next identity run honours them")
    return 0


COMMANDS = {"list": cmd_list, "show": cmd_show, "decide": cmd_decide, "export": cmd_export, "import": cmd_import}


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-date", help="queue of this identity run (default: the latest)")
    p.add_argument("--reason", action="append", help="only this reason (repeatable): uncertain, cluster_size_cap, "
                                                     "conflicting_identifier, conflicting_attributes")
    p.add_argument("--min-probability", type=float, help="only pairs at or above this match probability")
    p.add_argument("--max-probability", type=float, help="only pairs at or below this match probability")
    p.add_argument("--source", action="append", help="only pairs with a record of this source (repeatable)")
    p.add_argument("--all", action="store_true", help="include pairs already decided")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    # the same options after the action (`scim review list --lake X`) override
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lake", default=argparse.SUPPRESS, help="lake root (overrides the settings' lake_root)")
    common.add_argument("--config", default=argparse.SUPPRESS, help="YAML settings file (or set SCIM_CONFIG)")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub.add_parser("list", parents=[common], help="the latest review queue by reason and probability")
    _filters(p)
    p.add_argument("--limit", type=int, default=50, help="pairs to print")
    p = sub.add_parser("show", parents=[common], help="one pair side by side (masked) with its evidence")
    p.add_argument("pair", help="pair id (from list) or SOURCE:ID,SOURCE:ID")
    p.add_argument("--html", metavar="FILE", help="also write Splink's waterfall chart of the pair to FILE")
    p = sub.add_parser("decide", parents=[common], help="record match / no_match on a pair")
    p.add_argument("pair", help="pair id (from list) or SOURCE:ID,SOURCE:ID")
    p.add_argument("decision", choices=DECISIONS)
    p.add_argument("--reviewer", help="who decides (default: $USER)")
    p.add_argument("--note", help="why (free text; phone numbers and e-mails in it are masked)")
    p = sub.add_parser("export", parents=[common], help="write the queue to a CSV for a spreadsheet (UTF-8 with BOM)")
    p.add_argument("file")
    _filters(p)
    p.add_argument("--force", action="store_true", help="overwrite FILE")
    p = sub.add_parser("import", parents=[common], help="record the decisions of a filled-in CSV (every row validated first)")
    p.add_argument("file")
    p.add_argument("--reviewer", help="reviewer of rows whose reviewer cell is empty (default: $USER)")
    p.add_argument("--dry-run", action="store_true", help="validate only")


def run(args: argparse.Namespace) -> int:
    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    try:
        return COMMANDS[args.action](Review(settings), args)
    except ReviewError as exc:
        print(f"scim review {args.action}: {exc}", file=sys.stderr)
        return 2
