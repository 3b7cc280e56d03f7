"""Secrets and raw identifiers never reach logs or the metadata the pipeline returns to Dagster.

Runs a small ingest + identity night with every logger at DEBUG, captures the log records
and the process's stdout/stderr (the Spark JVM's too: it shares the file descriptors), and
checks that neither the HMAC key nor any raw phone or e-mail of the sample appears.
"""

from __future__ import annotations

import json
import logging

from transforms.standardise.email import normalise_email
from transforms.standardise.phone import normalise_phone

HMAC_KEY = "log-scan-secret-key-5f2a9c1e7b3d"
DAY = "2026-11-01"


def _raw_identifiers(lake) -> set[str]:
    values: set[str] = set()
    cust = lake.to_arrow("bronze/crm_customers", columns=["mobile", "email"]).to_pydict()
    wx = lake.to_arrow("bronze/wechat_followers", columns=["phone"]).to_pydict()
    for raw in cust["mobile"] + wx["phone"]:
        result = normalise_phone(raw)
        if result.e164 and result.e164.startswith("+86"):
            values |= {result.e164, result.e164.removeprefix("+86")}
    for raw in cust["email"]:
        result = normalise_email(raw)
        if result.email:
            values.add(result.email)
    return values


def test_no_key_or_raw_identifier_in_logs_or_metadata(spark, tmp_path, caplog, capfd):
    from lake_io import Lake
    from pipelines.config import load_settings
    from pipelines.identity.pipeline import resolve_identities
    from pipelines.ingest import ingest_day
    from sample_data import generate

    root = tmp_path / "lake"
    settings = load_settings(environ={"SCIM_HMAC_KEY": HMAC_KEY}, lake_root=str(root),
                             spark={"driver_memory": "3g", "shuffle_partitions": 2})
    generate(root, persons=100, days=1, start=DAY, seed=5, workers=1)
    caplog.set_level(logging.DEBUG)
    lake = Lake(settings, spark)
    ingested = ingest_day(settings, spark, DAY, lake=lake)
    identity = resolve_identities(settings, spark, lake.read("silver/person_records"), DAY)
    captured = capfd.readouterr()

    needles = _raw_identifiers(lake)
    assert len(needles) > 50  # the sample has phones and e-mails: the scan can fail
    metadata = json.dumps([ingested, identity], ensure_ascii=False, default=str)
    logs = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert len(caplog.records) > 5  # the stages did log
    for where, text in (("log records", logs), ("stdout", captured.out), ("stderr", captured.err),
                        ("returned metadata", metadata)):
        assert HMAC_KEY not in text, f"the HMAC key appears in {where}"
        leaked = sorted(n for n in needles if n in text)
        assert not leaked, f"{len(leaked)} raw identifiers appear in {where}, e.g. {leaked[0][:3]}***"
