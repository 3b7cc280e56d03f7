"""Partition values: their string form in the Delta log, their directory names, and the
``replace_where`` predicates evaluated against them.

``replace_where`` is evaluated here on partition values only (the files of the matching
partitions are removed in the same commit that adds the new files). The grammar is the
SQL subset such predicates use: ``col = lit``, ``col != lit``, ``<``, ``<=``, ``>``, ``>=``,
``col IN (lit, ...)``, ``col NOT IN (...)``, ``col IS [NOT] NULL``, ``AND``, ``OR``, ``NOT``,
parentheses; literals ``'text'``, numbers, ``true``/``false``, ``DATE 'yyyy-mm-dd'``,
``TIMESTAMP '...'``. A predicate on a non-partition column raises
:class:`UnsupportedPredicate` (removing whole files for it would delete rows it does not match).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
# Characters Spark escapes in partition directory names (ExternalCatalogUtils.escapePathName).
_ESCAPE = set('"#%\'*/:=?\\\x7f{[]^') | {chr(i) for i in range(0x20)}


class UnsupportedPredicate(ValueError):
    """A replace_where predicate this writer cannot apply exactly."""


# -- values -------------------------------------------------------------------------------
def to_partition_string(value: Any) -> str | None:
    """The Delta-log string of a partition value (``None`` for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def escape_path(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPE else c for c in value)


def partition_dir(columns: list[str], values: Mapping[str, str | None]) -> str:
    """``col=value/...`` directory (Hive style) for one partition."""
    parts = []
    for c in columns:
        v = values[c]
        parts.append(f"{escape_path(c)}={HIVE_NULL if v is None else escape_path(v)}")
    return "/".join(parts)


def _parse_ts(s: str) -> dt.datetime:
    s = s.strip().replace("T", " ").rstrip("Z")
    value = dt.datetime.fromisoformat(s)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(tzinfo=dt.timezone.utc)


def converter(delta_type: Any) -> Callable[[str], Any]:
    """String -> Python value for a Delta primitive type name (as in the schema JSON)."""
    t = str(delta_type)
    if t in ("byte", "short", "integer", "long"):
        return int
    if t in ("float", "double"):
        return float
    if t.startswith("decimal"):
        return decimal.Decimal
    if t == "boolean":
        return lambda s: s.strip().lower() == "true"
    if t == "date":
        return lambda s: dt.date.fromisoformat(s.strip()[:10])
    if t in ("timestamp", "timestamp_ntz"):
        return _parse_ts
    return str


def typed_values(raw: Mapping[str, str | None], types: Mapping[str, Any]) -> dict[str, Any]:
    return {c: (None if v is None else converter(types[c])(v)) for c, v in raw.items()}


# -- predicates -----------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|<>|!=|==|=|<|>|\(|\)|,)"
    r"|(?P<qid>`[^`]+`)|(?P<id>[A-Za-z_][A-Za-z0-9_]*))"
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE", "DATE", "TIMESTAMP"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise UnsupportedPredicate(f"replace_where {text!r}: cannot parse near {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(_Tok("lit", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("num") is not None:
            n = m.group("num")
            out.append(_Tok("lit", decimal.Decimal(n) if "." in n else int(n)))
        elif m.group("op") is not None:
            out.append(_Tok("op", "=" if m.group("op") == "==" else ("!=" if m.group("op") == "<>" else m.group("op"))))
        elif m.group("qid") is not None:
            out.append(_Tok("id", m.group("qid")[1:-1]))
        else:
            word = m.group("id")
            out.append(_Tok("kw", word.upper()) if word.upper() in _KEYWORDS else _Tok("id", word))
    return out


class Predicate:
    """A parsed replace_where predicate over partition columns."""

    def __init__(self, text: str, column_types: Mapping[str, Any]):
        self.text = text
        self._types = dict(column_types)
        self._toks = _tokens(text)
        self._i = 0
        self.columns: set[str] = set()
        self._fn = self._or()
        if self._i != len(self._toks):
            raise UnsupportedPredicate(f"replace_where {text!r}: unexpected {self._toks[self._i].value!r}")

    def __call__(self, values: Mapping[str, Any]) -> bool:
        """True when a partition with these typed values matches (SQL: null never matches)."""
        return self._fn(values) is True

    # recursive descent --------------------------------------------------------------------
    def _peek(self) -> _Tok | None:
        return self._toks[self._i] if self._i < len(self._toks) else None

    def _take(self, kind: str | None = None, value: Any = None) -> _Tok:
        tok = self._peek()
        if tok is None or (kind and tok.kind != kind) or (value is not None and tok.value != value):
            want = value or kind
            raise UnsupportedPredicate(f"replace_where {self.text!r}: expected {want}, found {tok.value if tok else 'end'!r}")
        self._i += 1
        return tok

    def _is(self, kind: str, value: Any) -> bool:
        tok = self._peek()
        return tok is not None and tok.kind == kind and tok.value == value

    def _or(self) -> Callable:
        parts = [self._and()]
        while self._is("kw", "OR"):
            self._take()
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda v: True if any(p(v) is True for p in parts) else (None if any(p(v) is None for p in parts) else False)

    def _and(self) -> Callable:
        parts = [self._not()]
        while self._is("kw", "AND"):
            self._take()
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        return lambda v: False if any(p(v) is False for p in parts) else (None if any(p(v) is None for p in parts) else True)

    def _not(self) -> Callable:
        if self._is("kw", "NOT"):
            self._take()
            inner = self._not()
            return lambda v: None if inner(v) is None else not inner(v)
        if self._is("op", "("):
            self._take()
            inner = self._or()
            self._take("op", ")")
            return inner
        return self._comparison()

    def _literal(self, column: str) -> Any:
        tok = self._peek()
        if tok is not None and tok.kind == "kw" and tok.value in ("DATE", "TIMESTAMP"):
            self._take()
        tok = self._take()
        if tok.kind == "kw" and tok.value in ("TRUE", "FALSE"):
            return tok.value == "TRUE"
        if tok.kind != "lit":
            raise UnsupportedPredicate(
                f"replace_where {self.text!r}: only literals may be compared with {column}, found {tok.value!r}"
            )
        try:
            return converter(self._types[column])(str(tok.value))
        except (ValueError, ArithmeticError) as exc:
            raise UnsupportedPredicate(
                f"replace_where {self.text!r}: {tok.value!r} is not a valid {self._types[column]} for {column}"
            ) from exc

    def _comparison(self) -> Callable:
        col_tok = self._take("id")
        col = col_tok.value
        if col not in self._types:
            raise UnsupportedPredicate(
                f"replace_where {self.text!r} uses column {col!r}, which is not a partition column "
                f"{sorted(self._types)}; the delta-rs writer replaces whole partitions only. Use a predicate on "
                f"partition columns, or lake.delete(...) followed by an append, or lake.merge(...)"
            )
        self.columns.add(col)
        if self._is("kw", "IS"):
            self._take()
            negate = self._is("kw", "NOT")
            if negate:
                self._take()
            self._take("kw", "NULL")
            return (lambda v: v.get(col) is not None) if negate else (lambda v: v.get(col) is None)
        negate = self._is("kw", "NOT")
        if negate:
            self._take()
        if self._is("kw", "IN"):
            self._take()
            self._take("op", "(")
            options = [self._literal(col)]
            while self._is("op", ","):
                self._take()
                options.append(self._literal(col))
            self._take("op", ")")
            options_set = set(options)

            def _in(v: Mapping[str, Any]) -> bool | None:
                x = v.get(col)
                return None if x is None else ((x in options_set) != negate)

            return _in
        if negate:
            raise UnsupportedPredicate(f"replace_where {self.text!r}: NOT must be followed by IN here")
        op = self._take("op").value
        lit = self._literal(col)
        ops = {
            "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
            "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        }
        if op not in ops:
            raise UnsupportedPredicate(f"replace_where {self.text!r}: unsupported operator {op!r}")
        fn = ops[op]
        return lambda v: None if v.get(col) is None else fn(v[col], lit)
