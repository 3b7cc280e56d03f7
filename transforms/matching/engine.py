"""The identity engine: standardised person records in, links, clusters and keys out.

One function, :func:`resolve`, used by the nightly pipeline (:mod:`pipelines.identity.pipeline`)
and by ``scim link`` (:mod:`pipelines.identity.cli`). Stages, each logged with counts and duration:

1. matching view (:func:`transforms.matching.inputs.prepare_matching_input`) and guard
   rails: identifier values held by more than ``max_key_records`` records are refused;
   blocking values held by more than ``max_block_records`` records do not block;
2. deterministic links on unique identifiers, in priority order;
3. probabilistic links with Splink (DuckDB or Spark backend): prior from the
   deterministic rules, u by random sampling, m by EM without labels, then prediction;
4. human decisions: "match" forces a link, "no_match" forbids one (even through others);
5. constrained clustering (:func:`transforms.matching.clusters.cluster_links`);
6. stable customer keys and lineage (:func:`transforms.matching.customer_keys.assign_customer_keys`).

Nothing here reads or writes the lake: :mod:`pipelines.identity.persistence` does.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from transforms.matching.clusters import cluster_links
from transforms.matching.customer_keys import assign_customer_keys
from transforms.matching.deterministic import conflicting_attributes, deterministic_links, null_overshared
from transforms.matching.inputs import DETERMINISTIC_KEYS, prepare_matching_input
from transforms.matching import splink_model
from transforms.matching.model_plan import ModelPlan, PlanLimits, default_prior, plan_model

log = logging.getLogger("scim.identity")

LINK_OUTPUT_COLUMNS = [
    "source_l", "record_id_l", "source_r", "record_id_r", "link_type", "rule", "match_probability",
    "match_weight", "evidence", "matched_on", "accepted", "refused_reason", "status",
]
REVIEW_COLUMNS = [
    "source_l", "record_id_l", "source_r", "record_id_r", "match_probability", "match_weight",
    "reason", "evidence", "matched_on",
]


@dataclass(frozen=True)
class EngineConfig:
    """Knobs of the engine; :meth:`from_settings` reads them from ``settings.identity``."""

    match_threshold: float = 0.90
    review_threshold: float = 0.50
    max_cluster_size: int = 50
    max_key_records: int = 10
    max_block_records: int = 200
    exclusive_keys: tuple[str, ...] = ("wechat_unionid_hash", "id_number_hash")
    exclusive_sources: tuple[str, ...] = ("weibo", "wechat")
    conflict_checked_keys: tuple[str, ...] = ("phone_hash", "email_hash", "qq_hash")
    conflict_attributes: tuple[str, ...] = ("gender", "birth_year", "birth_month", "birth_day")
    account_share: float | None = 0.5
    deterministic_keys: tuple[str, ...] = tuple(DETERMINISTIC_KEYS)
    u_max_pairs: float = 2e6
    m_floor: float = 0.01
    prior_recall: float = 0.6
    seed: int = 42
    waterfall_sample: int = 20
    min_fill: float = 0.01
    max_rule_pairs_per_record: float = 20.0
    em_min_pairs: int = 10
    em_max_pairs: int = 2_000_000

    def plan_limits(self) -> PlanLimits:
        return PlanLimits(min_fill=self.min_fill, max_rule_pairs_per_record=self.max_rule_pairs_per_record,
                          em_min_pairs=self.em_min_pairs, em_max_pairs=self.em_max_pairs)

    @classmethod
    def from_settings(cls, identity: Any) -> "EngineConfig":
        names = {f for f in cls.__dataclass_fields__}
        values = {k: getattr(identity, k) for k in names if hasattr(identity, k)}
        for k in ("exclusive_keys", "exclusive_sources", "deterministic_keys", "conflict_checked_keys",
                  "conflict_attributes"):
            if k in values:
                values[k] = tuple(values[k])
        return cls(**values)


@dataclass
class EngineResult:
    """Everything one engine run decided. Frames carry ids and scores only, no personal data."""

    clusters: pd.DataFrame  # source, record_id, customer_key, key_since
    links: pd.DataFrame  # LINK_OUTPUT_COLUMNS
    review: pd.DataFrame  # REVIEW_COLUMNS
    lineage: pd.DataFrame  # change_type, old_keys, new_key, records_before, records_after
    summary: dict[str, Any]
    reports: dict[str, str] = field(default_factory=dict)  # file name -> HTML
    model: dict[str, Any] | None = None  # the trained Splink model (settings + parameters)


class _Stage:
    def __init__(self, name: str, timings: dict[str, float]):
        self.name, self.timings = name, timings

    def __enter__(self):
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.timings[self.name] = round(time.monotonic() - self.t0, 3)
        return False


def resolve(
    standardised: pd.DataFrame,
    *,
    config: EngineConfig = EngineConfig(),
    run_date: str,
    previous: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    issued_keys: set[str] | None = None,
    backend: str = "duckdb",
    spark: Any = None,
    make_reports: bool = False,
    model: dict[str, Any] | None = None,
) -> EngineResult:
    """Resolve identities over standardised person records (pandas, one row per record).

    ``previous``: last run's clusters (``source``, ``record_id``, ``customer_key``,
    ``key_since``) for stable keys. ``decisions``: reviewer decisions (``source_l``,
    ``record_id_l``, ``source_r``, ``record_id_r``, ``decision`` in ``match``/``no_match``,
    ``decided_at``); the latest per pair wins, pairs naming absent records are ignored.
    ``backend``: ``duckdb`` (embedded) or ``spark`` (needs ``spark``, with Splink's
    similarity jar on ``spark.jars``). ``model``: a trained Splink model from an earlier
    result (``EngineResult.model``) to predict with instead of training (same parameters
    give the same scores on either backend). Raises ValueError for records without source or
    record_id or with a repeated (source, record_id).
    """
    timings: dict[str, float] = {}
    summary: dict[str, Any] = {"run_date": run_date, "backend": backend}
    with _Stage("prepare", timings):
        m = prepare_matching_input(standardised)
        keys = [k for k in config.deterministic_keys if k in m.columns]
        m, refused = null_overshared(m, keys, config.max_key_records)
        m, capped = null_overshared(m, splink_model.CAPPED_COLUMNS, config.max_block_records)
        for blk, col in splink_model.BLOCKING_COPIES.items():
            m[blk] = m[col]
        m, refused_blocks = null_overshared(m, list(splink_model.BLOCKING_COPIES), config.max_block_records)
    summary.update(records=len(m), refused_key_values=int(len(refused)), refused_key_records=int(refused["records"].sum()),
                   capped_values=int(len(capped)), unblocked_values=int(len(refused_blocks)))
    log.info("identity prepare: %d records, %d over-shared identifier values refused (%.1fs)",
             len(m), len(refused), timings["prepare"])

    with _Stage("deterministic", timings):
        det = deterministic_links(m, list(keys))
        det = det.assign(link_type="deterministic", match_probability=1.0, match_weight=np.nan,
                         evidence=det["rule"].map(lambda r: json.dumps({"rule": r})), matched_on=det["rule"])
        checked = det["rule"].isin([k.removesuffix("_hash") for k in config.conflict_checked_keys])
        clash = checked & conflicting_attributes(det, m, list(config.conflict_attributes))
        det, det_clash = det[~clash], det[clash].assign(accepted=False, refused_reason="conflicting_attributes",
                                                       status="refused")
    summary["deterministic_links"] = len(det)
    summary["deterministic_conflicts"] = len(det_clash)
    log.info("identity deterministic: %d links (%.1fs)", len(det), timings["deterministic"])

    reports: dict[str, str] = {}
    with _Stage("probabilistic", timings):
        pred, reports, trained_model, summary["model"] = _probabilistic(m, config, backend, spark, make_reports, model)
    summary["scored_pairs"] = len(pred)
    log.info("identity probabilistic: %d pairs at or above review threshold (%.1fs)", len(pred), timings["probabilistic"])

    with _Stage("cluster", timings):
        forced, cannot, n_ignored = _decision_links(decisions, m)
        auto = pred[pred["match_probability"] >= config.match_threshold]
        links = pd.concat([forced, det, auto], ignore_index=True)
        exclusive = _exclusive_frame(m, config)
        clusters, links = cluster_links(m["unique_id"], links, max_cluster_size=config.max_cluster_size,
                                        exclusive=exclusive, cannot_link=cannot)
        uncertain = pred[pred["match_probability"] < config.match_threshold]
        decided = _pair_set(forced) | _pair_set(cannot)
        uncertain = uncertain[~_in_pairs(uncertain, decided)]
        # An uncertain model pair whose records another link already put in one cluster needs
        # no reviewer: it is kept in the links table as corroborating evidence.
        cluster_of = clusters.set_index("unique_id")["cluster_id"]
        same = (uncertain["unique_id_l"].map(cluster_of).to_numpy() == uncertain["unique_id_r"].map(cluster_of).to_numpy())
        corroborating, uncertain = uncertain[same], uncertain[~same]
        # a model link a reviewer rejected is kept in the links table, marked as such
        rejected = pred[_in_pairs(pred, _pair_set(cannot))]
        # np.where, not .loc: assigning a scalar through .loc fails on an empty frame (no links)
        links["status"] = np.where(links["refused_reason"].notna(), "refused",
                                   np.where(links["accepted"].astype(bool), "merged", None))
        all_links = pd.concat([
            links,
            uncertain.assign(accepted=False, refused_reason=None, status="review"),
            corroborating.assign(accepted=False, refused_reason=None, status="corroborating"),
            det_clash,
            rejected[rejected["match_probability"] < config.match_threshold].assign(
                accepted=False, refused_reason="decided_no_match", status="refused"),
        ], ignore_index=True)
        review = pd.concat([
            uncertain.assign(reason="uncertain"),
            links[links["refused_reason"].isin(["cluster_size_cap", "conflicting_identifier"])].assign(
                reason=lambda d: d["refused_reason"]),
            # a clash whose records other evidence joined anyway needs no reviewer
            det_clash[det_clash["unique_id_l"].map(cluster_of).to_numpy()
                      != det_clash["unique_id_r"].map(cluster_of).to_numpy()].assign(reason="conflicting_attributes"),
        ], ignore_index=True).drop_duplicates(["unique_id_l", "unique_id_r"], keep="first")  # one row per pair
    summary.update(decisions_applied=len(forced) + len(cannot), decisions_ignored=n_ignored,
                   links_merged=int((all_links["status"] == "merged").sum()),
                   links_refused=int((all_links["status"] == "refused").sum()), review_pairs=len(review))
    log.info("identity cluster: %d links merged, %d refused, %d pairs to review (%.1fs)",
             summary["links_merged"], summary["links_refused"], len(review), timings["cluster"])

    with _Stage("keys", timings):
        ids = m[["unique_id", "source", "record_id"]]
        prev = None
        if previous is not None and len(previous):
            prev = previous.assign(unique_id=previous["source"].astype(str) + ":" + previous["record_id"].astype(str))
        assignment, lineage = assign_customer_keys(clusters, prev, run_date, issued_keys)
        out = ids.merge(assignment, on="unique_id").merge(clusters, on="unique_id")
    summary.update(clusters=int(out["customer_key"].nunique()),
                   multi_record_clusters=int((out.groupby("customer_key").size() > 1).sum()),
                   lineage_changes={k: int(v) for k, v in lineage["change_type"].value_counts().items()},
                   seconds=timings)
    log.info("identity keys: %d customers, changes %s (%.1fs)", summary["clusters"], summary["lineage_changes"],
             timings["keys"])

    return EngineResult(
        clusters=out[["source", "record_id", "customer_key", "key_since"]].sort_values(["source", "record_id"]).reset_index(drop=True),
        links=_with_record_ids(all_links, ids)[LINK_OUTPUT_COLUMNS],
        review=_with_record_ids(review, ids)[REVIEW_COLUMNS],
        lineage=lineage,
        summary=summary,
        reports=reports,
        model=trained_model,
    )


def _exclusive_frame(m: pd.DataFrame, config: EngineConfig) -> pd.DataFrame:
    """Per record, the values a person holds only one of: the exclusive identifiers, and for
    each source in ``exclusive_sources`` the record's own id (one account per platform)."""
    out = m[["unique_id", *[k for k in config.exclusive_keys if k in m.columns]]].copy()
    for source in config.exclusive_sources:
        out[f"account:{source}"] = m["unique_id"].where(m["source"] == source, None)
    return out


# -- probabilistic stage -----------------------------------------------------------------------

_PRED_EMPTY = pd.DataFrame({
    "unique_id_l": pd.Series(dtype=object), "unique_id_r": pd.Series(dtype=object),
    "link_type": pd.Series(dtype=object), "rule": pd.Series(dtype=object),
    "match_probability": pd.Series(dtype=float), "match_weight": pd.Series(dtype=float),
    "evidence": pd.Series(dtype=object), "matched_on": pd.Series(dtype=object),
})


def _splink_input(m: pd.DataFrame, plan: ModelPlan) -> pd.DataFrame:
    df = m[[c for c in plan.columns if c in m.columns]].copy()
    for c in ("birth_year", "birth_month", "birth_day"):
        if c in df.columns:
            df[c] = df[c].astype("float64")  # nullable ints -> plain floats for every backend
    return df


def _skip(reason: str, model: dict[str, Any] | None, info: dict[str, Any]):
    log.warning("identity probabilistic: skipped, %s", reason)
    return _PRED_EMPTY.copy(), {}, model, {**info, "skipped": reason}


def _probabilistic(m: pd.DataFrame, config: EngineConfig, backend: str, spark: Any, make_reports: bool,
                   model: dict[str, Any] | None):
    stored = [c["output_column_name"] for c in model["comparisons"]] if model is not None else None
    plan = plan_model(m, config.plan_limits(), stored)
    for note in plan.notes:
        log.info("identity model: %s", note)
    info: dict[str, Any] = {"comparisons": plan.comparisons, "prediction_rules": len(plan.prediction_rules),
                            "em_passes_planned": len(plan.training_rules), "em_passes_run": 0,
                            "prior_rules": [r.sql for r in plan.prior_rules], "skipped": None}
    if model is None and len(m) < 3:
        return _skip(f"{len(m)} record(s): too few to train a model", model, info)
    if not plan.comparisons:
        return _skip("no comparison has enough filled values (see the 'identity model' lines)", model, info)
    if not plan.prediction_rules:
        return _skip("no blocking rule finds a candidate pair: no two records agree on any blocking column",
                     model, info)
    from splink import DuckDBAPI, Linker, SparkAPI

    data = _splink_input(m, plan)
    if backend == "spark":
        if spark is None:
            raise ValueError("identity backend 'spark' needs a Spark session")
        # "persist" keeps intermediate tables in executor memory: no checkpoint directory to
        # configure (that would need the SparkContext, which job code must not touch)
        db_api = SparkAPI(spark_session=spark, break_lineage_method="persist")
        table = db_api.register(spark.createDataFrame(data.astype(object).where(data.notna(), None)))
    elif backend == "duckdb":
        db_api = DuckDBAPI()
        table = db_api.register(data)
    else:
        raise ValueError(f"unknown identity backend {backend!r}; use 'duckdb' or 'spark'")
    if model is None:
        trainer = Linker(table, splink_model.settings_creator(plan, default_prior(len(m))), log_level=logging.WARNING)
        info["em_passes_run"] = _train(trainer, plan, len(m), config)
        model = splink_model.regularise(trainer.misc.save_model_to_json(), config.m_floor, 1.0 / config.u_max_pairs)
    linker = Linker(table, splink_model.settings_creator(plan, model=model), log_level=logging.WARNING)
    for col in plan.tf_columns:
        lookup = splink_model.pair_excluded_term_frequencies(data[col], col)
        if lookup.empty:
            continue
        lookup_table = db_api.register(spark.createDataFrame(lookup) if backend == "spark" else lookup)
        linker.table_management.register_term_frequency_lookup(lookup_table, col)
    lam = float(model["probability_two_random_records_match"])
    counts = m["source"].value_counts()
    priors = _account_priors(counts, config)
    shift = max([0.0] + [_logit2(p) - _logit2(lam) for p in priors.values()])
    df_pred = linker.inference.predict(threshold_match_weight=_logit2(config.review_threshold) - shift)
    pred = _account_prior(df_pred.as_pandas_dataframe(), priors, lam)
    pred = pred[pred["match_probability"] >= config.review_threshold].reset_index(drop=True)
    reports = _reports(linker, pred, config, plan.columns) if make_reports and len(pred) else {}
    info["prior"] = lam
    return _evidence(pred), reports, linker.misc.save_model_to_json(), info


def _logit2(p: float) -> float:
    return math.log2(p / (1.0 - p))


def _account_priors(counts: pd.Series, config: EngineConfig) -> dict[tuple[str, str], float]:
    """Prior match probability per pair of sources where one side is an exclusive source.

    A person has one account on an exclusive platform (``exclusive_sources``), so an account
    matches at most one of the ``n`` records of another source: its prior is
    ``account_share / n`` (``account_share``: the share of accounts expected to have a record
    on the other side; 0.5 says "no idea"), taking the larger source as ``n``. Splink's
    single prior, estimated over all pairs, is dominated by same-source pairs and
    understates it. Pairs of one source, or of two non-exclusive sources, keep ``lam``.
    """
    if not config.account_share:
        return {}
    out = {}
    sources = sorted(counts.index)
    for i, a in enumerate(sources):
        for b in sources[i + 1:]:
            if a in config.exclusive_sources or b in config.exclusive_sources:
                out[(a, b)] = min(0.5, config.account_share / max(int(counts[a]), int(counts[b]), 1))
    return out


def _account_prior(pred: pd.DataFrame, priors: dict[tuple[str, str], float], lam: float) -> pd.DataFrame:
    """Re-weigh Splink's scores of cross-platform pairs with their own prior (see :func:`_account_priors`).

    Match weights are additive, so a different prior is a constant shift of the weight;
    the per-comparison weights (the evidence) are unchanged.
    """
    if pred.empty or not priors:
        return pred
    src_l = pred["unique_id_l"].astype(str).str.split(":", n=1).str[0]
    src_r = pred["unique_id_r"].astype(str).str.split(":", n=1).str[0]
    lo, hi = np.minimum(src_l, src_r), np.maximum(src_l, src_r)
    base = _logit2(lam)
    shift = pd.Series([_logit2(priors[(a, b)]) - base if (a, b) in priors else 0.0 for a, b in zip(lo, hi)],
                      index=pred.index)
    out = pred.copy()
    out["match_weight"] = out["match_weight"].astype(float) + shift
    out["match_probability"] = 1.0 / (1.0 + np.exp2(-out["match_weight"]))
    return out


def _first_line(exc: BaseException) -> str:
    """The whole first line of an exception's message (Splink's own SQL has dots in it)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:500]


def _train(linker: Any, plan: ModelPlan, records: int, config: EngineConfig) -> int:
    """Prior, u by random sampling, then m by EM over the plan's passes; returns the passes
    that ran. Never raises on data that cannot train a part: that part keeps its default,
    with a warning saying so."""
    from splink.internals.exceptions import EMTrainingException

    started = time.monotonic()
    training = linker.training
    if plan.prior_rules:
        try:
            training.estimate_probability_two_random_records_match(
                [r.creator() for r in plan.prior_rules], recall=config.prior_recall)
        except (ValueError, EMTrainingException) as exc:
            log.warning("identity training: prior not estimated (%s); using the default %.3g", _first_line(exc),
                        default_prior(records))
        lam = linker._settings_obj._probability_two_random_records_match
        if not 0.0 < lam < 1.0:  # Splink gives 0 when its rules found no pair
            linker._settings_obj._probability_two_random_records_match = default_prior(records)
    else:
        log.warning("identity training: no record pair shares a unique identifier or a full name with a full "
                    "date of birth; using the default prior %.3g (half the records have one other record of "
                    "the same person); EM then re-estimates it within each pass", default_prior(records))
    training.estimate_u_using_random_sampling(max_pairs=config.u_max_pairs, seed=config.seed)
    trained = 0
    for rule in plan.training_rules:
        if _em_pass(linker, rule, plan.pairs.get(rule, 0), config):
            trained += 1
    if not trained:
        log.warning("identity training: no EM pass ran; m probabilities are the model's starting values")
    log.info("identity training: prior %.3g, u from up to %d random pairs, %d of %d EM passes (%.1fs)",
             linker._settings_obj._probability_two_random_records_match, int(config.u_max_pairs), trained,
             len(plan.training_rules), time.monotonic() - started)
    return trained


def _em_pass(linker: Any, rule: Any, pairs: int, config: EngineConfig) -> bool:
    """One EM pass blocked on ``rule``; on Splink's m = 0.0 refusal it is retried once with
    fewer iterations, and skipped with a complete warning if it still fails."""
    from splink.internals.exceptions import EMTrainingException

    settings = linker._settings_obj
    sample = config.em_max_pairs if pairs > config.em_max_pairs else None
    full_iterations = settings.training_settings
    for iterations in (None, 5):
        if iterations is not None:
            settings.training_settings = dataclasses.replace(full_iterations, max_iterations=iterations)
        # Splink 5's EM session drops the blocked comparisons from the linker's own model
        # object before training and only restores them on success: keep a copy to restore
        saved = settings.core_model_settings.copy()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule.creator(), estimate_without_term_frequencies=True, max_pairs=sample)
            return True
        except (ValueError, EMTrainingException) as exc:
            settings.core_model_settings = saved
            reason = _first_line(exc)
            # an m probability that EM drives to exactly 0.0 (a level seen only among clear
            # non-matches of this pass) underflows after many iterations: fewer may succeed
            if iterations is None and "below the minimum" in reason:
                continue
            log.warning("identity training: EM pass blocked on %s skipped (%d pairs): %s; the comparisons it "
                        "trains keep the values of the other passes or their starting values", rule.sql, pairs,
                        reason)
            return False
        finally:
            settings.training_settings = full_iterations
    return False


def _evidence(pred: pd.DataFrame) -> pd.DataFrame:
    """Per pair: match probability and weight, and per comparison its level (gamma) and match
    weight (Splink's ``mw_`` plus its term-frequency adjustment), and the blocking rule that
    proposed the pair (``match_key``)."""
    if pred.empty:
        return _PRED_EMPTY.copy()
    names = [c[len("gamma_"):] for c in pred.columns if c.startswith("gamma_")]
    gammas = {n: pred[f"gamma_{n}"].to_numpy() for n in names}
    zeros = np.zeros(len(pred))
    weights = {
        n: pd.to_numeric(pred.get(f"mw_{n}"), errors="coerce").fillna(0).to_numpy(dtype=float)
        + (pd.to_numeric(pred[f"mw_tf_adj_{n}"], errors="coerce").fillna(0).to_numpy(dtype=float)
           if f"mw_tf_adj_{n}" in pred else zeros)
        for n in names
    }
    rule = pred["match_key"].astype(str).to_numpy() if "match_key" in pred else np.full(len(pred), "")
    evidence, matched = [], []
    for i in range(len(pred)):
        item: dict[str, Any] = {"blocking_rule": rule[i]}
        pos = []
        for n in names:
            g, w = int(gammas[n][i]), float(weights[n][i])
            item[n] = {"gamma": g, "match_weight": round(w, 3)}
            if g > 0 and w > 0:
                pos.append(n)
        evidence.append(json.dumps(item, sort_keys=True))
        matched.append(",".join(pos))
    l, r = pred["unique_id_l"].astype(str), pred["unique_id_r"].astype(str)
    swap = l > r
    return pd.DataFrame({
        "unique_id_l": np.where(swap, r, l), "unique_id_r": np.where(swap, l, r),
        "link_type": "probabilistic", "rule": "splink",
        "match_probability": pred["match_probability"].astype(float).to_numpy(),
        "match_weight": pred["match_weight"].astype(float).to_numpy(),
        "evidence": evidence, "matched_on": matched,
    })


def _reports(linker: Any, pred: pd.DataFrame, config: EngineConfig, columns: list[str]) -> dict[str, str]:
    """Match-weights chart and a waterfall chart for a sample of links (no personal data)."""
    out = {"match_weights.html": linker.visualisations.match_weights_chart().to_html(inline=True)}
    # the sample spans the decision band: strongest, weakest and around the match threshold
    order = pred.sort_values(["match_probability", "unique_id_l", "unique_id_r"], ascending=[False, True, True])
    n = max(1, config.waterfall_sample // 2)
    near = (order["match_probability"] - config.match_threshold).abs().sort_values(kind="stable").index[:n]
    sample = pd.concat([order.head(n), order.loc[near]]).drop_duplicates(["unique_id_l", "unique_id_r"])
    records = [{k: (None if (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()}
               for row in sample.to_dict("records")]
    chart = linker.visualisations.waterfall_chart(records, filter_nulls=True, remove_sensitive_data=True)
    out["waterfall.html"] = chart.to_html(inline=True)
    try:
        out["comparison_viewer.html"] = _comparison_viewer(linker, pred, config, columns)
    except Exception as exc:  # a report must never fail the night
        log.warning("identity report: comparison viewer skipped (%s)", str(exc).splitlines()[0][:200])
    return out


#: Scored pairs (a random sample) behind the comparison viewer of each run.
VIEWER_SAMPLE = 2000


def _comparison_viewer(linker: Any, pred: pd.DataFrame, config: EngineConfig, columns: list[str]) -> str:
    """Splink's comparison viewer on a sample of scored pairs, every value masked
    (:mod:`transforms.matching.display`): names and handles as 王**, phones as 138****5678."""
    import tempfile
    from pathlib import Path

    from transforms.matching.display import mask_frame

    sample = pred.sample(n=min(len(pred), VIEWER_SAMPLE), random_state=config.seed)
    masked = mask_frame(sample, list(dict.fromkeys([*columns, *splink_model.BLOCKING_COPIES])))
    # DuckDB's viewer SQL picks examples by the rowid of a stored table, which a registered
    # frame lacks: a real column of that name stands in for it
    masked["rowid"] = np.arange(len(masked), dtype="int64")
    table = linker.table_management.register_table(masked, "__splink__df_predict", overwrite=True)
    with tempfile.TemporaryDirectory() as tmp:  # Splink always writes the file as well
        return linker.visualisations.comparison_viewer_dashboard(
            table, str(Path(tmp) / "viewer.html"), overwrite=True, num_example_rows=2, return_html_as_string=True)


# -- decisions and output helpers --------------------------------------------------------------

def _in_pairs(df: pd.DataFrame, pairs: set[tuple[str, str]]) -> np.ndarray:
    """Boolean mask: is (unique_id_l, unique_id_r) of each row in ``pairs``?"""
    return np.fromiter((p in pairs for p in zip(df["unique_id_l"], df["unique_id_r"])), dtype=bool, count=len(df))


def _pair_set(df: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(df["unique_id_l"], df["unique_id_r"]))


def _decision_links(decisions: pd.DataFrame | None, m: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Latest decision per pair -> (forced links, cannot-link pairs, ignored count)."""
    empty = pd.DataFrame({"unique_id_l": pd.Series(dtype=object), "unique_id_r": pd.Series(dtype=object)})
    if decisions is None or decisions.empty:
        return empty.assign(link_type=pd.Series(dtype=object)), empty, 0
    d = decisions.copy()
    bad = ~d["decision"].isin(["match", "no_match"])
    if bad.any():
        raise ValueError(f"identity decisions: {int(bad.sum())} rows have a decision other than 'match'/'no_match' "
                         f"(e.g. {d.loc[bad, 'decision'].iloc[0]!r}); fix silver/identity_decisions")
    a = d["source_l"].astype(str) + ":" + d["record_id_l"].astype(str)
    b = d["source_r"].astype(str) + ":" + d["record_id_r"].astype(str)
    d["unique_id_l"], d["unique_id_r"] = np.where(a < b, a, b), np.where(a < b, b, a)
    d = d.sort_values("decided_at", kind="stable").drop_duplicates(["unique_id_l", "unique_id_r"], keep="last")
    known = set(m["unique_id"])
    present = d["unique_id_l"].isin(known) & d["unique_id_r"].isin(known)
    d = d[present]
    forced = d[d["decision"] == "match"][["unique_id_l", "unique_id_r"]].assign(
        link_type="decision", rule="reviewer_match", match_probability=1.0, match_weight=np.nan,
        evidence=json.dumps({"rule": "reviewer_match"}), matched_on="decision")
    cannot = d[d["decision"] == "no_match"][["unique_id_l", "unique_id_r"]]
    return forced.reset_index(drop=True), cannot.reset_index(drop=True), int((~present).sum())


def _with_record_ids(links: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
    look = ids.set_index("unique_id")
    out = links.copy()
    for side in ("l", "r"):
        out[f"source_{side}"] = out[f"unique_id_{side}"].map(look["source"])
        out[f"record_id_{side}"] = out[f"unique_id_{side}"].map(look["record_id"])
    for col in LINK_OUTPUT_COLUMNS + REVIEW_COLUMNS:
        if col not in out.columns:
            out[col] = None
    return out.reset_index(drop=True)
