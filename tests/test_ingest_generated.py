"""Ingestion on generated landing data: every injected dirt kind, reconciliation, idempotence, silver."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from pyspark.sql import functions as F

from pipelines.config import load_settings

pytestmark = pytest.mark.slow

START = "2026-11-01"
DAYS = ("2026-11-01", "2026-11-02")
# What each generator dirt kind must become. truncated CSV lines are handled in their own test.
EXPECTED_REASON = {
    "malformed_json": {"malformed_json"},
    "wrong_type": {"type_mismatch"},
    "mojibake": {"mojibake"},
    "future_date": {"future_date"},
    "negative_amount": {"negative_amount"},
}


@pytest.fixture(scope="module")
def env(tmp_path_factory, spark):
    import sample_data
    from lake_io import Lake
    from pipelines.ingest import ingest_bronze

    root = tmp_path_factory.mktemp("ingest_gen")
    settings = load_settings(environ={"SCIM_HMAC_KEY": "test-key-0123456789abcdef"}, lake_root=str(root))
    sample_data.generate(root, persons=200, days=len(DAYS), start=START, seed=11, dirt_rate=0.05)
    lake = Lake(settings, spark)
    results = {day: ingest_bronze(settings, spark, day, lake=lake) for day in DAYS}
    dirt = pd.read_parquet(root / "truth" / "dirt.parquet")
    quarantine = lake.read("quarantine").toPandas()
    return {"settings": settings, "lake": lake, "results": results, "dirt": dirt, "quarantine": quarantine,
            "root": root}


def _qkey(df: pd.DataFrame) -> pd.Series:
    return df["source"] + "/" + df["entity"] + "/" + df["batch_date"].astype(str) + "/" + df["line_no"].astype(str)


def _dkey(df: pd.DataFrame) -> pd.Series:
    return df["source"] + "/" + df["entity"] + "/" + df["date"].astype(str) + "/" + df["line_no"].astype(str)


def _line(env, row) -> bytes:
    return (env["root"] / row["file"]).read_bytes().split(b"\n")[row["line_no"] - 1]


def test_every_dirt_kind_lands_in_quarantine_with_its_reason(env):
    q = env["quarantine"].assign(key=lambda d: _qkey(d)).set_index("key")
    dirt = env["dirt"].assign(key=lambda d: _dkey(d))
    checked = 0
    for _, row in dirt[dirt["kind"].isin(list(EXPECTED_REASON))].iterrows():
        if row["kind"] == "mojibake" and _line(env, row).isascii():
            continue  # the generator garbled an all-ASCII value: nothing changed, nothing to detect
        assert row["key"] in q.index, f"dirty line not quarantined: {row.to_dict()}"
        assert q.loc[row["key"], "reason_code"] in EXPECTED_REASON[row["kind"]], (row.to_dict(), q.loc[row["key"]].to_dict())
        checked += 1
    assert checked >= 20
    assert set(dirt["kind"]) >= set(EXPECTED_REASON)


def test_truncated_lines_are_quarantined_unless_indistinguishable(env):
    q = env["quarantine"].assign(key=lambda d: _qkey(d)).set_index("key")
    dirt = env["dirt"][env["dirt"]["kind"] == "truncated_line"].assign(key=lambda d: _dkey(d))
    assert len(dirt) > 0
    undetectable = 0
    for _, row in dirt.iterrows():
        if row["file"].endswith(".jsonl"):
            assert q.loc[row["key"], "reason_code"] == "malformed_json"
            continue
        if row["key"] in q.index:
            assert q.loc[row["key"], "reason_code"] in {"malformed_csv", "type_mismatch", "missing_required"}
            continue
        # a CSV line cut inside its last free-text field still has every field: it must then be in bronze
        path = env["root"] / row["file"]
        enc = "gbk" if row["source"] == "crm" else "utf-8"
        lines = path.read_bytes().split(b"\n")
        header = next(csv.reader([lines[0].decode(enc)]))
        fields = next(csv.reader([lines[row["line_no"] - 1].decode(enc)]))
        assert len(fields) == len(header), row.to_dict()
        undetectable += 1
    assert undetectable < len(dirt)


def test_clean_lines_are_never_quarantined(env):
    q = env["quarantine"].assign(key=lambda d: _qkey(d))
    dirty = set(_dkey(env["dirt"]))
    false_positives = q[~q["key"].isin(dirty)]
    assert false_positives.empty, false_positives[["source", "entity", "line_no", "reason_code", "reason"]].to_string()


def test_quarantine_rows_carry_file_line_payload_and_reason(env):
    q = env["quarantine"]
    assert q["raw_payload"].notna().all() and q["reason"].notna().all()
    assert q["source_file"].str.match(r"^landing/(crm|weibo|wechat)/2026-11-0[12]/\w+\.(csv|jsonl)$").all()
    assert (q["line_no"] >= 1).all()


def test_unknown_extra_fields_are_kept_in_bronze(env):
    lake = env["lake"]
    dirt = env["dirt"][env["dirt"]["kind"] == "unknown_extra_field"]
    for (source, entity), rows in dirt.groupby(["source", "entity"]):
        bronze = lake.read(f"bronze/{source}_{entity}").where(F.col("_extra").isNotNull()).toPandas()
        kept = set(zip(bronze["batch_date"].astype(str), bronze["_line_no"]))
        for _, row in rows.iterrows():
            assert (row["date"], row["line_no"]) in kept, row.to_dict()


def test_reconciliation_holds_and_matches_manifest(env):
    rec = env["lake"].read("_reports/reconciliation").toPandas()
    assert len(rec) == 10 * len(DAYS)
    assert (rec["status"] == "ok").all()
    assert (rec["input_records"] == rec["written_records"] + rec["quarantined_records"]).all()
    with_manifest = rec[rec["manifest_records"].notna()]
    assert len(with_manifest) == len(rec)
    assert (with_manifest["manifest_records"] == with_manifest["input_records"]).all()
    assert rec.loc[rec["source"] == "crm", "encoding"].eq("gbk").all()
    q = env["quarantine"].groupby(["source", "entity", "batch_date"]).size()
    for _, r in rec.iterrows():
        assert q.get((r["source"], r["entity"], r["batch_date"]), 0) == r["quarantined_records"]


def test_reingesting_a_day_replaces_it(env, spark):
    from pipelines.ingest import ingest_bronze

    lake, day = env["lake"], DAYS[0]
    before = {t: lake.read(t).count() for t in ("bronze/crm_orders", "bronze/crm_customers", "quarantine")}
    again = ingest_bronze(env["settings"], spark, day, sources=("crm",), lake=lake)
    after = {t: lake.read(t).count() for t in before}
    assert after == before
    assert again["crm_orders"]["written_records"] == env["results"][day]["crm_orders"]["written_records"]
    rec = lake.read("_reports/reconciliation").toPandas()
    assert len(rec) == 10 * len(DAYS)  # one row per entity and day, not one per run


def test_silver_removes_duplicates_and_hides_identifiers(env, spark):
    from pipelines.ingest import build_silver

    settings, lake = env["settings"], env["lake"]
    out = build_silver(settings, spark, DAYS[-1], lake=lake)
    assert {"silver/crm_customers", "silver/orders", "silver/points", "silver/communications", "silver/campaigns",
            "silver/social_accounts", "silver/posts", "silver/interactions", "silver/follows"} <= set(out)
    orders = lake.read("silver/orders")
    assert orders.count() == orders.select("order_id", "line_no").distinct().count()
    dup_keys = env["dirt"].query("kind == 'duplicate' and entity == 'posts'")["record_key"]
    posts = lake.read("silver/posts").toPandas()
    assert posts["mid"].is_unique and set(dup_keys) <= set(posts["mid"])
    assert dict(orders.dtypes)["amount"] == "decimal(18,2)"
    customers = lake.read("silver/crm_customers").toPandas()
    assert customers["customer_id"].is_unique
    assert not {"mobile", "email", "wechat_openid"} & set(customers.columns)
    assert customers["phone_masked"].dropna().str.match(r"^(1\d\d)?\*{4}\d{4}$").all()  # mobiles, landlines
    assert customers["phone_hash"].dropna().str.match(r"^[0-9a-f]{64}$").all()
    raw_phones = set(lake.read("bronze/crm_customers").toPandas()["mobile"].dropna())
    for col in customers.columns:
        assert not set(customers[col].dropna().astype(str)) & raw_phones, col
    accounts = lake.read("silver/social_accounts").toPandas()
    assert set(accounts["platform"]) == {"weibo", "wechat"}
    assert not accounts.duplicated(["platform", "account_id"]).any()
    openids = set(lake.read("bronze/wechat_followers").toPandas()["openid"])
    assert not openids & set(accounts["account_id"])
    inter = lake.read("silver/interactions").toPandas()
    assert "openid" not in inter.columns and inter["wechat_openid_hash"].notna().all()


def test_person_records_cover_every_customer_and_account(env, spark):
    from pipelines.ingest import build_person_records

    settings, lake = env["settings"], env["lake"]
    out = build_person_records(settings, spark, DAYS[-1], lake=lake)["silver/person_records"]
    n_crm = lake.read("bronze/crm_customers").select("customer_id").distinct().count()
    n_weibo = lake.read("bronze/weibo_users").select("uid").distinct().count()
    n_wechat = lake.read("bronze/wechat_followers").select("openid").distinct().count()
    assert out["by_source"] == {"crm": n_crm, "weibo": n_weibo, "wechat": n_wechat}
    pr = lake.read("silver/person_records")
    assert "phone" not in pr.columns and "email" not in pr.columns
    openids = set(lake.read("bronze/wechat_followers").toPandas()["openid"].dropna())
    wechat_ids = set(pr.where("source = 'wechat'").toPandas()["record_id"])
    assert not openids & wechat_ids  # keyed by the openid's HMAC, never the raw openid
    accounts = set(lake.read("silver/social_accounts").where("platform = 'wechat'").toPandas()["account_id"])
    assert wechat_ids <= accounts
