"""Landing lines -> typed bronze records or quarantine rows (pure DataFrame transforms).

Every landing source entity has an :class:`EntitySpec`: its file, format and the explicit
schema of its fields (type, required, range rules). The transforms here take *lines*
(one row per input line, with its file and line number) and return, for every line,
either a typed record or a reason code, so that ingestion accounts for every line:

    lines --decode_lines--> text --parse_json_lines / parse_csv_lines--> map<string,string>
          --type_records--> typed columns + ``_error`` struct (first failed rule, or null)
          --bronze_rows / quarantine_rows--> the two outputs

Reason codes (``REASONS``) are the contract with operators and docs/ingestion.md.
Nothing here reads or writes data or consults configuration; the business time zone,
batch date and cut-off instants are passed in.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

# -- reason codes --------------------------------------------------------------------
REASONS: dict[str, str] = {
    "empty_line": "the line is empty or only whitespace",
    "mojibake": "bytes invalid in the file's declared or detected encoding, replacement characters (U+FFFD), "
    "or text that was decoded in the wrong encoding (UTF-8 read as GBK, or as Latin-1)",
    "malformed_json": "the line is not one JSON object (truncated or broken JSON)",
    "malformed_csv": "the line has fewer CSV fields than the header or broken quoting (truncated line)",
    "missing_required": "a required field is absent or empty",
    "type_mismatch": "a value cannot be cast to the field's declared type",
    "out_of_range": "a value is outside its allowed range (e.g. birth month 13)",
    "negative_amount": "a money amount or quantity is negative",
    "future_date": "a timestamp lies after the end of the drop's business day",
}

# -- field types -----------------------------------------------------------------------
# Bronze keeps values as delivered but typed where the contract types them; timestamps and
# dates stay as delivered strings (validated here, parsed into UTC in silver).
STRING, INT, LONG, BOOL, DECIMAL = "string", "int", "long", "bool", "decimal"
STR_ARRAY, INT_ARRAY = "array<string>", "array<int>"
TS_OFFSET = "ts_offset"  # ISO 8601 with offset, kept as string
TS_LOCAL = "ts_local"  # 'YYYY-MM-DD HH:MM:SS' in the business time zone, kept as string
DATE = "date"  # 'YYYY-MM-DD', kept as string
UNIX_TS = "unix_ts"  # unix seconds, kept as long
DIGITS = "digits"  # a string of digits (Weibo uid)

_BRONZE_TYPES: dict[str, T.DataType] = {
    STRING: T.StringType(),
    DIGITS: T.StringType(),
    INT: T.IntegerType(),
    LONG: T.LongType(),
    BOOL: T.BooleanType(),
    DECIMAL: T.DecimalType(18, 2),
    STR_ARRAY: T.ArrayType(T.StringType()),
    INT_ARRAY: T.ArrayType(T.IntegerType()),
    TS_OFFSET: T.StringType(),
    TS_LOCAL: T.StringType(),
    DATE: T.StringType(),
    UNIX_TS: T.LongType(),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a landing record: its name, type and validation rules."""

    name: str
    type: str = STRING
    required: bool = False
    not_future: bool = False  # quarantine values after the end of the drop's day
    non_negative: bool = False  # quarantine negative values (money, quantities)
    min_value: int | None = None
    max_value: int | None = None


@dataclass(frozen=True)
class EntitySpec:
    """A landing source entity: ``landing/<source>/<date>/<file>`` -> ``bronze/<table>``."""

    source: str
    entity: str
    file: str
    format: str  # "jsonl" or "csv"
    fields: tuple[FieldSpec, ...]
    keys: tuple[str, ...]
    description: str = ""
    comments: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"bronze/{self.source}_{self.entity}"

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]


def _f(name: str, type_: str = STRING, **rules) -> FieldSpec:
    return FieldSpec(name, type_, **rules)


SPECS: dict[str, EntitySpec] = {
    s.source + "_" + s.entity: s
    for s in (
        EntitySpec(
            "weibo", "users", "users.jsonl", "jsonl",
            (
                _f("uid", DIGITS, required=True), _f("screen_name"), _f("gender"), _f("province"), _f("city"),
                _f("location"), _f("birthday"), _f("description"), _f("tags", STR_ARRAY), _f("verified", BOOL),
                _f("verified_type", INT), _f("followers_count", LONG, non_negative=True),
                _f("friends_count", LONG, non_negative=True), _f("statuses_count", LONG, non_negative=True),
                _f("masked_phone"), _f("created_at", TS_OFFSET, not_future=True),
                _f("updated_at", TS_OFFSET, not_future=True),
            ),
            keys=("uid",), description="Weibo user profiles as delivered, one row per landing line",
        ),
        EntitySpec(
            "weibo", "posts", "posts.jsonl", "jsonl",
            (
                _f("mid", required=True), _f("uid", DIGITS, required=True),
                _f("created_at", TS_OFFSET, not_future=True), _f("text"), _f("retweeted_mid"),
                _f("reposts_count", LONG, non_negative=True), _f("comments_count", LONG, non_negative=True),
                _f("attitudes_count", LONG, non_negative=True), _f("source"),
            ),
            keys=("mid",), description="Weibo posts as delivered",
        ),
        EntitySpec(
            "weibo", "follows", "follows.jsonl", "jsonl",
            (
                _f("follower_uid", DIGITS, required=True), _f("followee_uid", DIGITS, required=True),
                _f("created_at", TS_OFFSET, not_future=True),
            ),
            keys=("follower_uid", "followee_uid"), description="Weibo follow edges as delivered",
        ),
        EntitySpec(
            "wechat", "followers", "followers.jsonl", "jsonl",
            (
                _f("openid", required=True), _f("unionid"), _f("nickname"), _f("sex", INT, min_value=0, max_value=2),
                _f("province"), _f("city"), _f("country"), _f("subscribe", INT, min_value=0, max_value=1),
                _f("subscribe_time", UNIX_TS, not_future=True), _f("tagid_list", INT_ARRAY), _f("remark"),
                _f("phone"), _f("language"), _f("updated_at", TS_OFFSET, not_future=True),
            ),
            keys=("openid",), description="WeChat official-account followers as delivered",
        ),
        EntitySpec(
            "wechat", "interactions", "interactions.jsonl", "jsonl",
            (
                _f("event_id", required=True), _f("openid", required=True), _f("event_type"),
                _f("event_time", TS_OFFSET, not_future=True), _f("article_id"), _f("menu_key"), _f("content"),
                _f("coupon_code"), _f("campaign_id"),
            ),
            keys=("event_id",), description="WeChat interaction events as delivered",
        ),
        EntitySpec(
            "crm", "customers", "customers.csv", "csv",
            (
                _f("customer_id", required=True), _f("name"), _f("gender"), _f("mobile"), _f("email"),
                _f("birth_month", INT, min_value=1, max_value=12), _f("province"), _f("city"), _f("address"),
                _f("postcode"), _f("store_id"), _f("member_tier"), _f("points_balance", INT),
                _f("register_date", DATE, not_future=True), _f("wechat_openid"), _f("marketing_consent"),
                _f("updated_at", TS_LOCAL, not_future=True),
            ),
            keys=("customer_id",), description="CRM customer master rows as delivered",
        ),
        EntitySpec(
            "crm", "orders", "orders.csv", "csv",
            (
                _f("order_id", required=True), _f("line_no", INT, required=True), _f("customer_id"),
                _f("order_time", TS_LOCAL, not_future=True), _f("store_id"), _f("channel"), _f("payment_method"),
                _f("product_id"), _f("product_name"), _f("category"), _f("quantity", INT, non_negative=True),
                _f("unit_price", DECIMAL, non_negative=True), _f("amount", DECIMAL, non_negative=True),
                _f("coupon_code"), _f("campaign_id"),
            ),
            keys=("order_id", "line_no"), description="CRM order lines as delivered",
        ),
        EntitySpec(
            "crm", "points", "points.csv", "csv",
            (
                _f("txn_id", required=True), _f("customer_id"), _f("txn_time", TS_LOCAL, not_future=True),
                _f("points_delta", INT), _f("reason"),
            ),
            keys=("txn_id",), description="CRM loyalty-point transactions as delivered",
        ),
        EntitySpec(
            "crm", "communications", "communications.csv", "csv",
            (
                _f("comm_id", required=True), _f("customer_id"), _f("comm_time", TS_LOCAL, not_future=True),
                _f("channel"), _f("campaign_id"), _f("direction"), _f("outcome"),
            ),
            keys=("comm_id",), description="CRM communication records as delivered",
        ),
        EntitySpec(
            "crm", "campaigns", "campaigns.csv", "csv",
            (
                _f("campaign_id", required=True), _f("name"), _f("platform"), _f("start_date", DATE),
                _f("end_date", DATE), _f("coupon_code"), _f("discount", DECIMAL, non_negative=True),
            ),
            keys=("campaign_id",), description="CRM campaigns as delivered (dates may lie in the future)",
        ),
    )
}

LINEAGE_COLUMNS = ["batch_date", "_source_file", "_line_no", "_extra", "_batch_id", "_ingested_at"]


def bronze_schema(spec: EntitySpec) -> T.StructType:
    """The bronze table schema of an entity: its fields then the lineage columns."""
    fields = [T.StructField(f.name, _BRONZE_TYPES[f.type], True) for f in spec.fields]
    fields += [
        T.StructField("batch_date", T.DateType(), False),
        T.StructField("_source_file", T.StringType(), True),
        T.StructField("_line_no", T.LongType(), True),
        T.StructField("_extra", T.StringType(), True),
        T.StructField("_batch_id", T.StringType(), False),
        T.StructField("_ingested_at", T.TimestampType(), False),
    ]
    return T.StructType(fields)


QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("source", T.StringType(), False),
        T.StructField("entity", T.StringType(), False),
        T.StructField("batch_date", T.DateType(), False),
        T.StructField("source_file", T.StringType(), True),
        T.StructField("line_no", T.LongType(), True),
        T.StructField("raw_payload", T.StringType(), True),
        T.StructField("reason_code", T.StringType(), False),
        T.StructField("reason", T.StringType(), True),
        T.StructField("field", T.StringType(), True),
        T.StructField("_batch_id", T.StringType(), False),
        T.StructField("_ingested_at", T.TimestampType(), False),
    ]
)


# -- line numbering ----------------------------------------------------------------------
def number_lines(raw: DataFrame) -> DataFrame:
    """Add ``_line_no`` (1-based, per file) to lines read by Spark's text source.

    ``raw`` has ``_source_file``, ``_block_start`` (``_metadata.file_block_start``) and
    ``_row_id`` (``monotonically_increasing_id()`` taken right after the scan). A file
    split is read in order inside one partition, so a row's position in its split is its
    id minus the split's smallest id, and the split's first line number is the count of
    lines in the file's earlier splits. Works for files of any size, split or not.
    """
    blocks = (
        raw.groupBy("_source_file", "_block_start")
        .agg(F.min("_row_id").alias("_first_id"), F.count(F.lit(1)).alias("_n"))
    )
    from pyspark.sql import Window

    w = Window.partitionBy("_source_file").orderBy("_block_start").rowsBetween(Window.unboundedPreceding, -1)
    blocks = blocks.withColumn("_before", F.coalesce(F.sum("_n").over(w), F.lit(0)))
    return (
        raw.join(F.broadcast(blocks.drop("_n")), ["_source_file", "_block_start"])
        .withColumn("_line_no", (F.col("_row_id") - F.col("_first_id") + F.col("_before") + 1).cast("long"))
        .drop("_first_id", "_before", "_block_start", "_row_id")
    )


# -- decoding ----------------------------------------------------------------------------
_REPLACEMENT = "\ufffd"
# UTF-8 text mis-decoded as Latin-1/CP1252 (e.g. 王 -> "çŽ‹"): a lead byte in U+00C2..U+00EF
# followed by a continuation byte rendered as U+0080..U+00BF or a CP1252 specific.
_MOJIBAKE_PATTERN = "[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"


def is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")


@functools.lru_cache(maxsize=None)
def _decoder(encoding: str):
    """A pandas UDF decoding bytes strictly in ``encoding``: struct(text, ok).

    ``text`` is always filled (invalid bytes shown as ``\\xNN`` escapes) so a quarantine
    row keeps the payload; ``ok`` says whether the strict decode succeeded.
    """

    @F.pandas_udf("struct<text:string,ok:boolean>")
    def decode(values: pd.Series) -> pd.DataFrame:
        texts, oks = [], []
        for raw in values:
            if raw is None:
                texts.append(None)
                oks.append(None)
                continue
            try:
                texts.append(bytes(raw).decode(encoding))
                oks.append(True)
            except UnicodeDecodeError:
                texts.append(bytes(raw).decode(encoding, errors="backslashreplace"))
                oks.append(False)
        return pd.DataFrame({"text": texts, "ok": oks})

    return decode


def valid_in(encoding: str, col: Column) -> Column:
    """Boolean column: do the bytes in ``col`` decode strictly in ``encoding``?"""
    if is_utf8(encoding):
        return F.call_function("is_valid_utf8", col.cast("string"))
    return _decoder(encoding)(col).getField("ok")


def decode_lines(lines: DataFrame, encoding: str) -> DataFrame:
    """Decode ``_bytes`` into ``_text`` and flag ``_encoding_ok`` (strict decode in ``encoding``)."""
    if is_utf8(encoding):
        as_string = F.col("_bytes").cast("string")
        ok = F.call_function("is_valid_utf8", as_string)
        text = F.when(ok, as_string).otherwise(_decoder("utf-8")(F.col("_bytes")).getField("text"))
        out = lines.withColumn("_encoding_ok", ok).withColumn("_text", text)
        # a UTF-8 byte-order mark at the start of a file is not data
        out = out.withColumn("_text", F.regexp_replace("_text", "^\ufeff", ""))
    else:
        decoded = _decoder(encoding)(F.col("_bytes"))
        out = lines.withColumn("_d", decoded).withColumn("_text", F.col("_d.text")).withColumn(
            "_encoding_ok", F.col("_d.ok")
        ).drop("_d")
    return out.drop("_bytes")


# -- parsing ------------------------------------------------------------------------------
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
# what the bytes of a garbled run spell in UTF-8: Chinese text, possibly with the ASCII
# characters whose bytes the GBK decoding swallowed ("提了新车，开心[赞]")
_PLAUSIBLE_TEXT = re.compile(r"^[\x20-\x7e\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def looks_utf8_read_as_gbk(text: str | None) -> bool:
    """True when a run of 3+ non-ASCII characters is UTF-8 Chinese that was decoded as GBK.

    Such a run (鑺辨紡 ...) encodes back in GB18030 to bytes that are valid UTF-8 Chinese
    text. Genuine Chinese runs of three or more characters practically never do (0 of
    300,000 jieba dictionary words and 50,000 four-word phrases), and a single garbled
    character leaves an odd byte that shows up as U+FFFD or invalid bytes instead.
    """
    if not text:
        return False
    for run in _NON_ASCII_RUN.findall(text):
        if len(run) < 3:
            continue
        try:
            back = run.encode("gb18030").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if _PLAUSIBLE_TEXT.match(back) and _CJK.search(back):
            return True
    return False


@F.pandas_udf(T.BooleanType())
def _gbk_mojibake_udf(values: pd.Series) -> pd.Series:
    return pd.Series([looks_utf8_read_as_gbk(v) for v in values], dtype="bool")


def _gbk_mojibake(text: Column) -> Column:
    # only lines with a non-ASCII run of 3+ characters reach Python
    return F.when(text.rlike("[^\\x00-\\x7f]{3}"), _gbk_mojibake_udf(text)).otherwise(F.lit(False))


def parse_json_lines(lines: DataFrame) -> DataFrame:
    """``_text`` -> ``_map`` (map<string,string>; nested values as JSON text), null when not a JSON object."""
    return lines.withColumn("_map", F.from_json("_text", "map<string,string>", {"mode": "PERMISSIVE"})).withColumn(
        "_variant", F.call_function("try_parse_json", F.col("_text"))
    )


# JSON token types (Spark's schema_of_variant names) each field type accepts; null is always fine.
_JSON_TYPES: dict[str, str] = {
    STRING: "^STRING$", DIGITS: "^STRING$", TS_OFFSET: "^STRING$", TS_LOCAL: "^STRING$", DATE: "^STRING$",
    INT: r"^(TINYINT|SMALLINT|INT|BIGINT|DECIMAL\(\d+,0\))$", LONG: r"^(TINYINT|SMALLINT|INT|BIGINT|DECIMAL\(\d+,0\))$",
    UNIX_TS: r"^(TINYINT|SMALLINT|INT|BIGINT|DECIMAL\(\d+,0\))$", BOOL: "^BOOLEAN$",
    DECIMAL: r"^(TINYINT|SMALLINT|INT|BIGINT|DECIMAL.*|DOUBLE|FLOAT)$", STR_ARRAY: "^ARRAY", INT_ARRAY: "^ARRAY",
}


def json_type_of(variant: Column, name: str) -> Column:
    """Spark's type name of a JSON field (``STRING``, ``BIGINT``, ``VOID`` for null, null when absent)."""
    return F.call_function("schema_of_variant", F.call_function("variant_get", variant, F.lit(f"$['{name}']")))


@functools.lru_cache(maxsize=None)
def _csv_splitter(delimiter: str):
    @F.pandas_udf("array<string>")
    def split(values: pd.Series) -> pd.Series:
        # A landing line is one record, however long: Python's 128 KiB default field limit
        # would turn a long but valid free-text field into a misleading malformed_csv.
        csv.field_size_limit(2**31 - 1)
        out = []
        for line in values:
            if line is None:
                out.append(None)
                continue
            try:
                rows = list(csv.reader(io.StringIO(line), delimiter=delimiter, strict=True))
            except csv.Error:
                out.append(None)
                continue
            out.append(rows[0] if len(rows) == 1 else None)
        return pd.Series(out, dtype="object")

    return split


def split_csv_header(line: str, delimiter: str = ",") -> list[str]:
    """Column names of a CSV header line (whitespace and a UTF-8 BOM stripped)."""
    names = next(csv.reader([line.lstrip("\ufeff")], delimiter=delimiter))
    return [n.strip() for n in names]


def parse_csv_lines(lines: DataFrame, header: list[str], delimiter: str = ",") -> DataFrame:
    """``_text`` (data lines) -> ``_map`` keyed by ``header``; empty fields become null.

    ``_map`` is null when the line cannot be split or has a different number of fields
    than the header; ``_csv_fields`` keeps the count for the message.
    """
    fields = _csv_splitter(delimiter)(F.col("_text"))
    header_names = F.array(*[F.lit(h) for h in header])
    n = len(header)
    out = lines.withColumn("_fields", fields).withColumn("_csv_fields", F.size("_fields"))
    values = F.transform("_fields", lambda v: F.when(F.trim(v) == "", F.lit(None)).otherwise(v))
    # fields beyond the header are unknown extra fields: kept under _col<N>, not an error
    names = F.transform(
        "_fields",
        lambda v, i: F.when(i < n, F.element_at(header_names, i + 1)).otherwise(
            F.concat(F.lit("_col"), (i + 1).cast("string"))
        ),
    )
    return out.withColumn(
        "_map",
        F.when(F.col("_csv_fields") >= n, F.map_from_arrays(names, values)),
    ).drop("_fields")


# -- typing and validation -----------------------------------------------------------------
def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


def parse_ts_offset(c: Column, timezone: str) -> Column:
    """ISO 8601 text -> UTC timestamp; text without an offset is read in ``timezone``."""
    has_offset = c.rlike(r"(Z|[+-]\d{2}:?\d{2})$")
    with_offset = F.call_function("try_to_timestamp", c)
    local = F.to_utc_timestamp(F.call_function("try_to_timestamp", c), timezone)
    return F.when(has_offset, with_offset).otherwise(local)


def parse_ts_local(c: Column, timezone: str) -> Column:
    """'YYYY-MM-DD HH:MM:SS' (or 'YYYY-MM-DDTHH:MM:SS') local wall-clock text -> UTC timestamp."""
    text = F.regexp_replace(F.trim(c), "T", " ")
    return F.to_utc_timestamp(F.call_function("try_to_timestamp", text, F.lit("yyyy-MM-dd HH:mm:ss")), timezone)


def parse_date(c: Column) -> Column:
    return F.call_function("try_to_date", F.trim(c), F.lit("yyyy-MM-dd"))


def _typed(f: FieldSpec, raw: Column, timezone: str) -> tuple[Column, Column | None]:
    """(bronze value, parsed value used for checks) of one field from its raw text."""
    t = f.type
    if t in (STRING, TS_OFFSET, TS_LOCAL, DATE, DIGITS):
        parsed = {
            TS_OFFSET: lambda: parse_ts_offset(raw, timezone),
            TS_LOCAL: lambda: parse_ts_local(raw, timezone),
            DATE: lambda: parse_date(raw),
            DIGITS: lambda: F.when(F.trim(raw).rlike(r"^\d+$"), F.trim(raw)),
        }.get(t)
        value = F.trim(raw) if t == DIGITS else raw
        return value, (parsed() if parsed else raw)
    if t in (INT, LONG, BOOL):
        sql_type = {INT: "int", LONG: "bigint", BOOL: "boolean"}[t]
        value = F.trim(raw).try_cast(sql_type)
        return value, value
    if t == DECIMAL:
        value = F.trim(raw).try_cast("decimal(18,2)")
        return value, value
    if t == UNIX_TS:
        value = F.trim(raw).try_cast("bigint")
        return value, F.when(value.isNotNull(), F.timestamp_seconds(value))
    if t in (STR_ARRAY, INT_ARRAY):
        value = F.from_json(raw, t)
        return value, value
    raise ValueError(f"unknown field type {t!r} for field {f.name}")


def _err(code: str, field_name: str | None, message: Column | str) -> Column:
    msg = message if isinstance(message, Column) else F.lit(message)
    return F.struct(F.lit(code).alias("code"), F.lit(field_name).cast("string").alias("field"), msg.alias("message"))


def type_records(
    parsed: DataFrame,
    spec: EntitySpec,
    *,
    timezone: str,
    future_cutoff: dt.datetime,
    header: list[str] | None = None,
) -> DataFrame:
    """Typed entity columns, ``_extra`` and ``_error`` from ``_map``/``_text``/``_encoding_ok``.

    ``_error`` is a struct(code, field, message) naming the first rule the line breaks, in
    the order of ``REASONS`` (encoding, parse, required, type, range, negative, future),
    or null for a good record. ``future_cutoff`` is the UTC instant after which a
    timestamp counts as in the future (the end of the drop's business day).
    """
    cutoff = F.lit(future_cutoff.astimezone(dt.timezone.utc)).cast("timestamp")
    m = F.col("_map")
    typed, parsed_values = {}, {}
    for f in spec.fields:
        raw = m.getItem(f.name)
        typed[f.name], parsed_values[f.name] = _typed(f, raw, timezone)

    checks: list[Column] = [
        F.when(_blank(F.col("_text")), _err("empty_line", None, "empty line")),
        F.when(~F.col("_encoding_ok"), _err("mojibake", None, "bytes invalid in the file encoding")),
        F.when(F.col("_text").contains(_REPLACEMENT), _err("mojibake", None, "replacement characters (U+FFFD)")),
        F.when(F.col("_text").rlike(_MOJIBAKE_PATTERN), _err("mojibake", None, "UTF-8 text read as Latin-1")),
        F.when(_gbk_mojibake(F.col("_text")), _err("mojibake", None, "UTF-8 text read as GBK")),
    ]
    if spec.format == "jsonl":
        checks.append(F.when(m.isNull(), _err("malformed_json", None, "not a JSON object")))
    else:
        n = len(header or [])
        checks.append(
            F.when(
                m.isNull(),
                _err(
                    "malformed_csv",
                    None,
                    F.when(F.col("_csv_fields") == -1, F.lit("unparseable CSV quoting")).otherwise(
                        F.format_string(f"%d fields, header has {n}", F.col("_csv_fields"))
                    ),
                ),
            )
        )
    for f in spec.fields:
        if f.required:
            checks.append(F.when(_blank(m.getItem(f.name)), _err("missing_required", f.name, f"{f.name} is missing")))
    for f in spec.fields:
        raw = m.getItem(f.name)
        if spec.format == "jsonl":
            # strict JSON typing: "uid": 123 or "subscribe_time": "1700000000" break the contract
            jtype = json_type_of(F.col("_variant"), f.name)
            wrong_token = jtype.isNotNull() & (jtype != "VOID") & ~jtype.rlike(_JSON_TYPES[f.type])
            checks.append(F.when(wrong_token, _err("type_mismatch", f.name, F.format_string(
                f"{f.name} is a JSON %s, expected {f.type}", jtype))))
        bad = ~_blank(raw) & parsed_values[f.name].isNull()
        checks.append(
            F.when(bad, _err("type_mismatch", f.name, F.format_string(f"{f.name} is not a valid {f.type}: %s",
                                                                        F.substring(raw, 1, 60))))
        )
    for f in spec.fields:
        v = parsed_values[f.name]
        if f.min_value is not None or f.max_value is not None:
            lo = v < f.min_value if f.min_value is not None else F.lit(False)
            hi = v > f.max_value if f.max_value is not None else F.lit(False)
            checks.append(
                F.when(lo | hi, _err("out_of_range", f.name, F.format_string(
                    f"{f.name} %s outside {f.min_value}..{f.max_value}", v.cast("string"))))
            )
    for f in spec.fields:
        if f.non_negative:
            checks.append(F.when(parsed_values[f.name] < 0, _err(
                "negative_amount", f.name, F.format_string(f"{f.name} is negative: %s", parsed_values[f.name].cast("string")))))
    for f in spec.fields:
        if f.not_future:
            checks.append(F.when(parsed_values[f.name] > cutoff, _err(
                "future_date", f.name, F.format_string(f"{f.name} %s is after the drop day", F.col("_map").getItem(f.name)))))

    known = F.array(*[F.lit(n) for n in spec.field_names])
    extra = F.map_filter(m, lambda k, v: ~F.array_contains(known, k) & v.isNotNull())
    out = parsed.select(
        "*",
        *[typed[n].alias(n) for n in spec.field_names],
        F.when(F.size(extra) > 0, F.to_json(extra)).alias("_extra"),
        F.coalesce(*checks).alias("_error"),
    )
    return out.drop("_variant")


def bronze_rows(typed: DataFrame, spec: EntitySpec, batch_date: dt.date, batch_id: str,
                ingested_at: dt.datetime) -> DataFrame:
    """The good records in bronze shape (``bronze_schema(spec)``)."""
    schema = bronze_schema(spec)
    cols = [F.col(f.name) for f in spec.fields] + [
        F.lit(batch_date).alias("batch_date"),
        F.col("_source_file"),
        F.col("_line_no").cast("long"),
        F.col("_extra"),
        F.lit(batch_id).alias("_batch_id"),
        F.lit(ingested_at.astimezone(dt.timezone.utc)).cast("timestamp").alias("_ingested_at"),
    ]
    out = typed.where(F.col("_error").isNull()).select(*cols)
    return out.select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])


def quarantine_rows(typed: DataFrame, spec: EntitySpec, batch_date: dt.date, batch_id: str,
                    ingested_at: dt.datetime) -> DataFrame:
    """The rejected lines in quarantine shape (``QUARANTINE_SCHEMA``)."""
    out = typed.where(F.col("_error").isNotNull()).select(
        F.lit(spec.source).alias("source"),
        F.lit(spec.entity).alias("entity"),
        F.lit(batch_date).alias("batch_date"),
        F.col("_source_file").alias("source_file"),
        F.col("_line_no").cast("long").alias("line_no"),
        F.col("_text").alias("raw_payload"),
        F.col("_error.code").alias("reason_code"),
        F.col("_error.message").alias("reason"),
        F.col("_error.field").alias("field"),
        F.lit(batch_id).alias("_batch_id"),
        F.lit(ingested_at.astimezone(dt.timezone.utc)).cast("timestamp").alias("_ingested_at"),
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in QUARANTINE_SCHEMA.fields])


def future_cutoff(batch_date: dt.date, timezone: str) -> dt.datetime:
    """End of the drop's business day (local midnight after ``batch_date``) as a UTC instant."""
    end = dt.datetime.combine(batch_date + dt.timedelta(days=1), dt.time(0), tzinfo=ZoneInfo(timezone))
    return end.astimezone(dt.timezone.utc)


def records_from_map(frame: DataFrame) -> DataFrame:
    """Rows with a ready ``_map`` (e.g. from JDBC) get the columns ``type_records`` expects."""
    return frame.withColumn("_encoding_ok", F.lit(True))
