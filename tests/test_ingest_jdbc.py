"""The JDBC path against a real PostgreSQL server: partitioned reads, incremental watermark, idempotence."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from pipelines.config import load_settings

from postgres import JDBC_JAR, PostgresServer, unavailable_reason
from sample_data.postgres import DDL as CRM_DDL

pytestmark = pytest.mark.postgres

# The CRM schema is the generator's (sample_data/postgres.py), plus a few hand-made rows.
DDL = CRM_DDL + """
INSERT INTO crm.customers (customer_id, name, gender, mobile, birth_month, register_date, marketing_consent, updated_at)
VALUES ('C1', '王先生', '男', '13812345678', 5, '2020-01-01', 'Y', '2026-10-30 10:00:00'),
       ('C2', '李女士', '女', '13912345678', 13, '2021-01-01', 'N', '2026-10-31 11:00:00'),
       ('C3', '宋小姐', '女', NULL, NULL, '2022-01-01', 'Y', '2026-11-01 23:59:00'),
       ('C4', '赵先生', '男', NULL, NULL, '2026-11-02', 'Y', '2026-11-02 08:00:00');
INSERT INTO crm.orders (order_id, line_no, customer_id, order_time, quantity, unit_price, amount, updated_at)
VALUES ('O1', 1, 'C1', '2026-11-01 09:00:00', 1, 10.50, 10.50, '2026-11-01 09:00:00'),
       ('O1', 2, 'C1', '2026-11-01 09:00:00', 2, 5.00, -10.00, '2026-11-01 09:00:00'),
       ('O2', 1, 'C3', '2026-10-20 09:00:00', 1, 99.00, 99.00, '2026-10-20 09:00:00');
"""


@pytest.fixture(scope="module")
def pg():
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"JDBC tests need a local PostgreSQL: {reason}")
    server = PostgresServer().start()
    server.execute(DDL)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jdbc_spark(spark):
    # The shared session was built without the driver on spark.jars; ADD JAR makes it loadable
    # for this session (pipelines/spark.py puts it on spark.jars in real runs).
    spark.sql(f"ADD JAR {JDBC_JAR}")
    return spark


@pytest.fixture(scope="module")
def env(tmp_path_factory, jdbc_spark, pg):
    from lake_io import Lake
    from pipelines.ingest.jdbc import jdbc_config_from_env

    root = tmp_path_factory.mktemp("ingest_jdbc")
    settings = load_settings(environ={"SCIM_HMAC_KEY": "test-key-0123456789abcdef"}, lake_root=str(root))
    cfg = jdbc_config_from_env(pg.env(), num_partitions=2)
    return {"settings": settings, "lake": Lake(settings, jdbc_spark), "cfg": cfg}


def _extract(env, spark, day):
    from pipelines.ingest.jdbc import extract_jdbc

    return extract_jdbc(env["settings"], spark, day, tables=("customers", "orders"), config=env["cfg"],
                        lake=env["lake"])


def test_incremental_extraction_picks_up_only_changed_rows(env, jdbc_spark, pg):
    lake = env["lake"]
    first = _extract(env, jdbc_spark, "2026-11-01")
    # C4 was changed after the end of 2026-11-01: not in that day's window
    assert first["crm_customers"]["input_records"] == 3
    assert first["crm_customers"]["written_records"] == 2  # C2 has birth month 13
    assert first["crm_customers"]["reasons"] == {"out_of_range": 1}
    assert first["crm_orders"]["input_records"] == 3
    assert first["crm_orders"]["reasons"] == {"negative_amount": 1}
    assert first["crm_customers"]["high_watermark"].startswith("2026-11-01 23:59:00")

    pg.execute("UPDATE crm.customers SET member_tier = '金卡', updated_at = '2026-11-02 09:30:00' WHERE customer_id = 'C1'")
    second = _extract(env, jdbc_spark, "2026-11-02")
    assert second["crm_customers"]["input_records"] == 2  # C1 (changed) and C4 (new), nothing else
    assert second["crm_orders"]["input_records"] == 0
    day2 = lake.read("bronze/crm_customers").where(F.col("batch_date") == "2026-11-02").toPandas()
    assert sorted(day2["customer_id"]) == ["C1", "C4"]
    assert set(day2["_source_file"]) == {"jdbc:crm.customers"}

    # re-running a day re-reads the same window: same rows, no duplicates
    again = _extract(env, jdbc_spark, "2026-11-02")
    assert again["crm_customers"]["input_records"] == 2
    assert lake.read("bronze/crm_customers").count() == 4

    rec = lake.read("_reports/reconciliation").where(F.col("source") == "crm_jdbc").toPandas()
    assert len(rec) == 4 and (rec["status"] == "ok").all()
    q = lake.read("quarantine").where(F.col("source") == "crm_jdbc").toPandas()
    assert sorted(q["reason_code"]) == ["negative_amount", "out_of_range"]
    assert q["line_no"].isna().all() and q["raw_payload"].str.contains('"customer_id"').all()


def test_silver_takes_the_latest_jdbc_version(env, jdbc_spark):
    from pipelines.ingest import build_silver

    build_silver(env["settings"], jdbc_spark, "2026-11-02", lake=env["lake"])
    customers = env["lake"].read("silver/crm_customers").toPandas().set_index("customer_id")
    assert customers.loc["C1", "member_tier"] == "金卡"
    assert customers.loc["C1", "phone_masked"] == "138****5678"
    orders = env["lake"].read("silver/orders").toPandas()
    assert str(orders.loc[orders["order_id"] == "O2", "amount"].iloc[0]) == "99.00"


def test_missing_credentials_name_the_variable():
    from pipelines.config import ConfigError
    from pipelines.ingest.jdbc import jdbc_config_from_env

    with pytest.raises(ConfigError, match="SCIM_CRM_JDBC_URL"):
        jdbc_config_from_env({})
    with pytest.raises(ConfigError, match="jdbc:postgresql"):
        jdbc_config_from_env({"SCIM_CRM_JDBC_URL": "postgres://x"})
