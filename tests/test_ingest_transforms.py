"""Ingestion transforms on tiny hand-made inputs: reason codes, encodings, line numbers, silver rules."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from transforms import bronze as tb
from transforms import silver as ts

TZ = "Asia/Shanghai"
DAY = dt.date(2026, 11, 1)


def _typed(spark, spec_name: str, lines: list[bytes], encoding: str = "utf-8", header: list[str] | None = None):
    spec = tb.SPECS[spec_name]
    rows = [("f", i + 1, b) for i, b in enumerate(lines)]
    df = spark.createDataFrame(rows, "_source_file string, _line_no long, _bytes binary")
    decoded = tb.decode_lines(df, encoding)
    parsed = tb.parse_csv_lines(decoded, header) if spec.format == "csv" else tb.parse_json_lines(decoded)
    return tb.type_records(parsed, spec, timezone=TZ, future_cutoff=tb.future_cutoff(DAY, TZ), header=header)


def _codes(typed) -> dict[int, str | None]:
    return {r["_line_no"]: r["code"] for r in typed.select("_line_no", "_error.code").collect()}


def _j(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


def test_json_lines_get_one_reason_each(spark):
    garbled = "我喜欢多肉植物".encode("utf-8").decode("gbk", errors="replace")
    lines = [
        _j(uid="1", screen_name="小王", followers_count=10, updated_at="2026-11-01T10:00:00+08:00", brand_new="x"),
        b'{"uid":"2","followers_count":10,}',  # trailing comma
        _j(screen_name="no uid"),
        _j(uid="3", followers_count="1.2万"),
        _j(uid=4),  # a number where the contract says string
        _j(uid="5", updated_at="2036-11-01T10:00:00+08:00"),
        _j(uid="6", followers_count=-1),
        _j(uid="7", description=garbled),
        _j(uid="8", screen_name="çŽ‹"),
        b'{"uid":"9","screen_name":"\xe7\x8e"}',  # invalid UTF-8
        b"   ",
        _j(uid="10", updated_at="2026-11-01T23:59:59+08:00"),  # last second of the day is not future
    ]
    typed = _typed(spark, "weibo_users", lines)
    assert _codes(typed) == {
        1: None, 2: "malformed_json", 3: "missing_required", 4: "type_mismatch", 5: "type_mismatch",
        6: "future_date", 7: "negative_amount", 8: "mojibake", 9: "mojibake", 10: "mojibake", 11: "empty_line",
        12: None,
    }
    good = tb.bronze_rows(typed, tb.SPECS["weibo_users"], DAY, "b1", dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc))
    first = good.where(F.col("uid") == "1").first()
    assert json.loads(first["_extra"]) == {"brand_new": "x"} and first["followers_count"] == 10
    q = tb.quarantine_rows(typed, tb.SPECS["weibo_users"], DAY, "b1", dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc))
    assert q.count() == 10 and q.where(F.col("raw_payload").isNull()).count() == 0
    assert q.where(F.col("line_no") == 4).first()["field"] == "followers_count"


CSV_HEADER = "customer_id,name,gender,mobile,birth_month,points_balance,updated_at"
CSV_ROWS = [
    "C1,王先生,男,13812345678,5,100,2026-11-01 09:00:00",
    "C2,李女士,女,,13,,2026-11-01 09:00:00",  # birth month 13
    "C3,张",  # truncated
    ",无名,,,,,",  # no id
    'C4,"宋,小姐",女,,,x,2026-11-01 09:00:00',  # points not an int
    "C5,赵先生,男,,,,2026-11-01 09:00:00,EXTRA",  # an unknown extra field is kept
]
CSV_EXPECTED = {1: None, 2: "out_of_range", 3: "malformed_csv", 4: "missing_required", 5: "type_mismatch", 6: None}


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_csv_in_gbk_and_utf8_types_the_same_records(spark, encoding):
    raw = [line.encode(encoding) for line in CSV_ROWS]
    lines = spark.createDataFrame([("f", i + 1, b) for i, b in enumerate([CSV_HEADER.encode()] + raw)],
                                  "_source_file string, _line_no long, _bytes binary")
    from pipelines.ingest.bronze import detect_encoding

    detected = detect_encoding(lines)
    assert detected == ("gb18030" if encoding == "gbk" else "utf-8")
    data = lines.where(F.col("_line_no") > 1).withColumn("_line_no", F.col("_line_no") - 1)
    decoded = tb.decode_lines(data, detected)
    typed = tb.type_records(tb.parse_csv_lines(decoded, CSV_HEADER.split(",")), tb.SPECS["crm_customers"],
                            timezone=TZ, future_cutoff=tb.future_cutoff(DAY, TZ), header=CSV_HEADER.split(","))
    assert _codes(typed) == CSV_EXPECTED
    good = typed.where(F.col("_error").isNull()).select("customer_id", "name", "points_balance", "_extra")
    assertDataFrameEqual(good, [("C1", "王先生", 100, None), ("C5", "赵先生", None, '{"_col8":"EXTRA"}')])


def test_a_utf8_line_inside_a_gbk_file_is_mojibake(spark):
    lines = [CSV_ROWS[0].encode("gbk"), "C9,欧阳先生,男,,,,2026-11-01 09:00:00".encode("utf-8")]
    typed = _typed(spark, "crm_customers", lines, encoding="gbk", header=CSV_HEADER.split(","))
    assert _codes(typed) == {1: None, 2: "mojibake"}


def test_line_numbers_survive_file_splits(spark, tmp_path):
    from pipelines.ingest.bronze import read_lines

    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"uid": str(i)}) + "\n" for i in range(1, 401)))
    old = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1024")  # about 6 splits for this file
    try:
        lines = read_lines(spark, str(path))
        got = {r["_line_no"]: json.loads(bytes(r["_bytes"]))["uid"] for r in lines.collect()}
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", old)
    assert got == {i: str(i) for i in range(1, 401)}


def test_mojibake_heuristic_keeps_genuine_chinese():
    for genuine in ["王先生", "我喜欢多肉植物", "北京市朝阳区建国路88号", "欧阳娜娜", "钻石会员"]:
        assert not tb.looks_utf8_read_as_gbk(genuine)
    for text in ["我喜欢多肉植物", "钻石会员", "北京"]:
        garbled = text.encode("utf-8").decode("gbk", errors="replace")
        assert "\ufffd" in garbled or tb.looks_utf8_read_as_gbk(garbled)


def test_latest_by_is_deterministic_and_prefers_newest_update(spark):
    rows = [
        ("C1", "a", "2026-11-01 09:00:00", dt.date(2026, 11, 1), "f1", 2),
        ("C1", "b", "2026-11-02 09:00:00", dt.date(2026, 11, 1), "f1", 3),
        ("C1", "c", "2026-11-01 08:00:00", dt.date(2026, 11, 2), "f2", 2),  # later drop, older update
        ("C2", "x", "2026-11-01 09:00:00", dt.date(2026, 11, 1), "f1", 4),
        ("C2", "x", "2026-11-01 09:00:00", dt.date(2026, 11, 1), "f1", 5),  # re-delivered duplicate
    ]
    df = spark.createDataFrame(rows, "customer_id string, v string, updated_at string, batch_date date, "
                                     "_source_file string, _line_no long")
    out = ts.latest_by(df, ["customer_id"], [tb.parse_ts_local(F.col("updated_at"), TZ).desc_nulls_last()])
    assertDataFrameEqual(out.select("customer_id", "v", "_line_no"), [("C1", "b", 3), ("C2", "x", 5)])


def test_masks():
    assert ts.mask_phone("+8613812345678", "138", "5678", "mobile") == "138****5678"
    assert ts.mask_phone(None, "138", "5678", "masked") == "138****5678"
    assert ts.mask_email("zhang.san@qq.com") == "z***@qq.com"
    assert ts.mask_email(None) is None


def test_identifiers_in_free_text_are_masked(spark):
    df = spark.createDataFrame([("合作请联系 zhangsan@qq.com 或 13812345678，QQ: 12345678",)], "t string")
    got = df.select(ts.mask_identifiers_in_text(F.col("t")).alias("t")).first()["t"]
    assert got == "合作请联系 z***@qq.com 或 138****5678，QQ: 12*****"
