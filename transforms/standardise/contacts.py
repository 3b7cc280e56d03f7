"""Contact details hidden in bios and other free text: QQ numbers, e-mails, phones.

A QQ number is only taken with context (``QQ``, ``扣扣``, ``企鹅``, ``Q:``), because bare
digit runs are usually something else; ``QQ群`` (a group, not a person) is skipped. A
numeric qq.com address also yields its QQ number. Phones are China mobiles, full or masked,
with optional +86 and separators, not embedded in a longer digit run.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd

from transforms.standardise.email import normalise_email
from transforms.standardise.phone import normalise_phone
from transforms.standardise.qq import normalise_qq
from transforms.standardise.text import clean, to_simplified

_QQ = re.compile(r"(?:qq|扣扣|企鹅|q\s*q|\bq)(?!\s*群)\s*(?:号码|号)?\s*[:：=]?\s*([1-9]\d{4,10})(?!\d)", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"(?<![\d*])(?:\+?86[\s-]?)?(1[3-9]\d[\s-]?(?:\d{4}|\*{4}|[xX]{4})[\s-]?\d{4})(?![\d*])")


class Contacts(NamedTuple):
    """Normalised contact details found in a text, in order of appearance, without duplicates.

    ``phones`` holds E.164 numbers; ``masked_phones`` holds masked ones as written
    (``138****5678``) so they can be standardised with ``normalise_phone``.
    """

    qq: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    masked_phones: tuple[str, ...] = ()


EMPTY = Contacts()


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


@functools.lru_cache(maxsize=100_000)
def extract_contacts(raw: object) -> Contacts:
    """Find QQ numbers, e-mails and phones in free text (a bio, a remark)."""
    text = clean(raw)
    if text is None:
        return EMPTY
    text = to_simplified(text)
    emails, qqs, phones, masked = [], [], [], []
    for match in _EMAIL.finditer(text):
        result = normalise_email(match.group(0))
        if result.email:
            emails.append(result.email)
        if result.qq:
            qqs.append(result.qq)
    without_emails = _EMAIL.sub(" ", text)
    for match in _QQ.finditer(without_emails):
        qq = normalise_qq(match.group(1)).qq
        if qq:
            qqs.append(qq)
    for match in _PHONE.finditer(without_emails):
        result = normalise_phone(match.group(1))
        if result.e164:
            phones.append(result.e164)
        elif result.masked and result.prefix3 and result.last4:
            masked.append(f"{result.prefix3}****{result.last4}")
    return Contacts(_unique(qqs), _unique(emails), _unique(phones), _unique(masked))


def extract_contacts_series(values: pd.Series) -> pd.DataFrame:
    """Vectorised ``extract_contacts``: list-valued columns ``qq``, ``emails``, ``phones``, ``masked_phones``."""
    rows = [extract_contacts(None if v is None or v != v else v) for v in values.astype("object")]
    return pd.DataFrame(
        [[list(field) for field in row] for row in rows], columns=list(Contacts._fields), index=values.index
    )
