"""The pipeline steps as Dagster sees them: which tables each writes and which function writes them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dagster_project.assets import Step, StepContext
from transforms.bronze import SPECS as BRONZE_SPECS

# -- bronze (daily partitions) -------------------------------------------------------------
BRONZE_TABLES = {spec.table: f"Raw {spec.source} {spec.entity} records as delivered, one partition per drop date"
                 for spec in BRONZE_SPECS.values()}
QUARANTINE = "quarantine"
RECONCILIATION = "_reports/reconciliation"


def _ingest(ctx: StepContext) -> dict[str, dict[str, Any]]:
    from pipelines.ingest import ingest_bronze

    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"rows": 0, "quarantined": 0, "input_records": 0})
    for day in ctx.days:
        result = ingest_bronze(ctx.settings, ctx.spark, day, lake=ctx.lake)
        for r in result.values():
            t = totals[r["table"]]
            t["rows"] += r["written_records"]
            t["input_records"] += r["input_records"]
            t["quarantined"] += r["quarantined_records"]
            if r.get("delta_version") is not None:
                t["delta_version"] = r["delta_version"]
            totals[QUARANTINE]["rows"] += r["quarantined_records"]
            totals[RECONCILIATION]["rows"] += 1
    # Erased persons stay erased: drop suppressed subjects that old drops bring back.
    from pipelines.erase import enforce_suppression

    suppressed = enforce_suppression(ctx.settings, ctx.spark, lake=ctx.lake)
    for table, n in suppressed.items():
        if table in totals:
            totals[table]["suppressed"] = n
    for table in (QUARANTINE, RECONCILIATION):
        if ctx.lake.exists(table):
            totals[table]["delta_version"] = ctx.lake.version(table)
    return dict(totals)


# -- silver (rebuilt from all bronze up to the run date) ----------------------------------
SILVER_TABLES = {
    "silver/crm_customers": "CRM customers, latest version per customer, identifiers hashed",
    "silver/orders": "CRM order lines, typed, amounts in yuan",
    "silver/points": "CRM loyalty point transactions",
    "silver/communications": "CRM communication and campaign contacts",
    "silver/campaigns": "Campaigns with dates, platform and coupon codes",
    "silver/social_accounts": "Weibo and WeChat accounts in one table (platform column)",
    "silver/posts": "Weibo posts, typed and deduplicated",
    "silver/follows": "Weibo follow edges",
    "silver/interactions": "WeChat interactions: reads, clicks, service chats, coupon claims",
}


def _silver(ctx: StepContext) -> dict[str, dict[str, Any]]:
    from pipelines.ingest import build_silver

    return build_silver(ctx.settings, ctx.spark, ctx.run_date, lake=ctx.lake)


def _person_records(ctx: StepContext) -> dict[str, dict[str, Any]]:
    from pipelines.ingest import build_person_records

    return build_person_records(ctx.settings, ctx.spark, ctx.run_date, lake=ctx.lake)


# -- identity (unpartitioned: every person record up to the run date) ---------------------
IDENTITY_TABLES = {
    "silver/identity_clusters": "One row per source record: its customer_key in this run's snapshot",
    "silver/identity_links": "Pairwise links with match probability, weight and evidence",
    "silver/identity_lineage": "Every customer_key change: new, merge, split, with old and new keys",
    "silver/identity_review_queue": "Uncertain pairs waiting for a human decision",
}
_IDENTITY_NUMBERS = ("records", "clusters", "deterministic_links", "probabilistic_links", "review_queue", "match_rate")


def _identity(ctx: StepContext) -> dict[str, dict[str, Any]]:
    from pipelines.identity.pipeline import resolve_identities

    records = ctx.lake.read("silver/person_records")
    summary = resolve_identities(ctx.settings, ctx.spark, records, ctx.run_date)
    numbers = {k: v for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    out = {}
    for table, version in summary.get("versions", {}).items():
        meta = {"delta_version": version, "rows": summary.get("rows", {}).get(table)}
        if table == "silver/identity_clusters":
            meta.update(numbers, identity_report_uri=summary.get("report_uri"))
        out[table] = meta
    return out


# -- features (one snapshot partition per run date) ---------------------------------------
FEATURE_TABLES = {
    "silver/features_customer_daily": "Wide numeric features per customer_key, one snapshot per day",
    "silver/features_account": "Social features per Weibo / WeChat account",
}


def _share_plot(title: str, shares: dict[str, Any]) -> str:
    rows = "\n".join(f"| {k} | {float(v):.1%} | {'█' * round(float(v) * 40)} |" for k, v in shares.items())
    return f"**{title}**\n\n| segment | share | |\n| --- | ---: | --- |\n{rows}\n"


def _features(ctx: StepContext) -> dict[str, dict[str, Any]]:
    from pipelines.features import build_features

    s = build_features(ctx.settings, ctx.spark, ctx.run_date, lake=ctx.lake)
    customers = {"rows": s["customers"], "delta_version": s.get("customer_version"),
                 "consent_share": s.get("consent_share"), "lifecycle_counts": s.get("lifecycle_counts") or {},
                 "missing_inputs": ",".join(s.get("missing_inputs") or [])}
    shares = s.get("participation_shares") or {}
    if shares:
        customers["participation_shares"] = shares
        customers["plot"] = _share_plot("Participation segments (persons with a social account)", shares)
    return {
        "silver/features_customer_daily": customers,
        "silver/features_account": {"rows": s["accounts"], "delta_version": s.get("account_version")},
    }


# -- gold (BI tables for the run date) ------------------------------------------------------
def _gold_tables() -> dict[str, str]:
    from pipelines.publish import load_table_specs

    return {table: spec["description"] for table, spec in load_table_specs()["tables"].items()}


def _gold(ctx: StepContext) -> dict[str, dict[str, Any]]:
    from pipelines.publish import headline_numbers, publish_gold

    out = publish_gold(ctx.settings, ctx.spark, ctx.run_date, lake=ctx.lake)
    missing = out.pop("_missing_inputs", [])
    if missing:
        ctx.dagster.log.warning("gold: missing inputs %s", missing)
    if "gold/brand_sentiment_daily" in out and "gold/campaign_report" in out and "gold/dim_customer" in out:
        h = headline_numbers(ctx.settings, ctx.spark, lake=ctx.lake)
        out["gold/dim_customer"].update(customers=h["customers"], link_rate=h["link_rate"],
                                        consent_rate=h["consent_rate"])
        out["gold/brand_sentiment_daily"].update(negative_positive_ratio=h["negative_positive_ratio"],
                                                 negative_spike=h["negative_spike"])
        rows = "\n".join(f"| {c['name']} | {c['revenue']:,.2f} | {c['conversion_rate']} |" for c in h["top_campaigns"])
        out["gold/campaign_report"]["plot"] = f"| campaign | revenue | conversion |\n| --- | ---: | ---: |\n{rows}\n"
    return out


STEPS: list[Step] = [
    Step(
        name="ingest",
        group="bronze",
        description="Landing drops -> bronze tables, quarantine and the reconciliation report.",
        tables={**BRONZE_TABLES,
                QUARANTINE: "Every rejected landing record with its reason code",
                RECONCILIATION: "Per source entity and drop date: input = written + quarantined"},
        run=_ingest,
        partitioned=True,
    ),
    Step(
        name="silver",
        group="silver",
        description="Bronze -> typed, standardised, deduplicated silver tables.",
        tables=SILVER_TABLES,
        run=_silver,
        deps=tuple(BRONZE_TABLES),
    ),
    Step(
        name="person_records",
        group="identity",
        description="Standardised person records of every CRM customer and social account.",
        tables={"silver/person_records": "Standardised person records (the identity contract), no raw identifiers"},
        run=_person_records,
        deps=tuple(BRONZE_TABLES),
    ),
    Step(
        name="identity",
        group="identity",
        description="Deterministic keys, Splink matching and clustering into stable customer keys.",
        tables=IDENTITY_TABLES,
        run=_identity,
        deps=("silver/person_records",),
    ),
    Step(
        name="features",
        group="features",
        description="Social traits and CRM value turned into numeric features per customer and account.",
        tables=FEATURE_TABLES,
        run=_features,
        deps=tuple(SILVER_TABLES) + ("silver/identity_clusters",),
    ),
    Step(
        name="gold",
        group="gold",
        description="BI tables: customer 360, facts, brand sentiment KPI, attribution, campaigns, CRM export.",
        tables=_gold_tables(),
        run=_gold,
        deps=tuple(SILVER_TABLES) + tuple(IDENTITY_TABLES) + tuple(FEATURE_TABLES),
    ),
]
