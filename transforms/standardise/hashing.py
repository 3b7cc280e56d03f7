"""Identifier pseudonymisation: HMAC-SHA256 of a normalised value, hex-encoded.

One function for the whole project, so that a phone hashed in silver, in the matcher and in
``scim link`` gives the same key. The key is always passed in (from
``settings.hmac_key_bytes()``); nothing here reads configuration or keeps a global key.
Callers hash the *normalised* value (E.164 phone, lower-case email, 18-character id
number, QQ digits, WeChat ids as given), never raw input.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import pandas as pd

MIN_KEY_BYTES = 16


def check_key(key: bytes) -> bytes:
    """Return ``key`` if it is usable, else raise ValueError saying how to fix it."""
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"HMAC key must be bytes (settings.hmac_key_bytes()), got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"HMAC key is {len(key)} bytes; use at least {MIN_KEY_BYTES} random bytes (SCIM_HMAC_KEY)"
        )
    return bytes(key)


def hmac_hex(key: bytes, value: str | None) -> str | None:
    """HMAC-SHA256 of ``value`` (UTF-8) under ``key`` as 64 lower-case hex characters; None stays None.

    ``value`` must already be normalised; this function does not clean it.
    """
    if value is None:
        return None
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def hmac_many(key: bytes, values: Iterable[str | None]) -> list[str | None]:
    """``hmac_hex`` over an iterable (the key is checked once)."""
    key = check_key(key)
    return [hmac_hex(key, v) for v in values]


def hmac_series(key: bytes, values: pd.Series) -> pd.Series:
    """Vectorised ``hmac_hex`` over a pandas Series of normalised strings (nulls stay null)."""
    key = check_key(key)
    out = [None if v is None or (isinstance(v, float) and v != v) else hmac_hex(key, str(v)) for v in values]
    return pd.Series(out, index=values.index, dtype="object")
