"""Hostile input (hypothesis): malformed records of every source never crash ingestion; every
bad record is quarantined with a reason; input = written + quarantined for every file.

Spark is slow per call, so each example is a whole drop (three sources, a batch of hostile
lines each) and there are few examples.
"""

from __future__ import annotations

import csv
import io
import json
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

DAY = "2026-11-01"

INJECTIONS = [
    "'; DROP TABLE bronze.crm_customers; --", "\" OR 1=1 --", "${jndi:ldap://x.example/a}", "<script>alert(1)</script>",
    "../../../../etc/passwd", "=cmd|' /C calc'!A0", "{{7*7}}", "%s%s%s%n", "\\x00\\u0000", "NaN", "null", "\u202e\u0645",
    "😀" * 20, "宋小姐\u200b", "' || pg_sleep(10) --",
]
# text that may hold anything but line breaks (a raw line break would make two lines)
HOSTILE_TEXT = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x85\u2028\u2029\x0b\x0c\x1c\x1d\x1e"),
            max_size=40),
)
KINDS = ["valid_hostile_text", "control_chars", "broken_encoding", "truncated", "wrong_type", "missing_required",
         "huge_field", "duplicate", "empty", "not_an_object"]
# kinds whose record must be quarantined, with the reason code ingestion must give
MUST_QUARANTINE = {"broken_encoding": {"mojibake"}, "truncated": {"malformed_json", "malformed_csv"},
                   "wrong_type": {"type_mismatch"}, "missing_required": {"missing_required"},
                   "empty": {"empty_line"}, "not_an_object": {"malformed_json", "malformed_csv"}}
# kinds that are valid records and must reach bronze (a 200k-character CSV field may be refused, with a reason)
MUST_PASS = {"jsonl": {"valid_hostile_text", "huge_field", "duplicate"}, "csv": {"valid_hostile_text", "duplicate"}}


def _looks_latin1(text: str) -> bool:
    """Text in U+0080..U+024F can be what UTF-8 read as Latin-1 looks like: ingestion's
    documented mojibake heuristic may quarantine it (reason mojibake), which is allowed."""
    return any("\x80" <= ch <= "\u024f" for ch in text)

BATCH = st.lists(st.tuples(st.sampled_from(KINDS), HOSTILE_TEXT, st.integers(0, 10**6)), min_size=6, max_size=12)


# -- line builders: (bytes of the line, kind) --------------------------------------------------------
def _weibo_user(i: int, text: str) -> dict:
    return {"uid": str(5_000_000_000 + i), "screen_name": text or "x", "gender": "f", "province": "上海", "city": "上海",
            "location": "上海", "birthday": "", "description": text, "tags": ["美妆"], "verified": False,
            "verified_type": -1, "followers_count": 10, "friends_count": 5, "statuses_count": 3,
            "masked_phone": "138****5678", "created_at": "2020-01-01T10:00:00+08:00",
            "updated_at": "2026-10-01T10:00:00+08:00"}


def _wechat_follower(i: int, text: str) -> dict:
    return {"openid": f"o{i:027d}", "unionid": f"u{i:027d}", "nickname": text or "x", "sex": 2, "province": "广东",
            "city": "广州", "country": "中国", "subscribe": 1, "subscribe_time": 1600000000, "tagid_list": [100],
            "remark": text, "phone": None, "language": "zh_CN", "updated_at": "2026-10-01T10:00:00+08:00"}


JSON_SOURCES = {"weibo": ("users.jsonl", _weibo_user, "uid"), "wechat": ("followers.jsonl", _wechat_follower, "openid")}
CRM_HEADER = ["customer_id", "name", "gender", "mobile", "email", "birth_month", "province", "city", "address",
              "postcode", "store_id", "member_tier", "points_balance", "register_date", "wechat_openid",
              "marketing_consent", "updated_at"]


def _crm_row(i: int, text: str) -> list[str]:
    return [str(10_000_000 + i), text or "宋小姐", "女", "13812345678", "a@example.com", "5", "广东", "广州", text,
            "510000", "S1", "金卡", "100", "2022-02-24", "", "Y", "2026-10-01 10:00:00"]


def _csv_line(fields: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue().encode("utf-8")


def _json_lines(make, id_field: str, batch) -> list[tuple[bytes, str]]:
    out = []
    for i, (kind, text, seed) in enumerate(batch):
        rec = make(i, text)
        line = json.dumps(rec, ensure_ascii=False).encode("utf-8")
        if kind == "control_chars":
            rec["description" if "description" in rec else "remark"] = "a\x00b\x07c\x1bd\x7f" + text
            line = json.dumps(rec, ensure_ascii=False).encode("utf-8")
        elif kind == "broken_encoding":
            cut = line.index(b'"', 2)
            line = line[:cut] + b"\xff\xfe\xc3" + line[cut:]
        elif kind == "truncated":
            line = line[: 1 + random.Random(seed).randrange(len(line) - 2)]
        elif kind == "wrong_type":
            rec[id_field] = 123 if id_field == "uid" else ["not", "a", "string"]
            line = json.dumps(rec, ensure_ascii=False).encode("utf-8")
        elif kind == "missing_required":
            del rec[id_field]
            line = json.dumps(rec, ensure_ascii=False).encode("utf-8")
        elif kind == "huge_field":
            rec["description" if "description" in rec else "remark"] = (text or "长") * (200_000 // max(1, len(text)))
            line = json.dumps(rec, ensure_ascii=False).encode("utf-8")
        elif kind == "empty":
            line = b""
        elif kind == "not_an_object":
            line = json.dumps([text, seed]).encode("utf-8")
        out.append((line, kind, text))
        if kind == "duplicate":
            out.append((line, kind, text))
    return out


def _crm_lines(batch) -> list[tuple[bytes, str]]:
    out = []
    for i, (kind, text, seed) in enumerate(batch):
        row = _crm_row(i, text)
        line = _csv_line(row)
        if kind == "control_chars":
            row[1] = "a\x00b\x07c\x1b" + text
            line = _csv_line(row)
        elif kind == "broken_encoding":
            line = _csv_line(row[:1]) + b",\xff\xfe\xc3\x28," + _csv_line(row[2:])
        elif kind == "truncated":
            line = _csv_line(row[:5])  # a line cut before its last fields
        elif kind == "wrong_type":
            row[5] = "五月" if seed % 2 else "abc"
            line = _csv_line(row)
        elif kind == "missing_required":
            row[0] = ""
            line = _csv_line(row)
        elif kind == "huge_field":
            row[8] = (text or "长") * (200_000 // max(1, len(text)))
            line = _csv_line(row)
        elif kind == "empty":
            line = b""
        elif kind == "not_an_object":
            line = b'"' + text.replace('"', "").encode("utf-8") + b",broken quote"
        out.append((line, kind, text))
        if kind == "duplicate":
            out.append((line, kind, text))
    return out


def _write_drop(root: Path, source: str, name: str, lines: list[bytes], header: bytes | None = None) -> None:
    folder = root / "landing" / source / DAY
    folder.mkdir(parents=True, exist_ok=True)
    body = ([header] if header else []) + lines
    (folder / name).write_bytes(b"\n".join(body) + b"\n")
    (folder / "_SUCCESS").write_bytes(b"")


@hsettings(max_examples=2, deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(weibo=BATCH, wechat=BATCH, crm=BATCH)
def test_hostile_lines_are_quarantined_with_a_reason_and_counts_reconcile(spark, weibo, wechat, crm):
    from lake_io import Lake
    from pipelines.config import load_settings
    from pipelines.ingest import ingest_bronze

    root = Path(tempfile.mkdtemp(prefix="hostile-")) / "lake"
    settings = load_settings(environ={"SCIM_HMAC_KEY": "test-key-0123456789abcdef"}, lake_root=str(root),
                             spark={"driver_memory": "3g", "shuffle_partitions": 2})
    files = {}
    for source, batch in (("weibo", weibo), ("wechat", wechat)):
        name, make, id_field = JSON_SOURCES[source]
        lines = _json_lines(make, id_field, batch)
        _write_drop(root, source, name, [b for b, _, _ in lines])
        files[source] = (name, lines, 0)
    crm_lines = _crm_lines(crm)
    _write_drop(root, "crm", "customers.csv", [b for b, _, _ in crm_lines], header=",".join(CRM_HEADER).encode())
    files["crm"] = ("customers.csv", crm_lines, 1)

    result = ingest_bronze(settings, spark, DAY)  # raises on a failed reconciliation: that is a failure here

    lake = Lake(settings, spark)
    quarantine = lake.to_arrow("quarantine").to_pylist() if lake.exists("quarantine") else []
    for source, (name, lines, header_lines) in files.items():
        entity = name.split(".")[0]
        r = result[f"{source}_{entity}"]
        assert r["input_records"] == len(lines), (source, r)
        assert r["input_records"] == r["written_records"] + r["quarantined_records"], (source, r)
        q = {row["line_no"]: row for row in quarantine if row["source"] == source and row["entity"] == entity}
        assert all(row["reason_code"] and row["reason"] for row in q.values())
        must_pass = MUST_PASS["csv" if name.endswith(".csv") else "jsonl"]
        for i, (_, kind, text) in enumerate(lines):
            line_no = i + 1 + header_lines
            if kind in MUST_QUARANTINE:
                assert line_no in q, (source, kind, line_no, lines[i][0][:200])
                assert q[line_no]["reason_code"] in MUST_QUARANTINE[kind], (source, kind, q[line_no]["reason_code"])
            elif kind in must_pass and line_no in q:
                assert q[line_no]["reason_code"] == "mojibake" and _looks_latin1(text), (source, kind, q[line_no])
        written = lake.to_arrow(f"bronze/{source}_{entity}").num_rows
        assert written == r["written_records"]
