"""Loading the generated CRM into PostgreSQL (schema ``crm``) for the JDBC ingestion path.

The tables hold the *clean* latest state of the CRM (no injected dirt): one row per
customer (its last snapshot), order line, points transaction, communication and campaign,
each with an ``updated_at`` timestamp that an incremental JDBC read can filter on.
The schema is dropped and recreated on every load, so a load is repeatable.
"""

from __future__ import annotations

import pandas as pd

DDL = """
DROP SCHEMA IF EXISTS crm CASCADE;
CREATE SCHEMA crm;
CREATE TABLE crm.customers (
    customer_id text PRIMARY KEY, name text, gender text, mobile text, email text, birth_month smallint,
    province text, city text, address text, postcode text, store_id text, member_tier text,
    points_balance integer, register_date date, wechat_openid text, marketing_consent char(1),
    updated_at timestamp NOT NULL);
CREATE TABLE crm.orders (
    order_id text NOT NULL, line_no integer NOT NULL, customer_id text NOT NULL, order_time timestamp NOT NULL,
    store_id text, channel text, payment_method text, product_id text, product_name text, category text,
    quantity integer, unit_price numeric(10,2), amount numeric(12,2), coupon_code text, campaign_id text,
    updated_at timestamp NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE crm.points (
    txn_id text PRIMARY KEY, customer_id text NOT NULL, txn_time timestamp NOT NULL, points_delta integer,
    reason text, updated_at timestamp NOT NULL);
CREATE TABLE crm.communications (
    comm_id text PRIMARY KEY, customer_id text NOT NULL, comm_time timestamp NOT NULL, channel text,
    campaign_id text, direction text, outcome text, updated_at timestamp NOT NULL);
CREATE TABLE crm.campaigns (
    campaign_id text PRIMARY KEY, name text, platform text, start_date date, end_date date, coupon_code text,
    discount numeric(4,2), updated_at timestamp NOT NULL);
"""
INDEXES = """
CREATE INDEX ON crm.customers (updated_at);
CREATE INDEX ON crm.orders (updated_at);
CREATE INDEX ON crm.orders (customer_id);
CREATE INDEX ON crm.points (updated_at);
CREATE INDEX ON crm.communications (updated_at);
"""
COLUMNS = {
    "customers": ["customer_id", "name", "gender", "mobile", "email", "birth_month", "province", "city", "address",
                  "postcode", "store_id", "member_tier", "points_balance", "register_date", "wechat_openid",
                  "marketing_consent", "updated_at"],
    "orders": ["order_id", "line_no", "customer_id", "order_time", "store_id", "channel", "payment_method",
               "product_id", "product_name", "category", "quantity", "unit_price", "amount", "coupon_code",
               "campaign_id", "updated_at"],
    "points": ["txn_id", "customer_id", "txn_time", "points_delta", "reason", "updated_at"],
    "communications": ["comm_id", "customer_id", "comm_time", "channel", "campaign_id", "direction", "outcome",
                       "updated_at"],
    "campaigns": ["campaign_id", "name", "platform", "start_date", "end_date", "coupon_code", "discount",
                  "updated_at"],
}
_FRAME = {"customers.csv": "customers", "orders.csv": "orders", "points.csv": "points",
          "communications.csv": "communications"}


class PostgresSink:
    """Receives the clean CRM frames chunk by chunk and COPYs them into ``crm.*``."""

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is installed with the project
            raise RuntimeError("--crm-postgres needs psycopg 3: pip install 'psycopg[binary]'") from exc
        try:
            self.conn = psycopg.connect(url, autocommit=False)
        except psycopg.OperationalError as exc:
            raise RuntimeError(f"--crm-postgres: cannot connect to {url.split('@')[-1]}: {exc}") from exc
        with self.conn.cursor() as cur:
            cur.execute(DDL)
        self.rows: dict[str, int] = {t: 0 for t in COLUMNS}

    def write(self, table: str, frame: pd.DataFrame) -> None:
        """COPY the rows of ``frame`` (the table's columns) into ``crm.<table>``."""
        if frame.empty:
            return
        cols = COLUMNS[table]
        data = frame[cols].to_csv(index=False, header=False, lineterminator="\n", na_rep="")
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY crm.{table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)") as cp:
                cp.write(data)
        self.rows[table] += len(frame)

    def write_chunk(self, frames: dict) -> None:
        """The CRM frames of one person chunk: customers keep only their latest snapshot."""
        for name, table in _FRAME.items():
            f = frames[name]
            if table == "customers":
                f = f.drop_duplicates("customer_id", keep="last")
            self.write(table, f)

    def close(self) -> dict[str, int]:
        """Create the indexes, commit, and return the rows loaded per table."""
        with self.conn.cursor() as cur:
            cur.execute(INDEXES)
        self.conn.commit()
        self.conn.close()
        return dict(self.rows)
