"""PIPL erasure: `scim erase` leaves no trace in any table, version or data file, and the
next nightly run does not bring the person back from old landing files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from transforms.standardise.hashing import hmac_hex
from transforms.standardise.phone import normalise_phone

DAY1, DAY2 = "2026-11-01", "2026-11-02"


# -- helpers ----------------------------------------------------------------------------------------
def _table_files(lake_root: Path) -> list[Path]:
    """Every file of every lake table: data files, Delta log commits and checkpoints
    (landing drops and the generator's truth are the sources' files, not tables)."""
    skip = {"landing", "truth"}
    return [p for p in lake_root.rglob("*") if p.is_file() and p.relative_to(lake_root).parts[0] not in skip]


def _strings(table: pa.Table):
    for col in table.columns:
        for value in col.to_pylist():
            if value is not None:
                yield value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def scan_for(lake_root: Path, needles: set[str]) -> dict[str, set[str]]:
    """{needle: files holding it}: decoded values of every column and the raw bytes (footer stats)."""
    hits: dict[str, set[str]] = {}
    for path in _table_files(lake_root):
        raw = path.read_bytes()
        text = "\n".join(_strings(pq.read_table(path))) if path.suffix == ".parquet" else raw.decode("utf-8", "replace")
        for n in needles:
            if n in text or n.encode() in raw:
                hits.setdefault(n, set()).add(str(path.relative_to(lake_root)))
    return hits


def _night(settings, spark, lake, days: list[str], *, suppress: bool) -> dict[str, int]:
    """What the nightly graph does: bronze per day, then silver, person records, identity once.

    Returns what enforce_suppression removed ({} without it)."""
    from pipelines.erase import enforce_suppression
    from pipelines.identity.pipeline import resolve_identities
    from pipelines.ingest import build_person_records, build_silver, ingest_bronze

    for d in days:
        ingest_bronze(settings, spark, d, lake=lake)
    day = days[-1]
    suppressed = enforce_suppression(settings, spark, lake=lake) if suppress else {}
    build_silver(settings, spark, day, lake=lake)
    build_person_records(settings, spark, day, lake=lake)
    resolve_identities(settings, spark, lake.read("silver/person_records"), day)
    return suppressed


def _add_truncated_copy(root: Path, day: str, customer_id: str) -> str:
    """Append to the day's CRM customers drop a copy of the customer's line cut after the mobile
    (a malformed_csv line: it goes to quarantine with the raw text) and count it in the manifest."""
    import csv
    import io

    folder = root / "landing" / "crm" / day
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = next(f for f in manifest["files"] if f["name"] == "customers.csv")
    enc = entry.get("encoding") or "utf-8"
    path = folder / "customers.csv"
    text = path.read_bytes().decode(enc)
    lines = text.splitlines()
    header = next(csv.reader([lines[0].lstrip("\ufeff")]))
    fields = next(next(csv.reader([ln])) for ln in lines[1:] if ln.startswith(customer_id + ","))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields[: header.index("mobile") + 1])
    newline = "\r\n" if "\r\n" in text else "\n"
    path.write_bytes((text if text.endswith(newline) else text + newline).encode(enc) + (buf.getvalue() + newline).encode(enc))
    entry["records"] = int(entry["records"]) + 1
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return buf.getvalue()


# -- the integration test -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def erased_lake(spark, tmp_path_factory):
    """A small lake after one night, the person chosen, erased; then the next night re-run."""
    from lake_io import Lake
    from pipelines.config import load_settings
    from pipelines.erase import erase
    from sample_data import generate

    root = tmp_path_factory.mktemp("erase") / "lake"
    settings = load_settings(environ={"SCIM_HMAC_KEY": "erase-test-key-0123456789abcdef"}, lake_root=str(root),
                             spark={"driver_memory": "3g", "shuffle_partitions": 2})
    generate(root, persons=100, days=2, start=DAY1, seed=11, workers=1)
    lake = Lake(settings, spark)
    _night(settings, spark, lake, [DAY1], suppress=False)

    # the person: a CRM customer with a usable, unique phone, preferably linked to a social account
    key = settings.hmac_key_bytes()
    cust = lake.to_arrow("bronze/crm_customers", columns=["customer_id", "mobile", "email"]).to_pandas()
    cust["e164"] = [normalise_phone(m).e164 for m in cust["mobile"]]
    cust = cust[cust["e164"].notna()]
    unique = cust.groupby("e164")["customer_id"].transform("nunique") == 1
    cust = cust[unique]
    clusters = lake.to_arrow("silver/identity_clusters").to_pandas()
    size = clusters.groupby("customer_key")["record_id"].transform("size")
    linked = set(clusters[(clusters["source"] == "crm") & (size > 1)]["record_id"])
    pick = cust[cust["customer_id"].isin(linked)]
    row = (pick if len(pick) else cust).sort_values("customer_id").iloc[0]
    ckey = clusters[(clusters["source"] == "crm") & (clusters["record_id"] == row["customer_id"])]["customer_key"].iloc[0]
    members = clusters[clusters["customer_key"] == ckey][["source", "record_id"]].drop_duplicates()

    # a broken copy of the person's CRM line in the old drop: quarantined with its raw text (phone included)
    from pipelines.ingest import ingest_bronze

    _add_truncated_copy(root, DAY1, row["customer_id"])
    ingest_bronze(settings, spark, DAY1, lake=lake, sources=("crm",))
    quarantined_before = _quarantined(lake, row["customer_id"])

    e164 = row["e164"]
    needles = {row["mobile"].strip(), e164, e164.removeprefix("+86"), hmac_hex(key, e164), ckey}
    needles |= {r for s, r in zip(members["source"], members["record_id"]) if s != "crm"}
    emails = [e for e in cust[cust["customer_id"] == row["customer_id"]]["email"] if isinstance(e, str) and "@" in e]
    needles |= {e.strip() for e in emails}
    before = scan_for(root, needles)

    record = erase(settings, spark, phone=row["mobile"])
    after_erase = scan_for(root, needles)
    versions_after_erase = {t: lake.version(t) for t in lake.list_tables()}

    # the next nightly run (a backfill of both days): re-ingests the old drop and the new one
    suppressed = _night(settings, spark, lake, [DAY1, DAY2], suppress=True)
    after_rerun = scan_for(root, needles)
    return {"settings": settings, "lake": lake, "root": root, "record": record, "needles": needles,
            "quarantined_before": quarantined_before, "suppressed": suppressed,
            "quarantined_after_rerun": _quarantined(lake, row["customer_id"]),
            "before": before, "after_erase": after_erase, "after_rerun": after_rerun, "customer_id": row["customer_id"],
            "members": members, "versions_after_erase": versions_after_erase, "ckey": ckey,
            "phone_hash": hmac_hex(key, e164), "raw_mobile": row["mobile"].strip()}


def _quarantined(lake, customer_id: str) -> int:
    """Quarantined CRM customer lines starting with the customer's id."""
    q = lake.read("quarantine")
    return q.where((F.col("entity") == "customers") & F.col("raw_payload").startswith(customer_id + ",")).count()


def test_person_was_present_before(erased_lake):
    # the scan must be able to fail: every identifier was on disk before the erasure
    before = erased_lake["before"]
    assert erased_lake["phone_hash"] in before and erased_lake["ckey"] in before
    assert erased_lake["raw_mobile"] in before
    assert len(before) >= 3


def test_no_trace_on_disk_after_erasure(erased_lake):
    assert erased_lake["after_erase"] == {}, erased_lake["after_erase"]


def test_no_trace_in_current_versions(erased_lake, spark):
    lake = erased_lake["lake"]
    cid = erased_lake["customer_id"]
    assert lake.read("bronze/crm_customers").where(F.col("customer_id") == cid).count() == 0
    assert lake.read("silver/crm_customers").where(F.col("customer_id") == cid).count() == 0
    assert lake.read("silver/identity_clusters").where(F.col("customer_key") == erased_lake["ckey"]).count() == 0
    assert lake.read("bronze/crm_orders").where(F.col("customer_id") == cid).count() == 0


def test_audit_record_has_counts_and_no_personal_data(erased_lake):
    lake, record = erased_lake["lake"], erased_lake["record"]
    audit = lake.to_arrow("_audit/erasure").to_pylist()
    assert [a["request_id"] for a in audit] == [record["request_id"]]
    counts = json.loads(audit[0]["tables_json"])
    assert counts["bronze/crm_customers"] >= 1 and counts["silver/person_records"] >= 1
    assert audit[0]["rows_deleted"] == sum(counts.values()) > 0
    assert audit[0]["files_vacuumed"] > 0
    text = json.dumps(audit, default=str) + json.dumps(lake.to_arrow("_audit/suppression").to_pylist(), default=str)
    assert not [n for n in erased_lake["needles"] if n in text]


def test_quarantined_line_is_erased_and_stays_out(erased_lake):
    # the broken copy was in quarantine before the erasure, the erasure removed it, and when the
    # backfill quarantined it again the suppression removed it (the scans prove no byte is left)
    assert erased_lake["quarantined_before"] == 1
    assert json.loads(erased_lake["record"]["tables_json"])["quarantine"] >= 1
    assert erased_lake["suppressed"]["quarantine"] >= 1 and erased_lake["quarantined_after_rerun"] == 0


def test_next_night_does_not_bring_the_person_back(erased_lake):
    assert erased_lake["after_rerun"] == {}, erased_lake["after_rerun"]
    lake = erased_lake["lake"]
    # the re-run did rebuild the tables (so the check above is not vacuous)
    assert lake.version("bronze/crm_customers") > erased_lake["versions_after_erase"]["bronze/crm_customers"]
    assert lake.read("silver/crm_customers").count() > 0


# -- unit tests of the pieces (tiny DataFrames) -----------------------------------------------------------
KEY = b"unit-test-key-0123456789abcdef"


def test_split_suppressed_keeps_newer_records_and_unrelated_ones(spark):
    from transforms.standardise.hashing import hmac_hex as h
    from transforms.suppression import split_suppressed, subject_token

    erased_at = dt.datetime(2026, 11, 5, 12, tzinfo=dt.timezone.utc)
    supp = spark.createDataFrame(
        [(subject_token(KEY, "phone_hash", h(KEY, "+8613812345678")), erased_at),
         (subject_token(KEY, "crm_customer_id", "C9"), erased_at)],
        "token string, erased_at timestamp")
    rows = [
        ("C1", "138 1234 5678", dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), dt.date(2026, 11, 1)),  # old, phone
        ("C2", "13812345678", dt.datetime(2026, 11, 6, tzinfo=dt.timezone.utc), dt.date(2026, 11, 6)),   # new, phone
        ("C9", None, None, dt.date(2026, 11, 5)),                                                          # old by date
        ("C9", None, None, dt.date(2026, 11, 7)),                                                          # new by date
        ("C3", "13900000001", dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), dt.date(2026, 11, 1)),   # unrelated
    ]
    df = spark.createDataFrame(rows, "customer_id string, mobile string, updated_at timestamp, batch_date date")
    kept, hit = split_suppressed(df, supp, {"customer_id": "crm_customer_id", "mobile": "phone"}, KEY,
                                 record_time=F.col("updated_at"))
    assert sorted((r.customer_id, str(r.batch_date)) for r in hit.collect()) == [("C1", "2026-11-01"),
                                                                               ("C9", "2026-11-05")]
    assert sorted((r.customer_id, str(r.batch_date)) for r in kept.collect()) == [
        ("C2", "2026-11-06"), ("C3", "2026-11-01"), ("C9", "2026-11-07")]
    assert kept.columns == df.columns


def test_quarantine_lines_are_matched_by_identifiers_parsed_from_the_raw_line(spark):
    from transforms.standardise.hashing import hmac_hex as h
    from transforms.suppression import split_suppressed_quarantine, subject_token

    erased_at = dt.datetime(2026, 11, 5, 12, tzinfo=dt.timezone.utc)
    supp = spark.createDataFrame(
        [(subject_token(KEY, "phone_hash", h(KEY, "+8613812345678")), erased_at),
         (subject_token(KEY, "crm_customer_id", "C9"), erased_at),
         (subject_token(KEY, "wechat_openid_hash", h(KEY, "oERASED")), erased_at),
         (subject_token(KEY, "weibo_uid", "777"), erased_at)],
        "token string, erased_at timestamp")
    d1, d7 = dt.date(2026, 11, 1), dt.date(2026, 11, 7)
    rows = [
        # a truncated CRM line of another id, the phone in another format: matched by the phone; no time -> drop date
        ("q1", "crm", "customers", d1, "f1", 2, "C8,宋小姐,f,138 1234 5678"),
        # an order line of the erased customer, updated after the erasure (10:00 local = 02:00 UTC on the 6th): kept
        ("q2", "crm", "orders", d7, "f2", 3, "O1,1,C9,2026-11-06 10:00:00,S1,store,cash,P1,面霜,skin,两件,50,100,,"),
        # truncated JSON: the openid is read anyway
        ("q3", "wechat", "interactions", d1, "f3", 4, '{"event_id":"WX1","openid":"oERASED","event_type":"push_re'),
        # a Weibo uid delivered as a bare number (type_mismatch), dated before the erasure
        ("q4", "weibo", "follows", d7, "f4", 5,
         '{"follower_uid": 777, "followee_uid": "1", "created_at": "2026-10-01T10:00:00+08:00"}'),
        # a JDBC row (no line number), CRM local time before the erasure
        ("q5", "crm_jdbc", "customers", d7, "jdbc:crm.customers", None,
         '{"customer_id":"C9","mobile":"13800000000","birth_month":"13","updated_at":"2026-10-01 08:00:00"}'),
        ("q6", "crm", "customers", d1, "f1", 3, "C3,王先生,m,13900000001"),       # somebody else
        ("q7", "crm", "customers", d1, "f1", 4, "\\xe5\\xae\\x8b"),            # nothing can be parsed
        ("q8", "crm", "campaigns", d1, "f5", 2, "C9,双十一,all"),               # campaigns identify nobody
        ("q9", "crm", "customers", d7, "f6", 2, "C9,宋小姐,f"),                  # delivered after the erasure day
    ]
    q = spark.createDataFrame(rows, "reason string, source string, entity string, batch_date date, source_file string, "
                                    "line_no long, raw_payload string")
    kept, hit = split_suppressed_quarantine(q, supp, KEY, "Asia/Shanghai")
    assert sorted(r.reason for r in hit.collect()) == ["q1", "q3", "q4", "q5"]
    assert sorted(r.reason for r in kept.collect()) == ["q2", "q6", "q7", "q8", "q9"]
    assert kept.columns == q.columns == hit.columns
    # the erasure itself takes every matching line, whatever its time
    _, all_hits = split_suppressed_quarantine(q, supp, KEY, "Asia/Shanghai", use_record_time=False)
    assert sorted(r.reason for r in all_hits.collect()) == ["q1", "q2", "q3", "q4", "q5", "q9"]
    assert split_suppressed_quarantine(q, None, KEY, "Asia/Shanghai")[1].count() == 0


def test_tokens_differ_from_lake_hashes():
    from transforms.suppression import subject_token

    phone_hash = hmac_hex(KEY, "+8613812345678")
    token = subject_token(KEY, "phone_hash", phone_hash)
    assert token != phone_hash and len(token) == 64
    assert subject_token(KEY, "phone_hash", phone_hash) == token
    assert subject_token(KEY, "email_hash", phone_hash) != token
    with pytest.raises(ValueError, match="unknown identifier kind"):
        subject_token(KEY, "nickname", "x")


def test_bad_requests_are_refused_with_a_reason(settings, tmp_path):
    from pipelines.erase import ErasureError, phone_hash, read_requests

    with pytest.raises(ErasureError, match="not a usable phone"):
        phone_hash(settings, "138****5678")
    f = tmp_path / "req.csv"
    f.write_text("phone,customer_key\n13812345678,\n,C0123\n13812345678,C0123\n", encoding="utf-8")
    with pytest.raises(ErasureError, match="line 4: give exactly one"):
        read_requests(f)
    f.write_text("name\nx\n", encoding="utf-8")
    with pytest.raises(ErasureError, match="needs a header"):
        read_requests(f)


def test_predicate_covers_each_kind_of_table():
    from pipelines.erase import Subject, predicate_for

    s = Subject(records={("crm", "C1"), ("weibo", "u1"), ("wechat", "o1")}, customer_keys={"K1"})
    s.hashes["phone_hash"].add("h1")
    s.raw["phone"].add("138 1234 5678")
    assert "customer_id\" IN ('C1')" in predicate_for("silver/orders", {"customer_id": "string"}, s)
    p = predicate_for("silver/identity_links", {"source_l": "string", "record_id_l": "string",
                                                 "source_r": "string", "record_id_r": "string"}, s)
    assert "\"source_l\" = 'weibo' AND \"record_id_l\" IN ('u1')" in p and "record_id_r" in p
    assert "array_has" in predicate_for("silver/identity_lineage", {"old_keys": "complex", "new_key": "string"}, s)
    q = predicate_for("quarantine", {"raw_payload": "string", "reason_code": "string"}, s)
    assert "\"raw_payload\" LIKE '%13812345678%'" in q and "reason_code" not in q
    assert predicate_for("gold/dim_date", {"date": "date", "year": "int"}, s) is None
