"""``scim erase``: remove one person from every lake table (PIPL erasure), audit it, suppress re-entry.

    scim erase --phone 13812345678            # a raw phone, any format
    scim erase --customer-key C0123456789ab
    scim erase --file requests.csv            # column phone and/or customer_key, one request a row

What one request does (under the lake run lock, so no nightly run interleaves):

1. **Find the person.** A phone is normalised and hashed like silver does. The person is
   every person record (``silver/person_records``) carrying that hash or that key, plus every
   record the identity clusters (all snapshots) put in the same ``customer_key``. Their
   identifiers are collected: source ids (CRM ``customer_id``, Weibo ``uid``, WeChat
   ``openid``/``unionid``), hashes (phone, e-mail, WeChat ids, QQ, id number), and the raw
   values bronze holds (found by hashing bronze's raw columns the same way).
2. **Delete** from every table ``Lake.list_tables()`` finds (bronze, quarantine, silver,
   identity, features, gold, reports): each table's predicate is built from the columns it
   has (ids, keys, hashes, record pairs, raw values; in bronze and quarantine also free
   text containing a raw phone, e-mail or id; in quarantine also every line from whose raw
   text one of the person's identifiers can be parsed, in any format, see
   :func:`transforms.suppression.split_suppressed_quarantine`). One Delta commit per table
   that has rows.
3. **Vacuum** every table with retention 0 and enforcement off, so no data file of any
   version holds the deleted rows any more, and purge the Delta log of the commits before
   the erasure (their file statistics can hold the person's values); time travel to
   versions before the erasure ends.
   Report files under ``_reports/`` that mention the person (identity charts) are deleted.
4. **Audit** one row in ``_audit/erasure`` (request id, times, subject token, per-table row
   counts, files vacuumed): no personal data, no lake hash.
5. **Suppress**: one ``_audit/suppression`` row per identifier (a token derived from it,
   see :mod:`transforms.suppression`), so old landing files cannot bring the person back;
   :func:`enforce_suppression` applies the list after each ingest, to bronze and to quarantine.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.config import ConfigError, Settings, load_settings
from transforms.standardise.hashing import hmac_hex
from transforms.standardise.phone import normalise_phone
from transforms.suppression import (
    BRONZE_IDENTIFIERS,
    RAW_KINDS,
    split_suppressed,
    split_suppressed_quarantine,
    subject_token,
)

log = logging.getLogger("scim.erase")

AUDIT = "_audit/erasure"
SUPPRESSION = "_audit/suppression"
QUARANTINE = "quarantine"
PERSON_RECORDS = "silver/person_records"
CLUSTERS = "silver/identity_clusters"
HASH_COLUMNS = ("phone_hash", "email_hash", "wechat_openid_hash", "wechat_unionid_hash", "qq_hash", "id_number_hash")
# Tables the erasure never edits: its own audit trail (holds no personal data).
OWN_TABLES = (AUDIT, SUPPRESSION)
# bronze time columns: CRM text is local wall-clock time, social platforms give ISO 8601 with an offset.
_LOCAL_TIME_TABLES = ("bronze/crm_",)
# bronze/quarantine string columns that never hold a person's values (lineage, reason codes).
_NOT_TEXT = ("_source_file", "_batch_id", "source", "entity", "source_file", "reason_code", "reason", "field")


class ErasureError(ValueError):
    """A request that cannot be carried out (bad phone, unknown key); the message says which and why."""


@dataclass
class Subject:
    """Everything that identifies one person in the lake (personal data: never logged)."""

    records: set[tuple[str, str]] = field(default_factory=set)
    customer_keys: set[str] = field(default_factory=set)
    hashes: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in HASH_COLUMNS})
    raw: dict[str, set[str]] = field(default_factory=lambda: {"phone": set(), "email": set(), "wechat_openid": set(),
                                                              "wechat_unionid": set()})

    def ids(self, source: str) -> set[str]:
        return {r for s, r in self.records if s == source}

    @property
    def all_hashes(self) -> set[str]:
        return set().union(*self.hashes.values())

    def empty(self) -> bool:
        return not (self.records or self.customer_keys or self.all_hashes)


# -- finding the person ---------------------------------------------------------------------------
def phone_hash(settings: Settings, phone: str) -> str:
    """The silver ``phone_hash`` of a raw phone; ErasureError if it is not a usable number."""
    result = normalise_phone(phone)
    if not result.e164:
        raise ErasureError(f"--phone: not a usable phone number ({result.issue or 'masked'}); give the full number")
    return hmac_hex(settings.hmac_key_bytes(), result.e164)


def _sql_list(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in sorted(values))


def find_subject(settings: Settings, lake, *, phone: str | None = None, customer_key: str | None = None) -> Subject:
    """The person's records, keys, hashes and raw bronze values (see the module doc, step 1)."""
    from pyspark.sql import functions as F

    subject = Subject()
    if phone:
        subject.hashes["phone_hash"].add(phone_hash(settings, phone))
        subject.raw["phone"].add(phone.strip())
    if customer_key:
        subject.customer_keys.add(customer_key.strip())
    tables = set(lake.list_tables())
    # person records carrying the hash, and the clusters of those records
    if PERSON_RECORDS in tables and subject.hashes["phone_hash"]:
        pr = lake.to_arrow(PERSON_RECORDS, columns=["source", "record_id", "phone_hash"],
                           filter=f"phone_hash IN ({_sql_list(subject.hashes['phone_hash'])})").to_pandas()
        subject.records |= set(zip(pr["source"], pr["record_id"]))
    if CLUSTERS in tables:
        cl = lake.to_arrow(CLUSTERS, columns=["source", "record_id", "customer_key"]).to_pandas()
        hit = cl[[(s, r) in subject.records for s, r in zip(cl["source"], cl["record_id"])]]
        subject.customer_keys |= set(hit["customer_key"].dropna())
        members = cl[cl["customer_key"].isin(subject.customer_keys)]
        subject.records |= set(zip(members["source"], members["record_id"]))
    if customer_key and not subject.records:
        raise ErasureError(f"--customer-key: no record has customer_key {customer_key!r} in {CLUSTERS}")
    # every identifier hash of the person's records
    if PERSON_RECORDS in tables and subject.records:
        pr = lake.to_arrow(PERSON_RECORDS).to_pandas()
        mine = pr[[(s, r) in subject.records for s, r in zip(pr["source"], pr["record_id"])]]
        for c in HASH_COLUMNS:
            if c in mine.columns:
                subject.hashes[c] |= set(mine[c].dropna())
    # bronze: rows of the person's ids or hashes give the raw values bronze stores
    for table, (identifiers, _) in BRONZE_IDENTIFIERS.items():
        if table not in tables:
            continue
        df = lake.read(table)
        conds = []
        for col, kind in identifiers.items():
            if kind == "crm_customer_id" and subject.ids("crm"):
                conds.append(F.col(col).isin(sorted(subject.ids("crm"))))
            elif kind == "weibo_uid" and subject.ids("weibo"):
                conds.append(F.col(col).isin(sorted(subject.ids("weibo"))))
            elif kind == "wechat_openid" and table == "bronze/wechat_followers" and subject.ids("wechat"):
                conds.append(F.col(col).isin(sorted(subject.ids("wechat"))))
        raw_cols = {c: k for c, k in identifiers.items() if k in RAW_KINDS}
        hashed = df.select(*identifiers, *[_stored(c, k, settings).alias(f"_h_{c}") for c, k in raw_cols.items()])
        for c, k in raw_cols.items():
            wanted = subject.hashes[RAW_KINDS[k]]
            if wanted:
                conds.append(F.col(f"_h_{c}").isin(sorted(wanted)))
        if not conds:
            continue
        cond = conds[0]
        for c in conds[1:]:
            cond = cond | c
        rows = hashed.where(cond).select(*raw_cols, *[f"_h_{c}" for c in raw_cols]).distinct().collect()
        for row in rows:
            for c, k in raw_cols.items():
                if row[c] is not None and str(row[c]).strip():
                    subject.raw[k].add(row[c])
                    if row[f"_h_{c}"]:
                        subject.hashes[RAW_KINDS[k]].add(row[f"_h_{c}"])
    return subject


def _stored(col: str, kind: str, settings: Settings):
    """Spark column: the hash silver stores for a raw bronze column."""
    from pyspark.sql import functions as F

    from transforms.silver import email_udf, id_hash_udf, phone_udf

    key = settings.hmac_key_bytes()
    if kind == "phone":
        return phone_udf(key)(F.col(col)).getField("phone_hash")
    if kind == "email":
        return email_udf(key)(F.col(col)).getField("email_hash")
    return id_hash_udf(key)(F.col(col))


# -- predicates -----------------------------------------------------------------------------------
def _free_text_needles(subject: Subject) -> set[str]:
    """Raw phones (as delivered and as national digits) and e-mails, searched inside free text."""
    needles = set()
    for phone in subject.raw["phone"]:
        result = normalise_phone(phone)
        if result.e164:
            needles.add(result.e164.removeprefix("+86") if result.e164.startswith("+86") else result.e164)
        needles.add(phone)
    needles |= subject.raw["email"]
    return {n.strip() for n in needles if n and len(n.strip()) >= 6}


def _id_needles(subject: Subject) -> set[str]:
    """Source ids and WeChat ids: searched in raw lines only as whole JSON strings or CSV fields."""
    ids = subject.ids("crm") | subject.ids("weibo") | subject.ids("wechat")
    ids |= subject.raw["wechat_openid"] | subject.raw["wechat_unionid"]
    return {i.strip() for i in ids if i and i.strip()}


def _is_id_column(col: str) -> bool:
    # identifier columns hold other persons' ids: a phone's digits inside one are a coincidence, not data
    return col.endswith(("id", "_no", "mid", "_hash", "_date", "_at", "_time")) or col in _NOT_TEXT


def predicate_for(table: str, columns: dict[str, str], subject: Subject) -> str | None:
    """The SQL predicate matching the person's rows in ``table`` (columns: name -> type), or None.

    Built from the column names, so a new table is covered when it uses the lake's usual
    names (``customer_id``, ``customer_key``, ``*_hash``, ``source``+``record_id``, ...).
    """
    terms: list[str] = []
    crm, weibo, wechat = subject.ids("crm"), subject.ids("weibo"), subject.ids("wechat")

    def isin(col: str, values: set[str]) -> None:
        if col in columns and values:
            terms.append(f'"{col}" IN ({_sql_list(values)})')

    isin("customer_id", crm)
    isin("crm_customer_id", crm)
    isin("customer_key", subject.customer_keys)
    isin("new_key", subject.customer_keys)
    if "old_keys" in columns and subject.customer_keys:
        terms.extend(f"array_has(\"old_keys\", '{k}')" for k in sorted(subject.customer_keys))
    for col in ("uid", "follower_uid", "followee_uid"):
        isin(col, weibo)
    isin("openid", wechat | subject.raw["wechat_openid"])
    isin("unionid", subject.raw["wechat_unionid"])
    isin("wechat_openid", subject.raw["wechat_openid"] | wechat)
    isin("mobile", subject.raw["phone"])
    isin("phone", subject.raw["phone"])
    isin("email", subject.raw["email"])
    for col in HASH_COLUMNS:
        isin(col, subject.all_hashes)
    pairs = [("source", "record_id"), ("source_l", "record_id_l"), ("source_r", "record_id_r")]
    for s_col, r_col in pairs:
        if s_col in columns and r_col in columns:
            for source in ("crm", "weibo", "wechat"):
                ids = subject.ids(source)
                if ids:
                    terms.append(f"(\"{s_col}\" = '{source}' AND \"{r_col}\" IN ({_sql_list(ids)}))")
    if "platform" in columns and "account_id" in columns:
        if weibo:
            terms.append(f"(\"platform\" = 'weibo' AND \"account_id\" IN ({_sql_list(weibo)}))")
        if subject.hashes["wechat_openid_hash"]:
            terms.append(f"(\"platform\" = 'wechat' AND \"account_id\" IN "
                         f"({_sql_list(subject.hashes['wechat_openid_hash'])}))")
    if table.startswith("bronze/") or table == "quarantine":
        # raw values inside free text (a bio with the phone, a quarantined raw line)
        needles = _free_text_needles(subject)
        for col, typ in columns.items():
            if typ == "string" and needles and not _is_id_column(col):
                terms.extend(f"\"{col}\" LIKE '%{_like(n)}%'" for n in sorted(needles))
        if "raw_payload" in columns:
            for i in sorted(_id_needles(subject)):
                v = _like(i)
                terms.append(f"(\"raw_payload\" LIKE '%\"{v}\"%' OR \"raw_payload\" LIKE '{v},%' "
                             f"OR \"raw_payload\" LIKE '%,{v},%' OR \"raw_payload\" LIKE '%,{v}')")
    if not terms:
        return None
    return " OR ".join(terms)


def _like(value: str) -> str:
    return value.replace("'", "''")


def _columns(lake, table: str) -> dict[str, str]:
    return {c["name"]: (c["type"] if isinstance(c["type"], str) else "complex") for c in lake.describe(table)["columns"]}


def _count(lake, table: str, predicate: str) -> int:
    from deltalake import DeltaTable, QueryBuilder

    dt_ = DeltaTable(lake.uri(table))
    reader = QueryBuilder().register("t", dt_).execute(f"SELECT count(*) AS n FROM t WHERE {predicate}")
    return int(reader.read_all().column("n")[0].as_py())


# -- the erasure ----------------------------------------------------------------------------------
def erase(settings: Settings, spark, *, phone: str | None = None, customer_key: str | None = None,
          request_id: str | None = None, lake=None, vacuum: bool = True, dry_run: bool = False,
          lock_timeout: float | None = None) -> dict[str, Any]:
    """Erase one person (by raw ``phone`` or ``customer_key``) from every table; returns the audit record.

    Holds the lake run lock throughout. Deletes the person's rows from every Delta table of
    the lake (one commit per table with rows), vacuums every table with retention 0 (unless
    ``vacuum=False``), appends the audit row to ``_audit/erasure`` and the suppression tokens
    to ``_audit/suppression``. ``dry_run`` counts the rows and changes nothing. Raises
    ErasureError when neither or both subjects are given, the phone is unusable or the key unknown.
    """
    from lake_io import Lake

    from pipelines.locks import run_lock

    if bool(phone) == bool(customer_key):
        raise ErasureError("give exactly one of phone or customer_key per request")
    lake = lake or Lake(settings, spark)
    request_id = request_id or f"erase-{uuid.uuid4().hex[:16]}"
    with run_lock(settings, job=f"scim erase {request_id}", timeout=lock_timeout):
        return _erase_locked(settings, spark, lake, phone, customer_key, request_id, vacuum, dry_run)


def _erase_locked(settings, spark, lake, phone, customer_key, request_id, vacuum, dry_run) -> dict[str, Any]:
    t0 = time.monotonic()
    requested_at = dt.datetime.now(dt.timezone.utc)
    key = settings.hmac_key_bytes()
    subject_kind = "phone" if phone else "customer_key"
    subject_token_ = (subject_token(key, "phone_hash", phone_hash(settings, phone)) if phone
                      else subject_token(key, "customer_key", customer_key))
    subject = find_subject(settings, lake, phone=phone, customer_key=customer_key)
    tables = [t for t in lake.list_tables() if t not in OWN_TABLES and not t.startswith("_audit/")]
    tokens = suppression_tokens(key, subject)
    counts: dict[str, int] = {}
    for table in tables:
        predicate = predicate_for(table, _columns(lake, table), subject)
        if table == QUARANTINE and tokens:
            # quarantined lines whose parsed identifiers are the person's (any format), whatever their time
            supp = spark.createDataFrame([(t, requested_at) for t in sorted(tokens)], "token string, erased_at timestamp")
            _, hit = split_suppressed_quarantine(lake.read(table), supp, key, settings.timezone, use_record_time=False)
            parsed = quarantine_predicate(hit)
            predicate = " OR ".join(p for p in (predicate, parsed) if p) or None
        if predicate is None:
            continue
        n = _count(lake, table, predicate)
        if n:
            counts[table] = n
            if not dry_run:
                lake.delete(table, predicate)
    report_files = scrub_reports(settings, subject, dry_run=dry_run)
    if report_files:
        counts["_reports (files)"] = report_files
    from pipelines.bi.catalog import refresh_after_write

    if not dry_run:  # BI onto the rewritten files (the person gone) before the vacuum deletes the ones it reads
        refresh_after_write(settings, lake)
    vacuumed = 0
    if vacuum and not dry_run:
        for table in tables:
            vacuumed += len(lake.vacuum(table, retention_hours=0, enforce_retention=False))
            purge_log(lake, table)
        refresh_after_write(settings, lake)  # purge_log committed new versions (same files): the catalog records them
    record = {
        "request_id": request_id,
        "requested_at": requested_at,
        "completed_at": dt.datetime.now(dt.timezone.utc),
        "subject_kind": subject_kind,
        "subject_token": subject_token_,
        "person_records": len(subject.records),
        "customer_keys": len(subject.customer_keys),
        "tables_json": json.dumps(counts, sort_keys=True),
        "rows_deleted": int(sum(counts.values())),
        "tables_scanned": len(tables),
        "files_vacuumed": vacuumed,
        "dry_run": bool(dry_run),
    }
    if not dry_run:
        _append(lake, spark, AUDIT, pd.DataFrame([record]), "Erasure requests (PIPL): no personal data, no lake hash")
        supp = pd.DataFrame({"token": sorted(tokens), "kind": [tokens[t] for t in sorted(tokens)]})
        supp["erased_at"] = requested_at
        supp["request_id"] = request_id
        if len(supp):
            _append(lake, spark, SUPPRESSION, supp,
                    "Suppression list of erased persons: tokens derived from their identifiers (no lake hash)")
    log.info("erase %s: %d person records, %d keys, %d rows deleted from %d of %d tables, %d files vacuumed, "
             "dry_run=%s (%.1fs)", request_id, len(subject.records), len(subject.customer_keys),
             record["rows_deleted"], len(counts), len(tables), vacuumed, dry_run, time.monotonic() - t0)
    return record


def scrub_reports(settings: Settings, subject: Subject, dry_run: bool = False) -> int:
    """Delete report files under ``_reports/`` (HTML, JSON: not Delta tables) that mention the person.

    Reports such as the identity waterfall charts are regenerated by the next run; a file
    holding one of the person's ids, keys, hashes or raw values is deleted whole. Returns
    the number of files (that would be) deleted.
    """
    from pyarrow import fs as pafs

    from lake_io.datasource import filesystem

    fs, root = filesystem(settings.lake_root)
    base = f"{root.rstrip('/')}/_reports"
    needles = (_free_text_needles(subject) | _id_needles(subject) | subject.customer_keys | subject.all_hashes)
    needles = {n.encode("utf-8") for n in needles if n}
    if not needles:
        return 0
    try:
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    hits = 0
    for info in infos:
        if info.type != pafs.FileType.File or "/_delta_log/" in info.path or info.path.endswith(".parquet"):
            continue  # Delta tables under _reports are handled as tables
        if info.size and info.size > 256 << 20:
            log.warning("erase: report file of %d bytes not scanned (too large)", info.size)
            continue
        with fs.open_input_stream(info.path) as fh:
            body = fh.read()
        if any(n in body for n in needles):
            hits += 1
            if not dry_run:
                fs.delete_file(info.path)
    return hits


LOG_RETENTION = "delta.logRetentionDuration"


def purge_log(lake, table: str) -> None:
    """Drop the Delta log entries written before now, keeping one checkpoint of the current version.

    Old commit files carry per-file statistics (min/max values of the first columns) of the
    files that held the erased rows; vacuum does not touch the log. This sets the log
    retention to zero, writes a checkpoint, deletes the expired log files, and puts the
    previous retention back (two metadata commits). Time travel to earlier versions ends.
    """
    # lake_io has no API for table properties or log cleanup: deltalake directly (see docs/privacy.md)
    from deltalake import DeltaTable

    uri = lake.uri(table)
    previous = DeltaTable(uri).metadata().configuration.get(LOG_RETENTION, "interval 30 days")
    DeltaTable(uri).alter.set_table_properties({LOG_RETENTION: "interval 0 seconds"})
    dt_ = DeltaTable(uri)
    dt_.create_checkpoint()
    dt_.cleanup_metadata()
    DeltaTable(uri).alter.set_table_properties({LOG_RETENTION: previous})


def suppression_tokens(key: bytes, subject: Subject) -> dict[str, str]:
    """token -> kind for every identifier of the person (see :mod:`transforms.suppression`)."""
    out: dict[str, str] = {}
    for kind, values in subject.hashes.items():
        for v in values:
            out[subject_token(key, kind, v)] = kind
    for source, kind in (("crm", "crm_customer_id"), ("weibo", "weibo_uid")):
        for v in subject.ids(source):
            out[subject_token(key, kind, v)] = kind
    for v in subject.ids("wechat"):
        out[subject_token(key, "wechat_openid_hash", hmac_hex(key, v.strip()))] = "wechat_openid_hash"
    for v in subject.customer_keys:
        out[subject_token(key, "customer_key", v)] = "customer_key"
    return out


def _append(lake, spark, table: str, pdf: pd.DataFrame, description: str) -> None:
    import pyarrow as pa

    data = pa.Table.from_pandas(pdf, preserve_index=False)
    for i, f in enumerate(data.schema):
        if pa.types.is_timestamp(f.type):
            data = data.set_column(i, f.name, data.column(i).cast(pa.timestamp("us", tz="UTC")))
    lake.write(spark.createDataFrame(data), table, mode="append", description=description)


# -- keeping erased persons out -------------------------------------------------------------------
def load_suppression(lake):
    """The suppression list as a Spark DataFrame (token, kind, erased_at, request_id), or None."""
    return lake.read(SUPPRESSION) if lake.exists(SUPPRESSION) else None


def quarantine_predicate(hit) -> str | None:
    """SQL predicate matching exactly the quarantine rows of ``hit`` (a DataFrame of quarantine rows), or None.

    A line of a landing file is named by its file and line number; a JDBC row (no line
    number) by its source and raw payload.
    """
    from pyspark.sql import functions as F

    terms = []
    # the payload is needed (and collected) only for JDBC rows
    rows = hit.select("source_file", "line_no", F.when(F.col("line_no").isNull(), F.col("raw_payload")).alias("raw_payload"))
    for r in rows.distinct().collect():
        src = "'" + str(r["source_file"]).replace("'", "''") + "'"
        if r["line_no"] is not None:
            terms.append(f"(\"source_file\" = {src} AND \"line_no\" = {int(r['line_no'])})")
        elif r["raw_payload"] is not None:
            raw = "'" + r["raw_payload"].replace("'", "''") + "'"
            terms.append(f"(\"line_no\" IS NULL AND \"source_file\" = {src} AND \"raw_payload\" = {raw})")
    return " OR ".join(terms) or None


def _delete_for_good(lake, table: str, predicate: str, vacuum: bool) -> int:
    """Delete the rows matching ``predicate``; with ``vacuum``, also from every data file and
    the old log. Returns the number of rows deleted."""
    n = _count(lake, table, predicate)
    lake.delete(table, predicate)
    if vacuum:
        lake.vacuum(table, retention_hours=0, enforce_retention=False)
        purge_log(lake, table)
    return n


def enforce_suppression(settings: Settings, spark, lake=None, tables: list[str] | None = None,
                        vacuum: bool = True) -> dict[str, int]:
    """Delete from bronze and quarantine the records of erased persons that are not newer than their erasure.

    Run after every bronze ingest (before silver is rebuilt): a re-delivered or re-ingested
    old landing file cannot bring an erased person back. Uses
    :func:`transforms.suppression.split_suppressed` per bronze table of
    ``BRONZE_IDENTIFIERS`` and :func:`transforms.suppression.split_suppressed_quarantine`
    for ``quarantine`` (identifiers parsed from the raw line); deletes exactly the
    suppressed lines (by source file and line number) and, when it deleted any, vacuums that
    table with retention 0 so the lines exist in no data file. ``tables`` restricts the run
    (bronze table names and/or ``"quarantine"``). Returns {table: rows deleted} (tables with
    none are omitted).
    """
    from lake_io import Lake
    from pyspark.sql import functions as F

    from transforms.bronze import parse_ts_local, parse_ts_offset

    t0 = time.monotonic()
    lake = lake or Lake(settings, spark)
    suppression = load_suppression(lake)
    if suppression is None:
        return {}
    key = settings.hmac_key_bytes()
    out: dict[str, int] = {}
    for table in tables or list(BRONZE_IDENTIFIERS):
        if table not in BRONZE_IDENTIFIERS or not lake.exists(table):
            continue
        identifiers, time_col = BRONZE_IDENTIFIERS[table]
        df = lake.read(table)
        if time_col:
            parse = parse_ts_local if table.startswith(_LOCAL_TIME_TABLES) else parse_ts_offset
            when = parse(F.col(time_col).cast("string"), settings.timezone)
        else:
            when = None
        _, hit = split_suppressed(df, suppression, identifiers, key, record_time=when)
        rows = hit.select("_source_file", "_line_no").distinct().collect()
        if not rows:
            continue
        terms = []
        for r in rows:
            src = "'" + str(r["_source_file"]).replace("'", "''") + "'"
            if r["_line_no"] is None:
                # JDBC rows have no line number: match the identifiers of the suppressed rows instead
                continue
            terms.append(f"(\"_source_file\" = {src} AND \"_line_no\" = {int(r['_line_no'])})")
        jdbc = hit.where(F.col("_line_no").isNull())
        for col in identifiers:
            vals = {r[col] for r in jdbc.select(col).distinct().collect() if r[col] is not None}
            if vals:
                terms.append(f"(\"_line_no\" IS NULL AND \"{col}\" IN ({_sql_list(vals)}))")
        out[table] = _delete_for_good(lake, table, " OR ".join(terms), vacuum)
    if (tables is None or QUARANTINE in tables) and lake.exists(QUARANTINE):
        _, hit = split_suppressed_quarantine(lake.read(QUARANTINE), suppression, key, settings.timezone)
        predicate = quarantine_predicate(hit)
        if predicate:
            out[QUARANTINE] = _delete_for_good(lake, QUARANTINE, predicate, vacuum)
    log.info("suppression: %d bronze and quarantine rows of erased persons removed from %d tables (%.1fs)",
             sum(out.values()), len(out), time.monotonic() - t0)
    return out


# -- command line ---------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--phone", help="the person's phone number (any format)")
    who.add_argument("--customer-key", help="the person's customer_key")
    who.add_argument("--file", type=Path, help="CSV with a header and a phone and/or customer_key column; one request a row")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    parser.add_argument("--dry-run", action="store_true", help="count the rows that would be deleted; change nothing")
    parser.add_argument("--lock-timeout", type=float, default=None,
                        help="seconds to wait for a running job to finish (default: wait)")


def read_requests(path: Path) -> list[dict[str, str]]:
    """Requests of a --file: [{"phone": ...} | {"customer_key": ...}]; ErasureError naming a bad row."""
    if not path.exists():
        raise ErasureError(f"--file {path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or [])
        if not cols & {"phone", "customer_key"}:
            raise ErasureError(f"--file {path}: needs a header with a phone or customer_key column, got {sorted(cols)}")
        out = []
        for i, row in enumerate(reader, start=2):
            phone, ckey = (row.get("phone") or "").strip(), (row.get("customer_key") or "").strip()
            if bool(phone) == bool(ckey):
                raise ErasureError(f"--file {path} line {i}: give exactly one of phone or customer_key")
            out.append({"phone": phone} if phone else {"customer_key": ckey})
    return out


def run(args: argparse.Namespace) -> int:
    overrides = {"lake_root": args.lake} if args.lake else {}
    settings = load_settings(getattr(args, "config", None), **overrides)
    try:
        requests = read_requests(args.file) if args.file else [
            {"phone": args.phone} if args.phone else {"customer_key": args.customer_key}]
    except ErasureError as exc:
        print(f"scim erase: {exc}", file=sys.stderr)
        return 2
    from pipelines.spark import get_spark

    spark = get_spark(settings)
    failed = 0
    for req in requests:
        try:
            record = erase(settings, spark, dry_run=args.dry_run, lock_timeout=args.lock_timeout, **req)
        except (ErasureError, ConfigError) as exc:
            failed += 1
            print(f"scim erase: request failed: {exc}", file=sys.stderr)
            continue
        print(f"{record['request_id']}: {record['rows_deleted']} rows deleted from "
              f"{len(json.loads(record['tables_json']))} tables; {record['files_vacuumed']} files vacuumed"
              f"{' (dry run)' if args.dry_run else ''}")
    return 1 if failed else 0
