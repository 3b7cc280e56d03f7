"""lake_io: the Delta writer/reader behind a Spark Python Data Source, and the Lake API."""

from __future__ import annotations

import datetime as dt
import decimal
import glob
import json
import os
import threading

import pyarrow as pa
import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from lake_io import Lake, LakeError, LakeSchemaError, UnsupportedPredicate
from lake_io._partitions import Predicate

UTC = dt.timezone.utc

ALL_TYPES = T.StructType([
    T.StructField("id", T.LongType()),
    T.StructField("name", T.StringType()),
    T.StructField("amount", T.DecimalType(18, 2)),
    T.StructField("birth", T.DateType()),
    T.StructField("seen_at", T.TimestampType()),
    T.StructField("active", T.BooleanType()),
    T.StructField("score", T.DoubleType()),
    T.StructField("tags", T.ArrayType(T.StringType())),
    T.StructField("addr", T.StructType([T.StructField("city", T.StringType()), T.StructField("zip", T.LongType())])),
    T.StructField("batch_date", T.DateType()),
])
ALL_ROWS = [
    (1, "宋小姐😀", decimal.Decimal("1234567890123456.78"), dt.date(1990, 5, 1),
     dt.datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=UTC), True, 3.25, ["咖啡", "🌵"], ("上海", 200000),
     dt.date(2026, 11, 1)),
    (2, None, None, None, None, None, None, None, None, dt.date(2026, 11, 1)),
    (3, "Wang", decimal.Decimal("-0.01"), dt.date(2000, 1, 31), dt.datetime(2026, 11, 2, 0, 0, tzinfo=UTC), False,
     -1.5, [], (None, None), dt.date(2026, 11, 2)),
]


def day_rows(spark, day: str, ids: list[int], value: str = "v"):
    return spark.createDataFrame(
        [(i, f"{value}{i}", dt.date.fromisoformat(day)) for i in ids], "id long, value string, batch_date date"
    )


def log_entries(lake: Lake, table: str) -> list[dict]:
    out = []
    for path in sorted(glob.glob(os.path.join(lake.uri(table), "_delta_log", "*.json"))):
        with open(path, encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def referenced_files(lake: Lake, table: str) -> set[str]:
    from deltalake import DeltaTable

    return {os.path.normpath(u) for u in DeltaTable(lake.uri(table)).file_uris()}


def parquet_on_disk(lake: Lake, table: str) -> set[str]:
    return {os.path.normpath(p) for p in glob.glob(os.path.join(lake.uri(table), "**", "*.parquet"), recursive=True)}


# -- predicates (no Spark) ------------------------------------------------------------------
def test_replace_where_predicate_on_partition_values():
    types = {"batch_date": "date", "source": "string"}
    p = Predicate("batch_date = '2026-11-01' AND source IN ('weibo', 'wechat')", types)
    assert p({"batch_date": dt.date(2026, 11, 1), "source": "weibo"})
    assert not p({"batch_date": dt.date(2026, 11, 1), "source": "crm"})
    assert not p({"batch_date": None, "source": "weibo"})
    q = Predicate("batch_date >= DATE '2026-11-02' OR source IS NULL", types)
    assert q({"batch_date": dt.date(2026, 11, 3), "source": "x"}) and q({"batch_date": dt.date(2026, 1, 1), "source": None})
    with pytest.raises(UnsupportedPredicate, match="not a partition column"):
        Predicate("amount > 5", types)
    with pytest.raises(UnsupportedPredicate, match="not a valid date"):
        Predicate("batch_date = 'yesterday'", types)


def test_dictionary_encoding_only_for_repetitive_columns():
    from lake_io.datasource import dictionary_columns

    n = 2000
    batch = pa.RecordBatch.from_pydict({
        "phone_hash": [f"h{i:06d}" for i in range(n)],
        "channel": ["store", "wechat"] * (n // 2),
        "tags": [["a"]] * n,
    })
    assert dictionary_columns(batch.schema, batch) == ["channel", "tags.list.element"]


def _task_plan(tmp_path, schema: pa.Schema) -> dict:
    from lake_io.datasource import encode_schema

    return {"uri": str(tmp_path), "write_id": "w0", "partition_by": [], "arrow_schema": encode_schema(schema)}


def _task_batches(n_batches: int = 4, rows: int = 5) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    schema = pa.schema([
        ("id", pa.int64()), ("amount", pa.decimal128(18, 2)), ("tags", pa.list_(pa.string())),
        ("addr", pa.struct([("city", pa.string())])),
    ])
    batches = [
        pa.RecordBatch.from_pydict({
            "id": [b * rows + i for i in range(rows)],
            "amount": [decimal.Decimal(f"{b}.{i:02d}") for i in range(rows)],
            "tags": [["x", str(i)] for i in range(rows)],
            "addr": [{"city": f"c{b}"} for _ in range(rows)],
        }, schema=schema)
        for b in range(n_batches)
    ]
    return schema, batches


def test_task_writer_row_groups_statistics_and_layout(tmp_path, monkeypatch):
    """One task (no Spark): buffered row groups, Spark-like decimals, stats as the Delta log needs."""
    import pyarrow.parquet as pq

    from lake_io import datasource as ds

    monkeypatch.setattr(ds, "_FLUSH_ROWS", 8)  # 5-row batches -> a row group every 2 batches
    schema, batches = _task_batches()
    msg = ds.DeltaWriter(_task_plan(tmp_path, schema)).write(iter(batches))
    assert msg.rows == 20 and len(msg.adds) == 1
    add = msg.adds[0]
    pf = pq.ParquetFile(os.path.join(tmp_path, add["path"]))
    assert pf.read().equals(pa.Table.from_batches(batches).cast(pf.schema_arrow))
    md = pf.metadata
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [10, 10]
    leaves = {md.row_group(0).column(i).path_in_schema: md.row_group(0).column(i) for i in range(md.num_columns)}
    assert leaves["amount"].physical_type == "INT64"  # decimal(18, 2) stored as Spark stores it
    assert leaves["tags.list.element"].statistics is None  # no Delta stats for list leaves, so none written
    assert ds.statistics_columns(schema) == ["id", "amount", "addr.city"]
    stats = json.loads(add["stats"])
    assert stats["numRecords"] == 20
    assert stats["minValues"] == {"id": 0, "amount": 0.0, "addr": {"city": "c0"}}
    assert stats["maxValues"] == {"id": 19, "amount": 3.04, "addr": {"city": "c3"}}
    assert stats["nullCount"] == {"id": 0, "amount": 0, "addr": {"city": 0}}


def test_task_writer_encoding_error_fails_the_task_and_leaves_no_file(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from lake_io import datasource as ds

    monkeypatch.setattr(ds, "_FLUSH_ROWS", 8)
    calls = []

    def broken(self, table, row_group_size=None):
        calls.append(table.num_rows)
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
    schema, batches = _task_batches()
    with pytest.raises(OSError, match="disk full"):
        ds.DeltaWriter(_task_plan(tmp_path, schema)).write(iter(batches))
    assert calls == [10]  # the first row group failed; nothing of the file is left
    assert glob.glob(os.path.join(tmp_path, "**", "*.parquet"), recursive=True) == []


# -- Spark round trips ----------------------------------------------------------------------
@pytest.fixture(params=["spark-parquet", "datasource"])
def both(request, settings):
    """Settings for each way of writing the data files: Spark's Parquet writer, the Data Source."""
    return settings.model_copy(update={"delta_data_files": request.param})


def test_round_trip_every_type_and_independent_readers(spark, both):
    import duckdb
    from deltalake import DeltaTable

    lake = Lake(both, spark)
    df = spark.createDataFrame(ALL_ROWS, ALL_TYPES)
    version = lake.write(df.coalesce(1), "silver/all_types", partition_by=["batch_date"])  # one file per day
    assert version == 0

    back = lake.read("silver/all_types")
    assert back.schema["batch_date"].dataType == T.DateType()  # partition column keeps its Delta type
    assertDataFrameEqual(back.select(*ALL_TYPES.names), df)

    arrow = DeltaTable(lake.uri("silver/all_types")).to_pyarrow_table()
    assert arrow.schema.field("seen_at").type == pa.timestamp("us", tz="UTC")
    assert arrow.schema.field("amount").type == pa.decimal128(18, 2)
    first = {r["id"]: r for r in arrow.to_pylist()}[1]
    assert first["name"] == "宋小姐😀" and first["tags"] == ["咖啡", "🌵"]
    assert first["amount"] == decimal.Decimal("1234567890123456.78")
    assert first["seen_at"] == dt.datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=UTC)

    tbl = lake.to_arrow("silver/all_types")  # noqa: F841 - DuckDB scans the local variable
    assert duckdb.sql("SELECT name FROM tbl WHERE addr.city = '上海'").fetchall() == [("宋小姐😀",)]
    assert duckdb.sql("SELECT count(*) FROM tbl WHERE name IS NULL").fetchall() == [(1,)]

    adds = [e["add"] for e in log_entries(lake, "silver/all_types") if "add" in e]
    assert {a["partitionValues"]["batch_date"] for a in adds} == {"2026-11-01", "2026-11-02"}
    stats = [json.loads(a["stats"]) for a in adds]
    assert sum(s["numRecords"] for s in stats) == 3
    day1 = next(s for a, s in zip(adds, stats) if a["partitionValues"]["batch_date"] == "2026-11-01")
    assert day1["minValues"]["id"] == 1 and day1["maxValues"]["id"] == 2 and day1["nullCount"]["name"] == 1
    assert day1["maxValues"]["seen_at"] == "2026-11-01T08:30:15.124Z"  # max rounded up to the millisecond
    day2 = next(s for a, s in zip(adds, stats) if a["partitionValues"]["batch_date"] == "2026-11-02")
    assert day2["minValues"]["amount"] == day2["maxValues"]["amount"] == -0.01
    assert day2["nullCount"]["addr"] == {"city": 1, "zip": 1} and "addr" not in day2["minValues"]
    assert lake.history("silver/all_types")[0]["scim.dataFiles"] == both.delta_data_files
    assert glob.glob(os.path.join(lake.uri("silver/all_types"), "_scim_staging", "*")) == []


def test_empty_dataframe_creates_an_empty_table_and_an_empty_append_commits_nothing_new(spark, both):
    lake = Lake(both, spark)
    t = "silver/empty"
    assert lake.write(spark.createDataFrame([], "id long, batch_date date"), t, partition_by=["batch_date"]) == 0
    assert lake.read(t).count() == 0 and lake.describe(t)["num_files"] == 0
    assert lake.write(spark.createDataFrame([], "id long"), "silver/empty_flat") == 0
    assert lake.describe("silver/empty_flat")["num_files"] == 0  # no zero-row file is referenced
    lake.write(day_rows(spark, "2026-11-01", [1]).select("id", "batch_date"), t)
    assert [r.id for r in lake.read(t).collect()] == [1]


def test_partition_values_with_special_characters_and_nulls(spark, both):
    lake = Lake(both, spark)
    t = "silver/by_channel"
    values = ["a/b", "x:y=z", "100%", "微信 小程序", "it's", None]
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "id long, channel string")
    lake.write(df, t, partition_by=["channel"])
    assertDataFrameEqual(lake.read(t).select("id", "channel"), df)
    adds = [e["add"] for e in log_entries(lake, t) if "add" in e]
    assert sorted(a["partitionValues"]["channel"] or "" for a in adds) == sorted(v or "" for v in values)
    lake.write(spark.createDataFrame([(9, "a/b")], "id long, channel string"), t, mode="overwrite",
               replace_where="channel = 'a/b'")
    assert sorted(r.id for r in lake.read(t).collect()) == [1, 2, 3, 4, 5, 9]


def test_append_overwrite_and_replace_where_on_partitions(spark, both):
    lake = Lake(both, spark)
    t = "silver/orders"
    lake.write(day_rows(spark, "2026-11-01", [1, 2]), t, partition_by=["batch_date"])
    lake.write(day_rows(spark, "2026-11-02", [3]), t, mode="append", partition_by=["batch_date"])
    assert lake.read(t).count() == 3

    v = lake.write(day_rows(spark, "2026-11-01", [7], "new"), t, mode="overwrite",
                   replace_where="batch_date = '2026-11-01'")
    assertDataFrameEqual(
        lake.read(t).select("id", "value"),
        spark.createDataFrame([(7, "new7"), (3, "v3")], "id long, value string"),
    )
    assert lake.version(t) == v == 2

    assert [r.id for r in lake.read(t, partition_filter="batch_date = '2026-11-02'").collect()] == [3]
    with pytest.raises(UnsupportedPredicate):
        lake.read(t, partition_filter="id = 3")

    lake.write(day_rows(spark, "2026-11-05", [9]), t, mode="overwrite")
    assert [r.id for r in lake.read(t).collect()] == [9]
    assert lake.describe(t)["num_files"] == 1 and lake.describe(t)["num_rows"] == 1


def test_replace_where_refuses_what_it_cannot_do_exactly(spark, both):
    lake = Lake(both, spark)
    t = "silver/orders"
    lake.write(day_rows(spark, "2026-11-01", [1]), t, partition_by=["batch_date"])
    files_before = parquet_on_disk(lake, t)
    with pytest.raises(UnsupportedPredicate, match="not a partition column"):
        lake.write(day_rows(spark, "2026-11-01", [2]), t, mode="overwrite", replace_where="id = 1")
    # Data outside the predicate: the job runs, the commit refuses, abort removes the files.
    with pytest.raises(Exception, match="does not match replace_where"):
        lake.write(day_rows(spark, "2026-11-02", [2]), t, mode="overwrite", replace_where="batch_date = '2026-11-01'")
    assert lake.version(t) == 0
    assert parquet_on_disk(lake, t) == files_before


def test_same_partition_twice_leaves_one_copy_and_app_transactions_skip_reruns(spark, both):
    lake = Lake(both, spark)
    t = "bronze/events"
    for _ in range(2):
        lake.write(day_rows(spark, "2026-11-01", [1, 2]), t, mode="overwrite", partition_by=["batch_date"],
                   replace_where="batch_date = '2026-11-01'")
    assert lake.read(t).count() == 2

    first = lake.write(day_rows(spark, "2026-11-02", [5]), t, app_id="nightly", app_version=20261102)
    again = lake.write(day_rows(spark, "2026-11-02", [5]), t, app_id="nightly", app_version=20261102)
    assert again == first
    assert lake.read(t).where("batch_date = '2026-11-02'").count() == 1


def test_schema_rules(spark, both):
    lake = Lake(both, spark)
    t = "silver/customers"
    lake.write(spark.createDataFrame([(1, "a")], "id long, name string"), t)
    with pytest.raises(LakeSchemaError, match="new columns"):
        lake.write(spark.createDataFrame([(2, "b", 1.0)], "id long, name string, score double"), t)
    with pytest.raises(LakeSchemaError, match="column name"):
        lake.write(spark.createDataFrame([(2, 5)], "id long, name int"), t)
    lake.write(spark.createDataFrame([(2, "b", 1.0)], "id long, name string, score double"), t, schema_mode="merge")
    lake.write(spark.createDataFrame([(3,)], "id int"), t)  # int widened to long, missing columns null
    assertDataFrameEqual(
        lake.read(t),
        spark.createDataFrame([(1, "a", None), (2, "b", 1.0), (3, None, None)], "id long, name string, score double"),
    )
    with pytest.raises(LakeSchemaError, match="timestamp_ntz"):
        lake.write(spark.createDataFrame([(dt.datetime(2026, 1, 1),)], "t timestamp_ntz"), "silver/ntz")


def test_merge_updates_inserts_and_creates(spark, settings):
    lake = Lake(settings, spark)
    t = "silver/customer"
    schema = "customer_id string, name string, updated_at timestamp"
    v0 = lake.merge(spark.createDataFrame([("C1", "宋", dt.datetime(2026, 1, 1, tzinfo=UTC)),
                                           ("C2", "王", dt.datetime(2026, 1, 1, tzinfo=UTC))], schema),
                    t, keys=["customer_id"])
    assert v0 == 0
    v1 = lake.merge(spark.createDataFrame([("C1", "宋小姐", dt.datetime(2026, 2, 1, tzinfo=UTC)),
                                           ("C3", "李", dt.datetime(2026, 2, 1, tzinfo=UTC))], schema),
                    t, keys=["customer_id"], update_condition="s.updated_at > t.updated_at")
    assert v1 == 1
    assertDataFrameEqual(
        lake.read(t).select("customer_id", "name"),
        spark.createDataFrame([("C1", "宋小姐"), ("C2", "王"), ("C3", "李")], "customer_id string, name string"),
    )
    with pytest.raises(LakeError, match="more than once"):
        lake.merge(spark.createDataFrame([("C9", "a", None), ("C9", "b", None)], schema), t, keys=["customer_id"])
    with pytest.raises(LakeError, match="null customer_id"):
        lake.merge(spark.createDataFrame([(None, "a", None)], schema), t, keys=["customer_id"])
    lake.merge(spark.createDataFrame([("C1", "宋小姐", None)], schema), t, keys=["customer_id"], delete_not_matched=True)
    assert [r.customer_id for r in lake.read(t).collect()] == ["C1"]
    assert lake.version(t) == 2


def test_time_travel_history_and_delete(spark, settings):
    lake = Lake(settings, spark)
    t = "gold/dim"
    lake.write(day_rows(spark, "2026-11-01", [1, 2]), t)
    lake.write(day_rows(spark, "2026-11-02", [3]), t, mode="overwrite")
    v = lake.delete(t, "id = 3")
    assert v == 2 and lake.read(t).count() == 0
    assert sorted(r.id for r in lake.read(t, version=0).collect()) == [1, 2]
    assert lake.to_arrow(t, version=1, columns=["id"]).to_pylist() == [{"id": 3}]
    assert lake.to_arrow(t, version=0, filter="id = 2").column("value").to_pylist() == ["v2"]
    history = lake.history(t)
    assert [h["version"] for h in history] == [2, 1, 0]
    assert history[1]["scim.mode"] == "overwrite" and history[1]["scim.rows"] == 1


def test_comments_visible_in_describe_log_and_spark(spark, settings):
    lake = Lake(settings, spark)
    t = "gold/dim_customer"
    lake.write(spark.createDataFrame([(1, "x")], "customer_key long, segment string"), t,
               description="一行一位客户 (one row per customer)", column_comments={"customer_key": "稳定客户键"})
    d = lake.describe(t)
    assert d["description"] == "一行一位客户 (one row per customer)"
    assert {c["name"]: c["comment"] for c in d["columns"]} == {"customer_key": "稳定客户键", "segment": None}
    meta = [e["metaData"] for e in log_entries(lake, t) if "metaData" in e][-1]
    assert meta["description"] == "一行一位客户 (one row per customer)"
    fields = {f["name"]: f for f in json.loads(meta["schemaString"])["fields"]}
    assert fields["customer_key"]["metadata"]["comment"] == "稳定客户键"
    assert lake.read(t).schema["customer_key"].metadata == {"comment": "稳定客户键"}

    v = lake.write(spark.createDataFrame([(2, "y")], "customer_key long, segment string"), t,
                   column_comments={"segment": "lifecycle segment"})
    assert lake.describe(t)["columns"][1]["comment"] == "lifecycle segment" and v == lake.version(t)
    before = lake.version(t)
    assert lake.set_comments(t, column_comments={"segment": "lifecycle segment"}) == before  # unchanged: no commit
    with pytest.raises(LakeSchemaError, match="unknown columns"):
        lake.set_comments(t, column_comments={"nope": "x"})


def test_failed_task_leaves_previous_version_and_no_new_files(spark, both):
    lake = Lake(both, spark)
    t = "silver/orders"
    lake.write(day_rows(spark, "2026-11-01", [1, 2]), t, partition_by=["batch_date"])
    referenced = referenced_files(lake, t)

    @F.udf("string")
    def explode_on_13(value):
        if value == "v13":
            raise ValueError("record 13 is bad")
        return value

    bad = day_rows(spark, "2026-11-02", list(range(10, 30))).repartition(2).withColumn("value", explode_on_13("value"))
    with pytest.raises(Exception, match="record 13 is bad"):
        lake.write(bad, t, partition_by=["batch_date"])
    assert lake.version(t) == 0
    assert referenced_files(lake, t) == referenced
    assert parquet_on_disk(lake, t) == referenced  # nothing orphaned either


def test_two_writers_appending_at_once_lose_nothing(spark, both):
    lake = Lake(both, spark)
    t = "bronze/clicks"
    lake.write(day_rows(spark, "2026-11-01", [0]), t)
    errors: list[BaseException] = []

    def writer(start: int) -> None:
        try:
            lake.write(day_rows(spark, "2026-11-01", list(range(start, start + 25))), t)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (100, 200)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert lake.read(t).count() == 51 and lake.version(t) == 2


def test_maintenance_and_listing(spark, settings):
    lake = Lake(settings, spark)
    for i in range(3):
        lake.write(day_rows(spark, "2026-11-01", [i]), "gold/facts")
    lake.write(day_rows(spark, "2026-11-01", [1]), "silver/orders")
    assert lake.list_tables() == ["gold/facts", "silver/orders"]
    assert lake.list_tables(prefix="gold") == ["gold/facts"]
    files_before = lake.describe("gold/facts")["num_files"]
    metrics = lake.optimize("gold/facts", zorder_by=["id"])
    assert metrics["numFilesRemoved"] == files_before and lake.describe("gold/facts")["num_files"] == 1
    lake.checkpoint("gold/facts")
    assert glob.glob(os.path.join(lake.uri("gold/facts"), "_delta_log", "*.checkpoint.parquet"))
    removed = lake.vacuum("gold/facts", retention_hours=0, enforce_retention=False)
    assert len(removed) == files_before
    assert sorted(r.id for r in lake.read("gold/facts").collect()) == [0, 1, 2]
    with pytest.raises(LakeError, match="does not exist"):
        lake.version("gold/missing")


def test_spark_parquet_files_fall_back_to_the_data_source_where_they_cannot_be_used(spark, settings):
    from lake_io import native

    local = settings.lake_is_local
    assert local and native.unusable_reason(spark, "/tmp/lake/t", local, {"batch_date": "date"}) is None
    s3 = settings.model_copy(update={"lake_root": "s3://bucket/lake"})
    assert "not a local" in native.unusable_reason(spark, s3.lake_path("t"), s3.lake_is_local, {})
    assert "timestamp partition" in native.unusable_reason(spark, "/tmp/lake/t", local, {"hour": "timestamp"})
    lake = Lake(settings, spark)
    hours = spark.createDataFrame([(1, dt.datetime(2026, 11, 1, 8, tzinfo=UTC))], "id long, hour timestamp")
    lake.write(hours, "silver/hourly", partition_by=["hour"])
    assert lake.history("silver/hourly")[0]["scim.dataFiles"] == "datasource"
    assert [r.hour for r in lake.read("silver/hourly").collect()] == [dt.datetime(2026, 11, 1, 8)]  # session zone UTC


def test_vacuum_removes_staging_left_by_a_dead_driver(spark, settings):
    lake = Lake(settings, spark)
    t = "silver/orders"
    lake.write(day_rows(spark, "2026-11-01", [1]), t, partition_by=["batch_date"])
    assert lake.history(t)[0]["scim.dataFiles"] == "spark-parquet"
    stale = os.path.join(lake.uri(t), "_scim_staging", "0123456789abcdef")
    os.makedirs(os.path.join(stale, "batch_date=2026-11-02"))
    with open(os.path.join(stale, "batch_date=2026-11-02", "part-00000.snappy.parquet"), "wb") as fh:
        fh.write(b"PAR1")
    old = dt.datetime(2026, 1, 1).timestamp()
    os.utime(stale, (old, old))
    fresh = os.path.join(lake.uri(t), "_scim_staging", "fedcba9876543210")
    os.makedirs(fresh)  # a write in progress: too young to touch
    removed = lake.vacuum(t, retention_hours=200)
    assert any(r.endswith("0123456789abcdef") for r in removed)
    assert not os.path.exists(stale) and os.path.isdir(fresh)
    assert [r.id for r in lake.read(t).collect()] == [1]


def test_delta_spark_backend_is_selected_by_settings(settings):
    from lake_io.delta_spark import DeltaSparkLake

    lake = Lake(settings.model_copy(update={"delta_writer": "delta-spark"}), None)
    assert isinstance(lake, DeltaSparkLake) and lake.backend == "delta-spark"
    assert type(Lake(settings, None)) is Lake
    try:
        import delta  # noqa: F401
    except ImportError:
        with pytest.raises(LakeError, match="delta-spark"):
            lake.read("silver/orders")
