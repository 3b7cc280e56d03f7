"""One raw person record -> one standardised person record (the scalar core).

Both DataFrame versions (Spark ``mapInArrow`` and pandas) call ``standardise_person_record``
row by row, so the nightly pipeline and ``scim link`` give identical rows. The field
functions it calls are cached per process, so repeated values (surnames, cities, honorific
names) cost a dictionary look-up.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from transforms.standardise.contacts import extract_contacts
from transforms.standardise.dates import merge_birth_dates, parse_birth_date
from transforms.standardise.email import normalise_email
from transforms.standardise.gender import normalise_gender
from transforms.standardise.geo import normalise_address, normalise_postcode, normalise_region
from transforms.standardise.hashing import check_key, hmac_hex
from transforms.standardise.id_number import normalise_id_number
from transforms.standardise.names import standardise_name
from transforms.standardise.nickname import standardise_nickname
from transforms.standardise.phone import normalise_phone
from transforms.standardise.qq import normalise_qq
from transforms.standardise.text import clean, has_han

# The raw person record of the identity contract (docs/architecture.md).
REQUIRED_COLUMNS = ("source", "record_id")
OPTIONAL_COLUMNS = (
    "name", "nickname", "gender", "birth_date", "phone", "email", "id_number", "wechat_unionid",
    "wechat_openid", "qq", "province", "city", "address", "postcode",
)
# Accepted beyond the contract: free text whose contact details fill empty phone/email/qq.
EXTRA_INPUT_COLUMNS = ("bio",)
RAW_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + EXTRA_INPUT_COLUMNS

# The standardised person record: the contract columns, then helper columns for matching.
CONTRACT_COLUMNS = (
    "source", "record_id", "full_name", "surname", "given_name", "name_pinyin", "nickname", "gender",
    "birth_year", "birth_month", "birth_day", "phone_hash", "phone_prefix3", "phone_last4", "email_hash",
    "id_number_hash", "qq_hash", "wechat_unionid_hash", "wechat_openid_hash", "province", "city", "address",
    "postcode",
)
HELPER_COLUMNS = (
    "surname_pinyin", "given_pinyin", "name_tokens", "nickname_pinyin", "nickname_latin", "phone_type",
    "phone_masked", "province_code", "std_issues",
)
OUTPUT_COLUMNS = CONTRACT_COLUMNS + HELPER_COLUMNS
INT_COLUMNS = ("birth_year", "birth_month", "birth_day")
BOOL_COLUMNS = ("phone_masked",)

_PLATFORM_ID = re.compile(r"[A-Za-z0-9_\-=+/.]{6,64}")


def _platform_id(raw: object) -> tuple[str | None, str | None]:
    """WeChat openid / unionid: trimmed, case kept (they are case-sensitive)."""
    text = clean(raw)
    if text is None:
        return None, None
    if not _PLATFORM_ID.fullmatch(text):
        return None, "invalid_format"
    return text, None


def _in_china(region: Any, get: Any) -> bool:
    """A record is Chinese (six-digit postcodes) unless its place is given and is not: a
    province outside the Chinese table with no Chinese characters in province, city or address."""
    texts = [clean(get(c)) for c in ("province", "city", "address")]
    if region.province_code is not None or not any(texts):
        return True
    return any(has_han(t) for t in texts if t)


def standardise_person_record(
    record: Mapping[str, Any], hmac_key: bytes, today: dt.date, allow_landline: bool = True
) -> dict[str, Any]:
    """Standardise one raw person record (missing keys count as null).

    Returns a dict with exactly ``OUTPUT_COLUMNS``. Raw identifiers are only present as
    HMAC-SHA256 hex digests of their normalised form. ``std_issues`` lists, as
    ``field:reason`` separated by ``;``, every input value that was present but dropped or
    doubted. ``hmac_key`` must already be checked (``hashing.check_key``).
    """
    issues: list[str] = []

    def note(field: str, issue: str | None) -> None:
        if issue:
            issues.append(f"{field}:{issue}")

    get = record.get
    name = standardise_name(get("name"))
    note("name", name.issue)
    nick = standardise_nickname(get("nickname"))
    note("nickname", nick.issue)
    idn = normalise_id_number(get("id_number"), today)
    note("id_number", idn.issue)

    given_gender = normalise_gender(get("gender"))
    if given_gender and name.gender and given_gender != name.gender:
        note("gender", "conflicts_with_honorific")
    gender = given_gender or name.gender or idn.gender

    birth = parse_birth_date(get("birth_date"), today)
    note("birth_date", birth.issue)
    birth = merge_birth_dates(birth._replace(issue=None), idn.birth)
    note("birth_date", birth.issue)

    contacts = extract_contacts(get("bio")) if get("bio") is not None else None
    phone = normalise_phone(get("phone"), allow_landline)
    note("phone", phone.issue)
    if contacts and phone.e164 is None:  # a full number in the bio beats a masked or missing one
        if contacts.phones:
            phone = normalise_phone(contacts.phones[0], allow_landline)
        elif contacts.masked_phones and not phone.masked:
            phone = normalise_phone(contacts.masked_phones[0], allow_landline)
    email = normalise_email(get("email"))
    note("email", email.issue)
    if contacts and email.email is None and contacts.emails:
        email = normalise_email(contacts.emails[0])
    qq = normalise_qq(get("qq"))
    note("qq", qq.issue)
    qq_value = qq.qq or email.qq or (contacts.qq[0] if contacts and contacts.qq else None)

    unionid, issue = _platform_id(get("wechat_unionid"))
    note("wechat_unionid", issue)
    openid, issue = _platform_id(get("wechat_openid"))
    note("wechat_openid", issue)

    region = normalise_region(get("province"), get("city"))
    note("region", region.issue)
    postcode, issue = normalise_postcode(get("postcode"), _in_china(region, get))
    note("postcode", issue)

    return {
        "source": None if get("source") is None else str(get("source")),
        "record_id": None if get("record_id") is None else str(get("record_id")),
        "full_name": name.full_name,
        "surname": name.surname,
        "given_name": name.given_name,
        "name_pinyin": name.name_pinyin,
        "nickname": nick.nickname,
        "gender": gender,
        "birth_year": birth.year,
        "birth_month": birth.month,
        "birth_day": birth.day,
        "phone_hash": hmac_hex(hmac_key, phone.e164),
        "phone_prefix3": phone.prefix3,
        "phone_last4": phone.last4,
        "email_hash": hmac_hex(hmac_key, email.email),
        "id_number_hash": hmac_hex(hmac_key, idn.id_number),
        "qq_hash": hmac_hex(hmac_key, qq_value),
        "wechat_unionid_hash": hmac_hex(hmac_key, unionid),
        "wechat_openid_hash": hmac_hex(hmac_key, openid),
        "province": region.province,
        "city": region.city,
        "address": normalise_address(get("address"), region.province, region.city),
        "postcode": postcode,
        "surname_pinyin": name.surname_pinyin,
        "given_pinyin": name.given_pinyin,
        "name_tokens": name.name_tokens,
        "nickname_pinyin": nick.nickname_pinyin,
        "nickname_latin": nick.nickname_latin,
        "phone_type": phone.kind,
        "phone_masked": phone.masked,
        "province_code": region.province_code,
        "std_issues": ";".join(issues) or None,
    }


def standardise_person_rows(
    rows: Iterable[Mapping[str, Any]], hmac_key: bytes, today: dt.date, allow_landline: bool = True
) -> Iterator[dict[str, Any]]:
    """``standardise_person_record`` over many rows (the key is checked once)."""
    key = check_key(hmac_key)
    for row in rows:
        yield standardise_person_record(row, key, today, allow_landline)
