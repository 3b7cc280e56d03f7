"""Spark column functions over the same scalar core (pandas_udf, Arrow batches).

For ingestion code that needs one field standardised inside a larger ``select``. To
standardise whole person records use ``transforms.person_records`` (one Arrow pass over all
columns is cheaper than one UDF per column). Every function returns a ``Column``; struct
results are taken apart with ``.getField`` or ``col.*``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from transforms.standardise.contacts import extract_contacts_series
from transforms.standardise.dates import parse_birth_date_series
from transforms.standardise.email import normalise_email_series
from transforms.standardise.geo import normalise_address, normalise_region_frame
from transforms.standardise.hashing import check_key, hmac_series
from transforms.standardise.names import standardise_name_series
from transforms.standardise.nickname import standardise_nickname_series
from transforms.standardise.phone import normalise_phone_series
from transforms.standardise.text import to_simplified

_S = T.StringType()


def _struct(*names: str, types: dict[str, T.DataType] | None = None) -> T.StructType:
    types = types or {}
    return T.StructType([T.StructField(n, types.get(n, _S), True) for n in names])


PHONE_TYPE = _struct("e164", "prefix3", "last4", "kind", "issue", "masked", types={"masked": T.BooleanType()})
EMAIL_TYPE = _struct("email", "qq", "issue")
NAME_TYPE = _struct(
    "full_name", "surname", "given_name", "name_pinyin", "surname_pinyin", "given_pinyin", "name_tokens",
    "gender", "issue",
)
NICKNAME_TYPE = _struct("nickname", "nickname_pinyin", "nickname_latin", "issue")
BIRTH_TYPE = _struct("year", "month", "day", "issue", types={k: T.IntegerType() for k in ("year", "month", "day")})
REGION_TYPE = _struct("province", "city", "province_code", "issue")
CONTACTS_TYPE = _struct(
    "qq", "emails", "phones", "masked_phones",
    types={k: T.ArrayType(_S) for k in ("qq", "emails", "phones", "masked_phones")},
)


def phone_struct(col: Column | str, allow_landline: bool = True) -> Column:
    """``normalise_phone`` as a struct column (e164, prefix3, last4, kind, issue, masked)."""

    @F.pandas_udf(PHONE_TYPE)
    def udf(values: pd.Series) -> pd.DataFrame:
        return normalise_phone_series(values, allow_landline)

    return udf(F.col(col) if isinstance(col, str) else col)


@F.pandas_udf(EMAIL_TYPE)
def _email(values: pd.Series) -> pd.DataFrame:
    return normalise_email_series(values)


@F.pandas_udf(NAME_TYPE)
def _name(values: pd.Series) -> pd.DataFrame:
    return standardise_name_series(values)


@F.pandas_udf(NICKNAME_TYPE)
def _nickname(values: pd.Series) -> pd.DataFrame:
    return standardise_nickname_series(values)


@F.pandas_udf(REGION_TYPE)
def _region(provinces: pd.Series, cities: pd.Series) -> pd.DataFrame:
    return normalise_region_frame(provinces, cities)


@F.pandas_udf(CONTACTS_TYPE)
def _contacts(values: pd.Series) -> pd.DataFrame:
    return extract_contacts_series(values)


@F.pandas_udf(_S)
def _simplified(values: pd.Series) -> pd.Series:
    return values.map(lambda v: to_simplified(v) if isinstance(v, str) else None)


def _c(col: Column | str) -> Column:
    return F.col(col) if isinstance(col, str) else col


def email_struct(col: Column | str) -> Column:
    """``normalise_email`` as a struct column (email, qq, issue)."""
    return _email(_c(col).cast("string"))


def name_struct(col: Column | str) -> Column:
    """``standardise_name`` as a struct column (the ``NameResult`` fields)."""
    return _name(_c(col).cast("string"))


def nickname_struct(col: Column | str) -> Column:
    """``standardise_nickname`` as a struct column (nickname, nickname_pinyin, nickname_latin, issue)."""
    return _nickname(_c(col).cast("string"))


def region_struct(province: Column | str, city: Column | str) -> Column:
    """``normalise_region`` as a struct column (province, city, province_code, issue)."""
    return _region(_c(province).cast("string"), _c(city).cast("string"))


def contacts_struct(col: Column | str) -> Column:
    """``extract_contacts`` as a struct of string arrays (qq, emails, phones, masked_phones)."""
    return _contacts(_c(col).cast("string"))


def simplified(col: Column | str) -> Column:
    """Traditional -> simplified Chinese (OpenCC t2s)."""
    return _simplified(_c(col).cast("string"))


def birth_date_struct(col: Column | str, today: dt.date | None = None) -> Column:
    """``parse_birth_date`` as a struct column (year, month, day, issue); ``today`` fixed on the driver."""
    today = today or dt.date.today()

    @F.pandas_udf(BIRTH_TYPE)
    def udf(values: pd.Series) -> pd.DataFrame:
        return parse_birth_date_series(values, today)

    return udf(_c(col).cast("string"))


def address_col(address: Column | str, province: Column | str, city: Column | str) -> Column:
    """``normalise_address`` given the record's standard province and city."""

    @F.pandas_udf(_S)
    def udf(a: pd.Series, p: pd.Series, c: pd.Series) -> pd.Series:
        return pd.Series(
            [normalise_address(x, y if isinstance(y, str) else None, z if isinstance(z, str) else None)
             for x, y, z in zip(a, p, c)],
            index=a.index, dtype="object",
        )

    return udf(_c(address).cast("string"), _c(province).cast("string"), _c(city).cast("string"))


def hmac_sha256(col: Column | str, hmac_key: bytes) -> Column:
    """HMAC-SHA256 hex of an already normalised string column under ``hmac_key`` (null stays null)."""
    key = check_key(hmac_key)

    @F.pandas_udf(_S)
    def udf(values: pd.Series) -> pd.Series:
        return hmac_series(key, values)

    return udf(_c(col).cast("string"))
