"""Suites as data: a small declarative spec per table becomes a list of checks.

A *check* is one expectation with a stable name and a severity:

* ``ERROR``: the table must not be used downstream while the check fails (a blocking
  Dagster asset check);
* ``WARN``: the table is usable; an operator should look.

A table's spec is a plain mapping (it loads from YAML as well), for example::

    {
        "columns": ["order_id", "line_no", "amount", "order_time"],   # must be present
        "keys": ["order_id", "line_no"],          # each not null, unique together
        "not_null": ["customer_id"],              # or {"customer_id": 0.99} (share that must be filled)
        "unique": ["email_hash"],                 # each column unique on its own
        "value_sets": {"channel": ["store", "online"]},   # nulls pass; add a not_null for them
        "ranges": {"amount": [0, None], "p": {"min": 0, "max": 1, "mostly": 0.99}},
        "pairs": [{"a": "end_date", "b": "start_date", "or_equal": True}],   # a > b (or >=)
        "row_count": {"min": 1},
        "freshness": {"column": "batch_date", "max_age_days": 2},
        "reconciliation": {"input": "input_records",
                           "outputs": ["written_records", "quarantined_records"]},
        "ratios": {"quarantine_share": {"numerator": "quarantined_records",
                                        "denominator": "input_records", "max": 0.05}},
        "link_rate": {"cluster": "customer_key", "source": "source", "min": 0.05, "max": 0.95},
        "severity": {"in_set_gender": "WARN", "range": "ERROR"},   # by check name or by kind
    }

Checks that cannot be stated on the raw columns (reconciliation, ratios, link rate,
freshness) are computed in Spark as ``_dq_*`` columns by :meth:`Suite.prepare` and then
validated by an ordinary GX expectation on that column, so every check still runs in GX
and shows in Data Docs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampNTZType, TimestampType

DERIVED_PREFIX = "_dq_"
DEFAULT_TIMEZONE = "Asia/Shanghai"


class Severity(str, Enum):
    """What a failing check means for downstream work."""

    ERROR = "ERROR"  # blocks downstream assets
    WARN = "WARN"  # reported, does not block


class Kind(str, Enum):
    """The kinds of check a spec can declare."""

    SCHEMA = "schema"
    ROW_COUNT = "row_count"
    NOT_NULL = "not_null"
    UNIQUE = "unique"
    VALUE_SET = "value_set"
    RANGE = "range"
    PAIR = "pair"
    RECONCILIATION = "reconciliation"
    RATIO = "ratio"
    LINK_RATE = "link_rate"
    FRESHNESS = "freshness"


# Spec keys that map to one kind each (used for "severity by kind" overrides).
_SPEC_KEY_KIND = {
    "columns": Kind.SCHEMA,
    "schema": Kind.SCHEMA,
    "row_count": Kind.ROW_COUNT,
    "not_null": Kind.NOT_NULL,
    "keys": Kind.UNIQUE,
    "unique": Kind.UNIQUE,
    "value_sets": Kind.VALUE_SET,
    "value_set": Kind.VALUE_SET,
    "ranges": Kind.RANGE,
    "range": Kind.RANGE,
    "pairs": Kind.PAIR,
    "pair": Kind.PAIR,
    "reconciliation": Kind.RECONCILIATION,
    "ratios": Kind.RATIO,
    "ratio": Kind.RATIO,
    "link_rate": Kind.LINK_RATE,
    "freshness": Kind.FRESHNESS,
}
_KNOWN_SPEC_KEYS = set(_SPEC_KEY_KIND) - {"schema", "value_set", "range", "pair", "ratio"} | {"severity", "description"}

#: Default severity of each kind; a layer module passes its own (bronze is lenient).
DEFAULT_SEVERITY: Mapping[Kind, Severity] = {
    Kind.SCHEMA: Severity.ERROR,
    Kind.ROW_COUNT: Severity.ERROR,
    Kind.NOT_NULL: Severity.ERROR,
    Kind.UNIQUE: Severity.ERROR,
    Kind.VALUE_SET: Severity.ERROR,
    Kind.RANGE: Severity.ERROR,
    Kind.PAIR: Severity.ERROR,
    Kind.RECONCILIATION: Severity.ERROR,
    Kind.RATIO: Severity.WARN,
    Kind.LINK_RATE: Severity.WARN,
    Kind.FRESHNESS: Severity.WARN,
}


class SpecError(ValueError):
    """A table spec is malformed; the message names the table, the key and the fix."""


@dataclass(frozen=True)
class Check:
    """One expectation: a stable ``name`` (valid as a Dagster check name), its kind,
    severity, the column it is about (if any), its parameters and a one-line description."""

    name: str
    kind: Kind
    severity: Severity
    description: str
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def derived_column(self) -> str | None:
        """The ``_dq_*`` column this check validates, when it needs one."""
        if self.kind in (Kind.RECONCILIATION, Kind.RATIO, Kind.LINK_RATE, Kind.FRESHNESS):
            return DERIVED_PREFIX + self.name
        return None

    @property
    def source_columns(self) -> tuple[str, ...]:
        """The table columns this check reads."""
        p = self.params
        if self.kind == Kind.SCHEMA:
            return ()
        if self.kind == Kind.UNIQUE:
            return tuple(p["columns"])
        if self.kind == Kind.PAIR:
            return (p["a"], p["b"])
        if self.kind == Kind.RECONCILIATION:
            return (p["input"], *p["outputs"])
        if self.kind == Kind.RATIO:
            return (p["numerator"], p["denominator"])
        if self.kind == Kind.LINK_RATE:
            return (p["cluster"], p["source"])
        return (self.column,) if self.column else ()


@dataclass(frozen=True)
class Suite:
    """The checks of one table (lake-relative name such as ``silver/orders``)."""

    name: str
    table: str
    checks: tuple[Check, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for check in self.checks:
            if check.name in seen:
                raise SpecError(f"suite {self.name}: two checks are named {check.name!r}; rename one")
            seen.add(check.name)

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError naming the known checks otherwise)."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"suite {self.name} has no check {name!r}; known: {[c.name for c in self.checks]}")

    def with_checks(self, *checks: Check) -> "Suite":
        """A copy of this suite with ``checks`` added or (same name) replaced."""
        by_name = {c.name: c for c in self.checks}
        by_name.update({c.name: c for c in checks})
        return Suite(self.name, self.table, tuple(by_name.values()))

    def only(self, *names: str) -> "Suite":
        """A copy holding only the named checks (e.g. to validate a subset quickly)."""
        return Suite(self.name, self.table, tuple(self.check(n) for n in names))

    def prepare(
        self,
        df: DataFrame,
        run_date: dt.date,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> DataFrame:
        """``df`` plus one ``_dq_*`` column per computed check (reconciliation gap, ratio,
        linked flag, age in days). A computed column whose inputs are missing is left out,
        so its expectation fails with a "column not found" error instead of Spark raising."""
        types = {f.name: f.dataType for f in df.schema.fields}
        extra: list[Column] = []
        for check in self.checks:
            target = check.derived_column
            if target is None or not set(check.source_columns) <= set(types):
                continue
            is_ts = isinstance(types.get(check.column or ""), (TimestampType, TimestampNTZType))
            extra.append(_derive(check, run_date, timezone, is_ts).alias(target))
        return df.select("*", *extra) if extra else df


def _derive(check: Check, run_date: dt.date, timezone: str, is_timestamp: bool = False) -> Column:
    p = check.params
    if check.kind == Kind.RECONCILIATION:
        # Nulls count as 0 here; the spec's not-null checks on these columns catch them.
        outputs = sum((F.coalesce(F.col(c), F.lit(0)) for c in p["outputs"]), F.lit(0))
        return (F.coalesce(F.col(p["input"]), F.lit(0)) - outputs).cast("long")
    if check.kind == Kind.RATIO:
        den = F.col(p["denominator"]).cast("double")
        # A zero denominator has no ratio (null) and is ignored rather than flagged.
        return F.when(den != 0, F.col(p["numerator"]).cast("double") / den)
    if check.kind == Kind.LINK_RATE:
        cluster = Window.partitionBy(p["cluster"])
        sources = F.size(F.collect_set(F.col(p["source"])).over(cluster))
        linked = F.when(F.col(p["cluster"]).isNull(), F.lit(0)).otherwise((sources > 1).cast("int"))
        of_sources = p.get("of_sources")
        if of_sources:
            # Records of other sources get null: the mean covers only the named sources.
            return F.when(F.col(p["source"]).isin(list(of_sources)), linked).cast("double")
        return linked.cast("double")
    if check.kind == Kind.FRESHNESS:
        col = F.col(check.column)  # type: ignore[arg-type]
        # A timestamp's business day is its date in the business time zone; dates and
        # 'YYYY-MM-DD' strings are taken as they are.
        day = F.to_date(F.from_utc_timestamp(col, timezone)) if is_timestamp else F.to_date(col)
        return F.datediff(F.lit(run_date.isoformat()).cast("date"), day)
    raise AssertionError(f"check {check.name} of kind {check.kind} has no derived column")


# -- building suites from specs -------------------------------------------------------------

_NAME_RE = re.compile(r"[^A-Za-z0-9_]+")


def check_name(*parts: str) -> str:
    """A Dagster-valid check name (``[A-Za-z0-9_]+``) made from ``parts``."""
    return _NAME_RE.sub("_", "_".join(p for p in parts if p)).strip("_")


def suite_name(table: str) -> str:
    """``silver/orders`` -> ``silver_orders`` (names of GX suites, assets and Dagster checks)."""
    return check_name(table)


def suite_from_spec(
    table: str,
    spec: Mapping[str, Any],
    default_severity: Mapping[Kind, Severity] | None = None,
) -> Suite:
    """Build the :class:`Suite` of ``table`` from its declarative ``spec`` (see module doc).

    Raises :class:`SpecError` naming the table and the key on an unknown key or a malformed
    value, so a typo in a spec fails when the module is imported, not at 3 a.m.
    """
    defaults = {**DEFAULT_SEVERITY, **(default_severity or {})}
    unknown = set(spec) - _KNOWN_SPEC_KEYS
    if unknown:
        raise SpecError(f"spec of {table}: unknown keys {sorted(unknown)}; known: {sorted(_KNOWN_SPEC_KEYS)}")
    overrides = {str(k): _severity(v, table, f"severity.{k}") for k, v in (spec.get("severity") or {}).items()}
    checks: list[Check] = []

    def add(name: str, kind: Kind, description: str, column: str | None = None, **params: Any) -> None:
        sev = overrides.get(name) or _kind_override(overrides, kind) or defaults[kind]
        checks.append(Check(name, kind, Severity(sev), description, column, params))

    columns = list(spec.get("columns") or [])
    if columns:
        add("schema", Kind.SCHEMA, f"columns present: {', '.join(columns)}", columns=columns)

    if "row_count" in spec:
        rc = _bounds(spec["row_count"], table, "row_count")
        add("row_count", Kind.ROW_COUNT, f"row count in {_fmt_bounds(rc)}", **rc)

    keys = _names(spec.get("keys"), table, "keys")
    not_null = _mostly_map(spec.get("not_null"), table, "not_null")
    for col in keys:
        not_null.setdefault(col, 1.0)
    for col, mostly in not_null.items():
        what = "never null" if mostly >= 1 else f"filled in at least {mostly:.0%} of rows"
        add(check_name("not_null", col), Kind.NOT_NULL, f"{col} {what}", col, mostly=mostly)

    if keys:
        add(check_name("unique", *keys), Kind.UNIQUE, f"({', '.join(keys)}) unique", columns=keys)
    for col in _names(spec.get("unique"), table, "unique"):
        if [col] != keys:
            add(check_name("unique", col), Kind.UNIQUE, f"{col} unique", columns=[col])

    for col, values in (spec.get("value_sets") or {}).items():
        if isinstance(values, Mapping):
            vals, mostly = values.get("values"), float(values.get("mostly", 1.0))
        else:
            vals, mostly = values, 1.0
        if not isinstance(vals, (list, tuple, set)) or not vals:
            raise SpecError(f"spec of {table}: value_sets.{col} must be a non-empty list of allowed values")
        vals = list(vals)
        add(check_name("in_set", col), Kind.VALUE_SET, f"{col} in {vals} (nulls pass)", col, values=vals, mostly=mostly)

    for col, rng in (spec.get("ranges") or {}).items():
        b = _bounds(rng, table, f"ranges.{col}")
        add(check_name("range", col), Kind.RANGE, f"{col} in {_fmt_bounds(b)} (nulls pass)", col, **b)

    for pair in spec.get("pairs") or []:
        if not isinstance(pair, Mapping) or not {"a", "b"} <= set(pair):
            raise SpecError(f"spec of {table}: each pairs entry needs keys a and b, got {pair!r}")
        op = ">=" if pair.get("or_equal") else ">"
        add(
            check_name("pair", pair["a"], pair["b"]), Kind.PAIR, f"{pair['a']} {op} {pair['b']} where both set",
            a=pair["a"], b=pair["b"], or_equal=bool(pair.get("or_equal", False)),
        )

    if "reconciliation" in spec:
        r = spec["reconciliation"]
        if not isinstance(r, Mapping) or "input" not in r or not r.get("outputs"):
            raise SpecError(f"spec of {table}: reconciliation needs 'input' and a non-empty 'outputs' list")
        outputs = list(r["outputs"])
        add(
            "reconciliation", Kind.RECONCILIATION, f"{r['input']} = {' + '.join(outputs)} on every row",
            input=r["input"], outputs=outputs,
        )

    for name, r in (spec.get("ratios") or {}).items():
        if not isinstance(r, Mapping) or not {"numerator", "denominator"} <= set(r):
            raise SpecError(f"spec of {table}: ratios.{name} needs numerator and denominator")
        b = _bounds({k: r[k] for k in ("min", "max", "mostly") if k in r}, table, f"ratios.{name}")
        add(
            check_name("ratio", name), Kind.RATIO,
            f"{r['numerator']} / {r['denominator']} in {_fmt_bounds(b)} on every row",
            numerator=r["numerator"], denominator=r["denominator"], **b,
        )

    if "link_rate" in spec:
        lr = spec["link_rate"]
        if not isinstance(lr, Mapping) or not {"cluster", "source"} <= set(lr):
            raise SpecError(f"spec of {table}: link_rate needs cluster and source columns (and min/max)")
        b = _bounds({k: lr[k] for k in ("min", "max") if k in lr}, table, "link_rate")
        of = list(lr.get("of_sources") or [])
        whose = f" of {'/'.join(of)} records" if of else " of records"
        add(
            "link_rate", Kind.LINK_RATE,
            f"share{whose} whose {lr['cluster']} spans 2+ sources in {_fmt_bounds(b)}",
            cluster=lr["cluster"], source=lr["source"], of_sources=of, **b,
        )

    if "freshness" in spec:
        fr = spec["freshness"]
        if not isinstance(fr, Mapping) or "column" not in fr or "max_age_days" not in fr:
            raise SpecError(f"spec of {table}: freshness needs column and max_age_days")
        col = fr["column"]
        add(
            check_name("freshness", col), Kind.FRESHNESS,
            f"newest {col} at most {int(fr['max_age_days'])} days before the run date",
            col, max_age_days=int(fr["max_age_days"]),
        )

    kind_keys = set(_SPEC_KEY_KIND) | set(Kind._value2member_map_)
    unused = set(overrides) - {c.name for c in checks} - kind_keys
    if unused:
        raise SpecError(
            f"spec of {table}: severity overrides name no check: {sorted(unused)}; "
            f"checks are {[c.name for c in checks]}"
        )
    return Suite(suite_name(table), table, tuple(checks))


def suites_from_specs(
    specs: Mapping[str, Mapping[str, Any]],
    default_severity: Mapping[Kind, Severity] | None = None,
) -> dict[str, Suite]:
    """``{table: spec}`` -> ``{table: Suite}``."""
    return {table: suite_from_spec(table, spec, default_severity) for table, spec in specs.items()}


def _kind_override(overrides: Mapping[str, str], kind: Kind) -> str | None:
    for key, value in overrides.items():
        if _SPEC_KEY_KIND.get(key) == kind or key == kind.value:
            return value
    return None


def _severity(value: Any, table: str, where: str) -> str:
    text = str(value.value if isinstance(value, Enum) else value).upper()
    if text == "WARNING":
        text = "WARN"
    if text not in Severity._value2member_map_:
        raise SpecError(f"spec of {table}: {where} = {value!r}; use ERROR or WARN")
    return text


def _names(value: Any, table: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SpecError(f"spec of {table}: {where} must be a column name or a list of names, got {value!r}")


def _mostly_map(value: Any, table: str, where: str) -> dict[str, float]:
    if isinstance(value, Mapping):
        out = {}
        for col, mostly in value.items():
            m = float(mostly)
            if not 0 < m <= 1:
                raise SpecError(f"spec of {table}: {where}.{col} = {mostly!r}; give a share in (0, 1]")
            out[str(col)] = m
        return out
    return {col: 1.0 for col in _names(value, table, where)}


def _bounds(value: Any, table: str, where: str) -> dict[str, Any]:
    """``[min, max]`` or ``{"min":, "max":, "mostly":, "strict_min":, "strict_max":}`` -> kwargs."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        value = {"min": value[0], "max": value[1]}
    if not isinstance(value, Mapping):
        raise SpecError(f"spec of {table}: {where} must be [min, max] or a mapping with min/max, got {value!r}")
    extra = set(value) - {"min", "max", "mostly", "strict_min", "strict_max"}
    if extra:
        raise SpecError(f"spec of {table}: {where} has unknown keys {sorted(extra)}")
    lo, hi = value.get("min"), value.get("max")
    if lo is None and hi is None:
        raise SpecError(f"spec of {table}: {where} needs a min or a max")
    if lo is not None and hi is not None and lo > hi:
        raise SpecError(f"spec of {table}: {where} min {lo!r} is above max {hi!r}")
    out: dict[str, Any] = {"min": lo, "max": hi}
    for key in ("mostly", "strict_min", "strict_max"):
        if key in value:
            out[key] = value[key]
    return out


def _fmt_bounds(b: Mapping[str, Any]) -> str:
    lo = "(" if b.get("strict_min") else "["
    hi = ")" if b.get("strict_max") else "]"
    left = "-inf" if b.get("min") is None else b["min"]
    right = "+inf" if b.get("max") is None else b["max"]
    return f"{lo}{left}, {right}{hi}"
