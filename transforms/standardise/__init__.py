"""Standardisation of person attributes: pure functions, one scalar core, three front ends.

Scalar functions (one value in, a NamedTuple out) live in small modules; each has a
vectorised pandas version (``*_series``) and a Spark column version
(``transforms.standardise.spark_functions``). Whole person records:
``transforms.person_records``. Every rule is listed in docs/standardisation.md.
"""

from transforms.standardise.contacts import Contacts, extract_contacts, extract_contacts_series
from transforms.standardise.dates import (
    BirthDate,
    merge_birth_dates,
    parse_birth_date,
    parse_birth_date_series,
    parse_birth_month,
)
from transforms.standardise.email import EmailResult, normalise_email, normalise_email_series
from transforms.standardise.gender import normalise_gender
from transforms.standardise.geo import (
    Region,
    normalise_address,
    normalise_postcode,
    normalise_region,
    normalise_region_frame,
    parse_location,
)
from transforms.standardise.hashing import check_key, hmac_hex, hmac_many, hmac_series
from transforms.standardise.id_number import IdNumberResult, normalise_id_number
from transforms.standardise.names import NameResult, standardise_name, standardise_name_series
from transforms.standardise.nickname import NicknameResult, standardise_nickname, standardise_nickname_series
from transforms.standardise.phone import PhoneResult, normalise_phone, normalise_phone_series
from transforms.standardise.pinyin import surname_pinyin, to_pinyin
from transforms.standardise.qq import QQResult, normalise_qq
from transforms.standardise.record import standardise_person_record
from transforms.standardise.text import clean, fold_width, to_simplified

__all__ = [
    "BirthDate", "Contacts", "EmailResult", "IdNumberResult", "NameResult", "NicknameResult", "PhoneResult",
    "QQResult", "Region", "check_key", "clean", "extract_contacts", "extract_contacts_series", "fold_width",
    "hmac_hex", "hmac_many", "hmac_series", "merge_birth_dates", "normalise_address", "normalise_email",
    "normalise_email_series", "normalise_gender", "normalise_id_number", "normalise_phone",
    "normalise_phone_series", "normalise_postcode", "normalise_qq", "normalise_region", "normalise_region_frame",
    "parse_birth_date", "parse_birth_date_series", "parse_birth_month", "parse_location", "standardise_name",
    "standardise_name_series", "standardise_nickname", "standardise_nickname_series", "standardise_person_record",
    "surname_pinyin", "to_pinyin", "to_simplified",
]
