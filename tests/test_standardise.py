"""Field standardisation rules (transforms/standardise), one test per rule, Chinese examples first."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.standardise import (
    extract_contacts,
    hmac_hex,
    normalise_address,
    normalise_email,
    normalise_gender,
    normalise_id_number,
    normalise_phone,
    normalise_phone_series,
    normalise_postcode,
    normalise_qq,
    normalise_region,
    parse_birth_date,
    parse_birth_date_series,
    parse_birth_month,
    parse_location,
    standardise_name,
    standardise_nickname,
)
from transforms.standardise.hashing import check_key

TODAY = dt.date(2026, 11, 23)
KEY = b"test-key-0123456789abcdef"


# --- phone -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw",
    ["13812345678", "１３８１２３４５６７８", "+86 138-1234-5678", "0086 138 1234 5678", "8613812345678",
     "(+86)138.1234.5678", "138 1234 5678 转 12", "013812345678"],
)
def test_phone_formats_give_e164(raw):
    result = normalise_phone(raw)
    assert (result.e164, result.prefix3, result.last4, result.kind, result.issue) == (
        "+8613812345678", "138", "5678", "mobile", None)


@pytest.mark.parametrize("raw", ["16612345678", "17012345678", "19912345678", "14512345678", "19212345678"])
def test_phone_newer_mobile_prefixes_are_valid(raw):
    assert normalise_phone(raw).e164 == "+86" + raw


@pytest.mark.parametrize("raw", ["138****5678", "138xxxx5678", "+86 138****5678", "１３８＊＊＊＊５６７８"])
def test_masked_phone_gives_prefix_and_last4_only(raw):
    assert normalise_phone(raw) == (None, "138", "5678", "masked", None)
    assert normalise_phone(raw).masked


@pytest.mark.parametrize("raw", ["13800000000", "11111111111", "12345678901", "13800138000", "13911111111"])
def test_junk_phone_is_flagged_not_kept(raw):
    result = normalise_phone(raw)
    assert result.e164 is None and result.issue == "junk"


@pytest.mark.parametrize(
    "raw,issue",
    [("12012345678", "invalid_mobile"), ("88886666", "landline_no_area_code"), ("abc", "invalid_format"),
     ("4008123123", "service_number"), ("10086", "service_number")],
)
def test_invalid_phone_reason(raw, issue):
    assert normalise_phone(raw) == (None, None, None, None, issue)


def test_landline_accepted_or_rejected_by_option():
    assert normalise_phone("020-8888 6666") == ("+862088886666", None, None, "landline", None)
    assert normalise_phone("(0755)88886666", allow_landline=False).issue == "landline_rejected"


def test_foreign_number_kept_in_e164():
    assert normalise_phone("+1 650-253-0000") == ("+16502530000", None, None, "foreign", None)


def test_missing_phone_is_not_an_issue():
    assert normalise_phone(None) == (None,) * 5
    assert normalise_phone("  ") == (None,) * 5


def test_phone_series_matches_scalar():
    frame = normalise_phone_series(pd.Series(["138****5678", None, "+86 138-1234-5678"]))
    assert frame["e164"].tolist() == [None, None, "+8613812345678"]
    assert frame["masked"].tolist() == [True, False, False]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_phone_never_raises_and_hash_input_is_e164(text):
    result = normalise_phone(text)
    assert result.e164 is None or result.e164.startswith("+")
    assert result.e164 is None or result.issue is None


# --- email / qq --------------------------------------------------------------------------------

def test_email_folded_and_lower_cased():
    assert normalise_email(" ＬＩＮＡ＠ＱＱ．ＣＯＭ ") == ("lina@qq.com", None, None)
    assert normalise_email("Li.Na@163.com")[0] == "li.na@163.com"
    assert normalise_email("lina@qq。com")[0] == "lina@qq.com"


def test_qq_mail_gives_qq_number():
    assert normalise_email("12345678@QQ.com") == ("12345678@qq.com", "12345678", None)


def test_gmail_dots_and_tags_ignored():
    assert normalise_email("Zhang.Wei+shop@gmail.com").email == "zhangwei@gmail.com"


@pytest.mark.parametrize("raw", ["test@test.com", "abc@example.com", "noreply@163.com", "123456@qq.com", "aaaa@126.com"])
def test_junk_email_flagged(raw):
    assert normalise_email(raw) == (None, None, "junk")


def test_invalid_email():
    assert normalise_email("not an email").issue == "invalid_format"


def test_qq_number_rules():
    assert normalise_qq("QQ：87654321") == ("87654321", None)
    assert normalise_qq(12345678) == ("12345678", None)
    assert normalise_qq("0123").issue == "invalid_format"
    assert normalise_qq("88888").issue == "junk"


# --- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw,surname,given,pinyin",
    [
        ("曾小贤", "曾", "小贤", "zeng xiaoxian"),
        ("欧阳娜娜", "欧阳", "娜娜", "ouyang nana"),
        ("单雄信", "单", "雄信", "shan xiongxin"),
        ("解缙", "解", "缙", "xie jin"),
        ("仇英", "仇", "英", "qiu ying"),
        ("区志强", "区", "志强", "ou zhiqiang"),
        ("朴树", "朴", "树", "piao shu"),
        ("查良镛", "查", "良镛", "zha liangyong"),
        ("乐嘉", "乐", "嘉", "yue jia"),
        ("尉迟恭", "尉迟", "恭", "yuchi gong"),
        ("诸葛亮", "诸葛", "亮", "zhuge liang"),
        ("司马懿", "司马", "懿", "sima yi"),
        ("长孙无忌", "长孙", "无忌", "zhangsun wuji"),
    ],
)
def test_surname_split_and_readings(raw, surname, given, pinyin):
    result = standardise_name(raw)
    assert (result.full_name, result.surname, result.given_name, result.name_pinyin) == (raw, surname, given, pinyin)


@pytest.mark.parametrize(
    "raw,full,surname,gender",
    [("宋小姐", "宋", "宋", "f"), ("王先生", "王", "王", "m"), ("李女士", "李", "李", "f"),
     ("张太太", "张", "张", "f"), ("陈老师", "陈", "陈", None), ("欧阳先生", "欧阳", "欧阳", "m"),
     ("张伟先生", "张伟", "张", "m"), ("王先生(VIP)", "王", "王", "m"), ("李总", "李", "李", None),
     ("小王", "王", "王", None), ("王某", "王", "王", None)],
)
def test_honorific_stripped_and_gender_implied(raw, full, surname, gender):
    result = standardise_name(raw)
    assert (result.full_name, result.surname, result.gender) == (full, surname, gender)


def test_traditional_to_simplified():
    assert standardise_name("陳大文")[:3] == ("陈大文", "陈", "大文")
    assert standardise_name("歐陽娜娜").surname == "欧阳"


def test_spaces_removed_and_junk_names():
    assert standardise_name("张 伟").full_name == "张伟"
    assert standardise_name("匿名") == (None,) * 8 + ("junk",)
    assert standardise_name("先生").issue == "honorific_only"


def test_latin_names_lower_cased_order_free():
    a, b = standardise_name("Wei ZHANG"), standardise_name("Zhang Wei")
    assert (a.full_name, a.name_pinyin) == ("weizhang", "wei zhang")
    assert a.name_tokens == b.name_tokens == standardise_name("张伟").name_tokens == "wei zhang"
    assert standardise_name("Smith, John")[1:3] == ("smith", "john")
    assert standardise_name("Mrs. José García")[0::7] == ("josegarcia", "f")


# --- nicknames ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw,nickname,pinyin,latin",
    [
        ("★小王子☆~", "小王子", "xiaowangzi", "xiaowangzi"),
        ("ZhangWei_1990", "zhangwei1990", "zhangwei1990", "zhangwei"),
        ("ｚｈａｎｇｗｅｉ１９９０", "zhangwei1990", "zhangwei1990", "zhangwei"),
        ("😀陳大文♡", "陈大文", "chendawen", "chendawen"),
        ("1990", "1990", "1990", None),
    ],
)
def test_nickname_rules(raw, nickname, pinyin, latin):
    assert standardise_nickname(raw) == (nickname, pinyin, latin, None)


def test_platform_default_nicknames_dropped():
    assert standardise_nickname("微信用户").issue == "default_name"
    assert standardise_nickname("用户58731234").nickname is None
    assert standardise_nickname("★☆~").issue == "no_text"


# --- birth dates -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw,parts",
    [
        ("1990-05-12", (1990, 5, 12)), ("1990/5/12 00:00:00", (1990, 5, 12)), ("19900512", (1990, 5, 12)),
        ("1990", (1990, None, None)), ("1990-05", (1990, 5, None)), ("--05-12", (None, 5, 12)),
        ("--05", (None, 5, None)), ("05-12", (None, 5, 12)), ("1990年5月", (1990, 5, None)),
        ("1990年5月12日", (1990, 5, 12)), ("5月12日", (None, 5, 12)), ("一九九〇年五月十二日", (1990, 5, 12)),
        ("１９９０－０５－１２", (1990, 5, 12)), ("7", (None, 7, None)), ("--02-29", (None, 2, 29)),
    ],
)
def test_birth_date_forms(raw, parts):
    assert parse_birth_date(raw, TODAY) == parts + (None,)


@pytest.mark.parametrize(
    "raw,issue",
    [("13", "invalid_month"), ("1990-13", "invalid_month"), ("1990-02-30", "invalid_day"),
     ("2027-01-01", "invalid_year"), ("2026-12-01", "future_date"), ("1899", "invalid_year"),
     ("1900-01-01", "placeholder"), ("soon", "invalid_format")],
)
def test_invalid_birth_date_is_null_with_reason(raw, issue):
    assert parse_birth_date(raw, TODAY) == (None, None, None, issue)


def test_crm_birth_month():
    assert parse_birth_month(5) == (None, 5, None, None)
    assert parse_birth_month("12") == (None, 12, None, None)
    assert parse_birth_month("13").issue == "invalid_month"


def test_birth_date_series_nullable_ints():
    frame = parse_birth_date_series(pd.Series(["1990-05", None, "bad"]), TODAY)
    assert frame["year"].dtype == "Int32"
    assert frame["month"].tolist()[0] == 5 and frame["month"].isna().tolist() == [False, True, True]
    assert frame["issue"].tolist() == [None, None, "invalid_format"]


# --- id numbers, gender ------------------------------------------------------------------------

def test_id_number_valid_and_upgraded():
    result = normalise_id_number("11010519491231002x", TODAY)
    assert result.id_number == "11010519491231002X"
    assert result.birth[:3] == (1949, 12, 31) and result.gender == "f"
    assert normalise_id_number("110105491231002", TODAY).id_number == "11010519491231002X"


@pytest.mark.parametrize(
    "raw,issue",
    [("110105194912310021", "bad_check_digit"), ("12345", "invalid_format"), ("111111111111111111", "junk")],
)
def test_id_number_rejected(raw, issue):
    assert normalise_id_number(raw, TODAY).issue == issue


def test_gender_codes():
    assert [normalise_gender(x) for x in ["男", "女", "M", "female", 1, 2, "0", "n", None]] == [
        "m", "f", "m", "f", "m", "f", None, None, None]


# --- geography ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "province,city,expected",
    [
        ("广东省", "广州市", ("广东", "广州", "44", None)),
        ("广东", "广州", ("广东", "广州", "44", None)),
        ("廣東", "廣州", ("广东", "广州", "44", None)),
        ("Guangdong", "Guangzhou", ("广东", "广州", "44", None)),
        (None, "深圳市", ("广东", "深圳", "44", None)),
        ("北京", "海淀区", ("北京", "北京", "11", None)),
        ("上海市", None, ("上海", "上海", "31", None)),
        ("广东 广州", None, ("广东", "广州", "44", None)),
        ("Shaanxi", "Xi'an", ("陕西", "西安", "61", None)),
        ("吉林省", "吉林市", ("吉林", "吉林", "22", None)),
        (None, "延边朝鲜族自治州", ("吉林", "延边", "22", None)),
        ("内蒙古自治区", "兴安盟", ("内蒙古", "兴安盟", "15", None)),
        ("其他", "其他", (None, None, None, None)),
        ("广东", "杭州", ("广东", "杭州", "44", "inconsistent_province_city")),
        ("浙江", "昆山", ("浙江", "昆山", "33", "unknown_city")),
    ],
)
def test_region_normalisation(province, city, expected):
    assert normalise_region(province, city) == expected


def test_location_free_text():
    assert parse_location("广东省广州市天河区体育西路")[:2] == ("广东", "广州")
    assert parse_location("中国 浙江 杭州")[:2] == ("浙江", "杭州")


def test_address_normalised():
    assert normalise_address("中国 广东省 广州市 天河区 体育西路 １０１号", "广东", "广州") == "天河区体育西路101号"
    assert normalise_address("廣州市天河區", "广东", "广州") == "天河区"
    assert normalise_address("深圳市南山区", "广东", "广州") == "深圳市南山区"


def test_postcode():
    assert normalise_postcode("５１００００") == ("510000", None)
    assert normalise_postcode(100101) == ("100101", None)
    assert normalise_postcode("51000") == (None, "invalid_format")
    assert normalise_postcode("000000") == (None, "junk")


# --- contacts in free text ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "bio,qq",
    [("合作请联系 QQ:12345678", ("12345678",)), ("扣扣 87654321 微信同号", ("87654321",)),
     ("加企鹅：2233445566", ("2233445566",)), ("Ｑ：５５６６７７８８", ("55667788",)),
     ("QQ群：56781234 欢迎加入", ()), ("订单号 12345678", ())],
)
def test_qq_found_with_context_only(bio, qq):
    assert extract_contacts(bio).qq == qq


def test_emails_and_phones_in_bio():
    found = extract_contacts("商务 zhangwei@163.com / 12345678@qq.com 电话 138-1234-5678 备用 139****4321")
    assert found.emails == ("zhangwei@163.com", "12345678@qq.com")
    assert found.qq == ("12345678",)
    assert found.phones == ("+8613812345678",)
    assert found.masked_phones == ("139****4321",)
    assert extract_contacts("订单号 2013812345678999").phones == ()


# --- hashing -----------------------------------------------------------------------------------

def test_hmac_is_keyed_and_stable():
    a = hmac_hex(KEY, "+8613812345678")
    assert a == hmac_hex(KEY, "+8613812345678") and len(a) == 64 and int(a, 16) >= 0
    assert a != hmac_hex(b"another-key-0123456789", "+8613812345678")
    assert hmac_hex(KEY, None) is None


def test_short_key_rejected():
    with pytest.raises(ValueError, match="at least 16"):
        check_key(b"short")
    with pytest.raises(TypeError):
        check_key("a string key of enough length")


# --- Spark column functions --------------------------------------------------------------------

def test_spark_column_functions(spark):
    from pyspark.sql import functions as F

    from transforms.standardise import spark_functions as sf

    df = spark.createDataFrame(
        [("+86 138-1234-5678", "宋小姐", "广东省", "广州市", "1990年5月", "QQ:12345678"),
         ("138****5678", "陳大文", None, "深圳", "--05", None)],
        "phone string, name string, province string, city string, birth string, bio string",
    ).coalesce(1)
    rows = df.select(
        sf.phone_struct("phone").alias("p"), sf.name_struct("name").alias("n"),
        sf.region_struct("province", "city").alias("r"), sf.birth_date_struct("birth", TODAY).alias("b"),
        sf.contacts_struct("bio").alias("c"), sf.hmac_sha256(F.lit("+8613812345678"), KEY).alias("h"),
    ).collect()
    assert [r.p.e164 for r in rows] == ["+8613812345678", None]
    assert [r.p.masked for r in rows] == [False, True]
    assert [(r.n.full_name, r.n.gender) for r in rows] == [("宋", "f"), ("陈大文", None)]
    assert [(r.r.province, r.r.city) for r in rows] == [("广东", "广州"), ("广东", "深圳")]
    assert [(r.b.year, r.b.month) for r in rows] == [(1990, 5), (None, 5)]
    assert rows[0].c.qq == ["12345678"] and rows[1].c.qq == []
    assert rows[0].h == hmac_hex(KEY, "+8613812345678")
