"""E-mail addresses: folded, lower-cased, validated; QQ mail reveals a QQ number.

Rules: width folding (ａｂｃ＠ｑｑ．ｃｏｍ), ``。`` -> ``.``, spaces and a ``mailto:`` prefix
removed, lower-case; Gmail addresses lose dots and ``+tag`` in the local part (Gmail
ignores them); a numeric local part at qq.com / vip.qq.com is also returned as a QQ
number; placeholders (test@test.com, anything @example.com, local parts such as
``test``, ``noreply``, ``123456``, one repeated character) are flagged ``junk`` and not returned.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import pandas as pd

from transforms.standardise.qq import is_junk_qq, normalise_qq
from transforms.standardise.text import all_same, clean

EMAIL_PATTERN = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,24}")
QQ_MAIL_DOMAINS = frozenset({"qq.com", "vip.qq.com"})
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
JUNK_DOMAINS = frozenset(
    {"example.com", "example.org", "example.net", "test.com", "test.cn", "xxx.com", "aaa.com", "abc.com",
     "123.com", "demo.com", "localhost", "email.com", "mail.com.cn.invalid", "none.com", "null.com"}
)
JUNK_LOCAL = frozenset(
    {"test", "tester", "testing", "none", "null", "nil", "na", "noreply", "no-reply", "donotreply",
     "admin", "user", "xxx", "aaa", "abc", "asdf", "qwerty", "example", "email", "mail", "unknown", "nobody"}
)


class EmailResult(NamedTuple):
    """``email`` is the normalised address to hash; ``qq`` the QQ number of a numeric
    qq.com address; ``issue`` a reason code (``invalid_format``, ``junk``)."""

    email: str | None = None
    qq: str | None = None
    issue: str | None = None


EMPTY = EmailResult()
FIELDS = EmailResult._fields


def _is_junk(local: str, domain: str) -> bool:
    if domain in JUNK_DOMAINS or local in JUNK_LOCAL:
        return True
    bare = local.replace(".", "")
    return all_same(bare) or (bare.isdigit() and is_junk_qq(bare))


@functools.lru_cache(maxsize=200_000)
def normalise_email(raw: object) -> EmailResult:
    """Standardise one e-mail address. Missing input gives an all-None result."""
    text = clean(raw)
    if text is None:
        return EMPTY
    text = text.replace(" ", "").lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:"):]
    text = text.strip("<>\"'.,;")
    if not EMAIL_PATTERN.fullmatch(text) or ".." in text:
        return EmailResult(issue="invalid_format")
    local, domain = text.rsplit("@", 1)
    if _is_junk(local, domain):
        return EmailResult(issue="junk")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    qq = normalise_qq(local).qq if domain in QQ_MAIL_DOMAINS and local.isdigit() else None
    return EmailResult(email=f"{local}@{domain}", qq=qq)


def normalise_email_series(values: pd.Series) -> pd.DataFrame:
    """Vectorised ``normalise_email``: one row per input, columns ``email``, ``qq``, ``issue``."""
    rows = [normalise_email(None if v is None or v != v else v) for v in values.astype("object")]
    return pd.DataFrame(rows, columns=list(FIELDS), index=values.index).astype("object")
