"""Identity tables in the lake (through :mod:`lake_io`), and the identity reports.

| table | content | written |
| --- | --- | --- |
| ``silver/identity_clusters`` | source, record_id, customer_key, key_since, run_date, run_id | one snapshot per run_date (re-run replaces it) |
| ``silver/identity_links`` | pairs with link type, rule, probability, weight, evidence, status | per run_date |
| ``silver/identity_lineage`` | change_type, old_keys, new_key, record counts, run id/date | per run_date |
| ``silver/identity_review_queue`` | uncertain or refused pairs with their evidence | per run_date |
| ``silver/identity_decisions`` | reviewer decisions (match / no_match, reviewer, decided_at) | appended by :func:`record_decisions` |

Tables hold record ids, keys and scores only: no names, phones or other personal data.
Each write is one Delta commit (``replace_where`` on ``run_date``), so a failed run leaves the
previous snapshot intact and a re-run of the same night replaces, never duplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("scim.identity")

CLUSTERS = "silver/identity_clusters"
LINKS = "silver/identity_links"
LINEAGE = "silver/identity_lineage"
REVIEW = "silver/identity_review_queue"
DECISIONS = "silver/identity_decisions"
REPORTS = "_reports/identity"

DESCRIPTIONS = {
    CLUSTERS: "Identity clusters: one row per person record and run_date with its stable customer_key.",
    LINKS: "Identity links: record pairs with link type, rule, match probability/weight and per-comparison evidence.",
    LINEAGE: "Customer-key lineage: every new, merged, split, updated or retired key per run.",
    REVIEW: "Identity review queue: uncertain or guard-rail-refused pairs awaiting a reviewer decision.",
    DECISIONS: "Reviewer decisions on record pairs (match / no_match); honoured by every later run.",
}

_SCHEMAS = {
    CLUSTERS: "source string, record_id string, customer_key string, key_since date, run_date date, run_id string",
    LINKS: ("run_date date, run_id string, source_l string, record_id_l string, source_r string, record_id_r string, "
            "link_type string, rule string, match_probability double, match_weight double, evidence string, "
            "matched_on string, accepted boolean, refused_reason string, status string"),
    LINEAGE: ("run_date date, run_id string, change_type string, old_keys array<string>, new_key string, "
              "records_before long, records_after long"),
    REVIEW: ("run_date date, run_id string, source_l string, record_id_l string, source_r string, record_id_r string, "
             "match_probability double, match_weight double, reason string, evidence string, matched_on string"),
    DECISIONS: ("source_l string, record_id_l string, source_r string, record_id_r string, decision string, "
                "reviewer string, decided_at timestamp, note string"),
}


def _lake(settings: Any, spark: Any):
    from lake_io import Lake

    return Lake(settings, spark)


def _to_spark(spark: Any, pdf: pd.DataFrame, table: str):
    from pyspark.sql.types import _parse_datatype_string

    schema = _parse_datatype_string(_SCHEMAS[table])
    cols = [f.name for f in schema.fields]
    rows = pdf[cols].astype(object).where(pdf[cols].notna(), None)
    return spark.createDataFrame(list(rows.itertuples(index=False, name=None)), schema=schema)


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


def load_state(settings: Any, spark: Any, run_date: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None, set[str]]:
    """(previous clusters, decisions, every key issued) as of before ``run_date``.

    The previous state is the latest snapshot with ``run_date`` earlier than this one, so a
    re-run of a night starts from the same state as the first run and mints the same keys.
    """
    from pyspark.sql import functions as F

    lake = _lake(settings, spark)
    previous, issued = None, set()
    if lake.exists(CLUSTERS):
        before = lake.read(CLUSTERS).where(F.col("run_date") < F.lit(_date(run_date)))
        last = before.agg(F.max("run_date")).first()[0]
        if last is not None:
            previous = (before.where(F.col("run_date") == F.lit(last))
                        .select("source", "record_id", "customer_key", F.col("key_since").cast("string"))
                        .toPandas())
            issued = {r[0] for r in before.select("customer_key").distinct().collect()}
    decisions = None
    if lake.exists(DECISIONS):
        decisions = lake.read(DECISIONS).toPandas()
    return previous, decisions, issued


def write_result(settings: Any, spark: Any, result: Any, run_date: str, run_id: str) -> dict[str, int]:
    """Write the clusters, links, lineage and review queue of one run; returns table -> Delta version."""
    lake = _lake(settings, spark)
    day = _date(run_date)
    frames = {
        CLUSTERS: result.clusters.assign(key_since=result.clusters["key_since"].map(_date)),
        LINKS: result.links,
        LINEAGE: result.lineage,
        REVIEW: result.review,
    }
    versions = {}
    for table, pdf in frames.items():
        pdf = pdf.assign(run_date=day, run_id=run_id)
        versions[table] = lake.write(
            _to_spark(spark, pdf, table), table, mode="overwrite", partition_by=["run_date"],
            replace_where=f"run_date = '{day.isoformat()}'", description=DESCRIPTIONS[table],
        )
    log.info("identity write: %s", {t: len(f) for t, f in frames.items()})
    return versions


def record_decisions(settings: Any, spark: Any, decisions: pd.DataFrame) -> int:
    """Append reviewer decisions (validated) to ``silver/identity_decisions``; returns the Delta version.

    Needs ``source_l``, ``record_id_l``, ``source_r``, ``record_id_r``, ``decision``
    (``match`` / ``no_match``) and ``reviewer``; ``decided_at`` defaults to now (UTC);
    ``note`` is optional free text, stored with phone numbers, e-mails and QQ numbers masked
    like other silver free text. One Delta commit: either every row is recorded or none.
    """
    required = ["source_l", "record_id_l", "source_r", "record_id_r", "decision", "reviewer"]
    missing = [c for c in required if c not in decisions.columns]
    if missing:
        raise ValueError(f"decisions lack column(s) {missing}; required: {required}")
    bad = ~decisions["decision"].isin(["match", "no_match"])
    if bad.any():
        raise ValueError(f"decision row {int(bad.to_numpy().nonzero()[0][0])}: decision must be 'match' or 'no_match'")
    for col in required:
        empty = decisions[col].isna() | (decisions[col].astype(str).str.strip() == "")
        if empty.any():
            raise ValueError(f"decision row {int(empty.to_numpy().nonzero()[0][0])}: {col} is empty; every decision "
                             "names both records and its reviewer")
    pdf = decisions.copy()
    now = pd.Timestamp.now(tz="UTC")
    pdf["decided_at"] = pd.to_datetime(pdf["decided_at"], utc=True) if "decided_at" in pdf else now
    if "note" not in pdf:
        pdf["note"] = None
    # python datetimes in an object column: pandas would turn a plain list back into Timestamps
    pdf["decided_at"] = pd.Series([ts.to_pydatetime() for ts in pdf["decided_at"]], index=pdf.index, dtype=object)
    from pyspark.sql import functions as F

    from transforms.silver import mask_identifiers_in_text

    df = _to_spark(spark, pdf, DECISIONS).withColumn("note", mask_identifiers_in_text(F.col("note")))
    version = _lake(settings, spark).write(df, DECISIONS, mode="append", description=DESCRIPTIONS[DECISIONS])
    log.info("identity decisions recorded: %d (%s), version %d", len(pdf),
             {k: int(v) for k, v in pdf["decision"].value_counts().items()}, version)
    return version


def write_reports(settings: Any, reports: dict[str, str], run_date: str) -> list[str]:
    """Save HTML reports under ``<lake>/_reports/identity/<run_date>/``; returns their URIs."""
    written = []
    for name, html in reports.items():
        uri = settings.lake_path(REPORTS, run_date, name)
        if settings.lake_is_local:
            path = Path(uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
        else:
            from pyarrow import fs

            filesystem, path = fs.FileSystem.from_uri(uri)
            with filesystem.open_output_stream(path) as out:
                out.write(html.encode("utf-8"))
        written.append(uri)
    return written
