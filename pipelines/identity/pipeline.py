"""The nightly identity step: person records in, identity tables in the lake out."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import pandas as pd

from pipelines.identity import persistence
from transforms.matching.engine import EngineConfig, resolve
from pipelines.identity.report import REPORT, identity_reports

log = logging.getLogger("scim.identity")

#: Columns that only raw person records have (standardised ones carry hashes instead).
RAW_ONLY = {"name", "phone", "email", "id_number", "qq", "wechat_unionid", "wechat_openid", "birth_date"}
STANDARD_ONLY = {"full_name", "surname", "phone_hash", "email_hash", "wechat_openid_hash", "wechat_unionid_hash"}


def standardise_if_raw(records: pd.DataFrame, hmac_key: bytes) -> pd.DataFrame:
    """Standardise raw person records (the contract's raw shape); pass standardised ones through."""
    cols = set(records.columns)
    if cols & STANDARD_ONLY or not cols & RAW_ONLY:
        return records
    from transforms.person_records import standardise_person_records_pandas

    return standardise_person_records_pandas(records, hmac_key)


def resolve_identities(settings: Any, spark: Any, person_records_df: Any, run_date: str | dt.date) -> dict[str, Any]:
    """Run identity resolution for one night and write the identity tables.

    ``person_records_df``: person records of every source, raw (the contract) or already
    standardised, as a Spark or pandas DataFrame. Reads the previous night's clusters and
    all reviewer decisions, runs :func:`transforms.matching.engine.resolve` with
    ``settings.identity`` (backend ``duckdb`` or ``spark``), writes ``silver/identity_*``
    and the reports under ``_reports/identity/<run_date>/``, and returns the run summary
    (counts, timings, Delta versions, report URIs). Re-running a night replaces that
    night's rows and gives the same customer keys.
    """
    started = time.monotonic()
    run_date = str(run_date)[:10]
    run_id = f"identity-{run_date}-{dt.datetime.now(dt.timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
    pdf = person_records_df if isinstance(person_records_df, pd.DataFrame) else person_records_df.toPandas()
    pdf = standardise_if_raw(pdf, settings.hmac_key_bytes())
    previous, decisions, issued = persistence.load_state(settings, spark, run_date)
    result = resolve(
        pdf, config=EngineConfig.from_settings(settings.identity), run_date=run_date, previous=previous,
        decisions=decisions, issued_keys=issued, backend=settings.identity.backend, spark=spark, make_reports=True,
    )
    versions = persistence.write_result(settings, spark, result, run_date, run_id)
    reports = persistence.write_reports(settings, identity_reports(result, run_date, run_id), run_date)
    rows = {persistence.CLUSTERS: len(result.clusters), persistence.LINKS: len(result.links),
            persistence.LINEAGE: len(result.lineage), persistence.REVIEW: len(result.review)}
    summary = {**result.summary, "run_id": run_id, "versions": versions, "rows": rows, "reports": reports,
               "report_uri": next(u for u in reports if u.endswith("/" + REPORT)),
               "total_seconds": round(time.monotonic() - started, 1)}
    log.info("identity run %s: %d records -> %d customers in %.1fs", run_date, summary["records"],
             summary["clusters"], summary["total_seconds"])
    return summary
