"""Person records: standardise (Spark and pandas give the same rows) and validate."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.testing import assertDataFrameEqual

from transforms.person_records import (
    CONTRACT_COLUMNS,
    OUTPUT_COLUMNS,
    RAW_COLUMNS,
    STANDARD_SCHEMA,
    standardise_person_records,
    standardise_person_records_pandas,
    validate_person_records,
    validate_person_records_pandas,
)
from transforms.standardise import hmac_hex, standardise_person_record

TODAY = dt.date(2026, 11, 23)
KEY = b"test-key-0123456789abcdef"
ID_NUMBER = "11010519491231002X"  # the GB 11643 example number (valid check character)

RAW = [
    # CRM: surname + honorific, birth month only, full address.
    {"source": "crm", "record_id": "C1", "name": "宋小姐", "gender": "女", "birth_date": "--05",
     "phone": "+86 138-1234-5678", "email": "Song.Li@163.com", "province": "广东省", "city": "广州市",
     "address": "广东省广州市天河区体育西路１０１号", "postcode": "510620"},
    # Weibo: nickname, masked phone, partial birthday, QQ in the bio.
    {"source": "weibo", "record_id": "U1", "nickname": "★SongLi_1990☆", "gender": "f", "birth_date": "1990-05-12",
     "phone": "138****5678", "province": "广东", "city": "广州", "bio": "合作请联系 QQ:12345678"},
    # WeChat: traditional nickname, full-width phone, English region names.
    {"source": "wechat", "record_id": "O1", "nickname": "陳大文", "gender": "1", "phone": "１３８１２３４５６７８",
     "wechat_unionid": "oU_union_AbC123", "wechat_openid": "oOpen_XyZ789", "province": "Guangdong",
     "city": "Guangzhou"},
    # Compound surname, id number fills the birth date, QQ mail gives the QQ number.
    {"source": "crm", "record_id": "C2", "name": "歐陽娜娜", "birth_date": "--12", "id_number": ID_NUMBER.lower(),
     "email": "12345678@qq.com", "phone": "13800000000", "province": None, "city": "深圳"},
    # Latin name, junk e-mail, bad birth date, municipality.
    {"source": "crm", "record_id": "C3", "name": "Wei ZHANG", "email": "test@test.com", "birth_date": "1990-02-30",
     "qq": "87654321", "province": "北京市", "city": "海淀区", "postcode": "1000"},
    # Nothing but the keys.
    {"source": "weibo", "record_id": "U2"},
]


def raw_pdf() -> pd.DataFrame:
    return pd.DataFrame(RAW)


def h(value: str) -> str:
    return hmac_hex(KEY, value)


def test_output_columns_are_the_contract_then_helpers():
    out = standardise_person_records_pandas(raw_pdf(), KEY, TODAY)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert list(out.columns[: len(CONTRACT_COLUMNS)]) == [
        "source", "record_id", "full_name", "surname", "given_name", "name_pinyin", "nickname", "gender",
        "birth_year", "birth_month", "birth_day", "phone_hash", "phone_prefix3", "phone_last4", "email_hash",
        "id_number_hash", "qq_hash", "wechat_unionid_hash", "wechat_openid_hash", "province", "city", "address",
        "postcode",
    ]


def test_pandas_rows():
    out = standardise_person_records_pandas(raw_pdf(), KEY, TODAY).set_index("record_id")
    song = out.loc["C1"]
    assert (song.full_name, song.surname, song.given_name, song.name_pinyin, song.gender) == ("宋", "宋", None, "song", "f")
    assert (song.birth_year is pd.NA, song.birth_month, song.birth_day is pd.NA) == (True, 5, True)
    assert (song.phone_hash, song.phone_prefix3, song.phone_last4) == (h("+8613812345678"), "138", "5678")
    assert song.email_hash == h("song.li@163.com")
    assert (song.province, song.city, song.address, song.postcode) == ("广东", "广州", "天河区体育西路101号", "510620")

    weibo = out.loc["U1"]
    assert (weibo.nickname, weibo.nickname_latin) == ("songli1990", "songli")
    assert (weibo.phone_hash, weibo.phone_prefix3, weibo.phone_last4, weibo.phone_masked) == (None, "138", "5678", True)
    assert (weibo.birth_year, weibo.birth_month, weibo.birth_day) == (1990, 5, 12)
    assert weibo.qq_hash == h("12345678")

    wechat = out.loc["O1"]
    assert (wechat.nickname, wechat.nickname_pinyin, wechat.gender) == ("陈大文", "chendawen", "m")
    assert wechat.phone_hash == song.phone_hash  # same number, different spelling, same key
    assert (wechat.wechat_unionid_hash, wechat.wechat_openid_hash) == (h("oU_union_AbC123"), h("oOpen_XyZ789"))
    assert (wechat.province, wechat.city, wechat.province_code) == ("广东", "广州", "44")

    ouyang = out.loc["C2"]
    assert (ouyang.full_name, ouyang.surname, ouyang.given_name, ouyang.name_pinyin) == ("欧阳娜娜", "欧阳", "娜娜", "ouyang nana")
    assert (ouyang.birth_year, ouyang.birth_month, ouyang.birth_day) == (1949, 12, 31)
    assert ouyang.gender == "f"  # from the id number
    assert ouyang.id_number_hash == h(ID_NUMBER)
    assert ouyang.qq_hash == weibo.qq_hash  # 12345678@qq.com is QQ 12345678
    assert (ouyang.phone_hash, ouyang.phone_prefix3) == (None, None)
    assert "phone:junk" in ouyang.std_issues
    assert (ouyang.province, ouyang.city) == ("广东", "深圳")

    latin = out.loc["C3"]
    assert (latin.full_name, latin.name_pinyin, latin.name_tokens) == ("weizhang", "wei zhang", "wei zhang")
    assert latin.email_hash is None and latin.qq_hash == h("87654321")
    assert latin.birth_month is pd.NA and "birth_date:invalid_day" in latin.std_issues
    assert (latin.province, latin.city, latin.postcode) == ("北京", "北京", None)
    assert latin.std_issues == "birth_date:invalid_day;email:junk;postcode:invalid_format"

    empty = out.loc["U2"]
    assert empty.drop(["source", "phone_masked"]).isna().all() and not empty.phone_masked


def test_raw_identifiers_never_in_output():
    out = standardise_person_records_pandas(raw_pdf(), KEY, TODAY)
    cells = {str(v) for v in out.drop(columns=["phone_prefix3", "phone_last4"]).to_numpy().ravel() if v is not None}
    secrets = ["13812345678", "+8613812345678", "song.li@163.com", "Song.Li@163.com", ID_NUMBER, "12345678",
               "87654321", "oU_union_AbC123", "oOpen_XyZ789", "12345678@qq.com"]
    for secret in secrets:
        assert not any(secret.lower() in cell.lower() for cell in cells), secret


def test_missing_key_column_is_an_error():
    with pytest.raises(ValueError, match="record_id"):
        standardise_person_records_pandas(pd.DataFrame({"source": ["crm"]}), KEY, TODAY)


def _as_rows(pdf: pd.DataFrame) -> list[dict]:
    frame = pdf.astype("object").where(pdf.notna(), None)
    rows = frame.to_dict("records")
    for row in rows:
        for col in ("birth_year", "birth_month", "birth_day"):
            row[col] = None if row[col] is None else int(row[col])
        row["phone_masked"] = bool(row["phone_masked"])
    return rows


def test_spark_matches_pandas(spark):
    # Both sides lack the postcode column (missing optional columns count as null).
    pdf = raw_pdf().drop(columns=["postcode"])
    # One partition: one Python worker to start, which keeps the test quick.
    df = spark.createDataFrame(pdf.astype("object").where(pdf.notna(), None).to_dict("records")).coalesce(1)
    spark_out = standardise_person_records(df, KEY, TODAY)
    assert spark_out.schema == STANDARD_SCHEMA
    expected = spark.createDataFrame(_as_rows(standardise_person_records_pandas(pdf, KEY, TODAY)), STANDARD_SCHEMA)
    assertDataFrameEqual(spark_out, expected)
    assert expected.where("postcode is not null").count() == 0


VALIDATE_ROWS = [
    ("crm", "1", "宋小姐"),
    ("crm", "1", "宋小姐"),      # exact copy: one kept, one rejected
    ("crm", "2", "王先生"),
    ("crm", "2", "李女士"),      # same key, different content: both rejected
    (None, "3", "张三"),
    ("weibo", " ", "李四"),
    ("weibo", "1", "宋小姐"),    # same record_id in another source: fine
]


def test_validate_pandas():
    pdf = pd.DataFrame(VALIDATE_ROWS, columns=["source", "record_id", "name"])
    good, rejected = validate_person_records_pandas(pdf)
    assert good.values.tolist() == [["crm", "1", "宋小姐"], ["weibo", "1", "宋小姐"]]
    assert rejected[["record_id", "reason"]].values.tolist() == [
        ["1", "duplicate_record"], ["2", "conflicting_duplicate"], ["2", "conflicting_duplicate"],
        ["3", "missing_source"], [" ", "missing_record_id"],
    ]
    assert len(good) + len(rejected) == len(pdf)


def test_validate_spark(spark):
    df = spark.createDataFrame(VALIDATE_ROWS, "source string, record_id string, name string")
    good, rejected = validate_person_records(df)
    assertDataFrameEqual(good, spark.createDataFrame([("crm", "1", "宋小姐"), ("weibo", "1", "宋小姐")], df.schema))
    expected = spark.createDataFrame(
        [("crm", "1", "宋小姐", "duplicate_record"), ("crm", "2", "王先生", "conflicting_duplicate"),
         ("crm", "2", "李女士", "conflicting_duplicate"), (None, "3", "张三", "missing_source"),
         ("weibo", " ", "李四", "missing_record_id")],
        "source string, record_id string, name string, reason string",
    )
    assertDataFrameEqual(rejected, expected)


def test_validate_requires_key_columns(spark):
    with pytest.raises(ValueError, match="source"):
        validate_person_records(spark.createDataFrame([("1",)], "record_id string"))


_ANY_VALUE = st.one_of(st.none(), st.text(max_size=24), st.integers(), st.sampled_from(
    ["宋小姐", "138****5678", "+86 138-1234-5678", "--05", "广东省", "QQ:12345678", "１２３", "★☆", "1990年13月"]))


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({"source": st.just("x"), "record_id": st.text(min_size=1, max_size=5)},
                             optional={c: _ANY_VALUE for c in RAW_COLUMNS if c not in ("source", "record_id")}))
def test_any_input_gives_a_well_formed_record(record):
    row = standardise_person_record(record, KEY, TODAY)
    assert tuple(row) == OUTPUT_COLUMNS
    for col in ("phone_hash", "email_hash", "id_number_hash", "qq_hash", "wechat_unionid_hash", "wechat_openid_hash"):
        assert row[col] is None or (len(row[col]) == 64 and int(row[col], 16) >= 0)
    assert row["gender"] in ("m", "f", None)
    assert row["birth_month"] is None or 1 <= row["birth_month"] <= 12
    assert row["phone_hash"] is None or not row["phone_masked"]
