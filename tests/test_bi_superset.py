"""The Superset BI demo, driven through Superset's HTTP API (slow; needs `make bi-demo`'s .venv-bi).

Superset runs from its own virtual environment (docs/bi.md); the test is skipped where that
environment is absent. It builds a tiny gold layer (no Spark), starts Superset on a free
localhost port with a throw-away home, builds the dashboard from dashboard.yaml and checks
that every chart's saved query returns the rows the gold tables hold; with Debian's
Chromium present it also renders the dashboard to a PNG.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from lake_io import Lake
from pipelines.bi import catalog as bi
from pipelines.bi import superset as sup

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bi"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (VENV / "bin" / "superset").exists(),
                       reason="Superset's environment .venv-bi is absent (make bi-demo creates it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gold(settings) -> None:
    lake = Lake(settings)
    days = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    lake.merge(pa.table({
        "date": pa.array(days * 2, pa.date32()), "brand": ["花漾"] * 3 + ["露薇"] * 3,
        "brand_role": ["own"] * 3 + ["competitor"] * 3,
        "positive": [4, 5, 2, 1, 1, 1], "negative": [1, 1, 6, 0, 0, 3],
        "brand_negative_spike": [False, False, True, False, False, False]}),
        "gold/brand_sentiment_daily", keys=["date", "brand"], description="Daily brand sentiment")
    lake.merge(pa.table({"date": pa.array(days * 2, pa.date32()), "brand": ["花漾"] * 3 + ["露薇"] * 3,
                         "mentions": [5, 6, 8, 1, 1, 3]}), "gold/share_of_voice_daily", keys=["date", "brand"])
    lake.merge(pa.table({
        "campaign_id": ["c1", "c2", "c3"], "campaign_name": ["双十一", "会员日", "春节"], "platform": ["all", "wechat", "weibo"],
        "start_date": pa.array([dt.date(2026, 10, 20), dt.date(2026, 10, 15), dt.date(2026, 1, 20)], pa.date32()),
        "participants": [28, 4, 0], "participant_buyers": [7, 1, 0], "conversion_rate": [0.25, 0.25, None],
        "revenue": pa.array([Decimal("3047.25"), Decimal("120.00"), Decimal("990.00")], pa.decimal128(18, 2))}),
        "gold/campaign_report", keys=["campaign_id"])
    lake.merge(pa.table({"customer_key": [f"k{i}" for i in range(7)],
                         "lifecycle_segment": ["prospect", "prospect", "new", "existing", "existing", "existing", "loyal"]}),
               "gold/dim_customer", keys=["customer_key"], description="One row per person",
               column_comments={"lifecycle_segment": "prospect / new / existing / loyal"})
    bi.refresh_catalog(settings)


@pytest.fixture(scope="module")
def superset(tmp_path_factory):
    home = tmp_path_factory.mktemp("superset_home")
    password = "test-" + home.name
    sup.prepare_home(VENV, home, password)
    port = _free_port()
    proc = sup.start_server(VENV, home, port)
    try:
        yield f"http://127.0.0.1:{port}", password
    finally:
        sup.stop_server(proc)


def test_dashboard_charts_return_the_gold_rows(settings, superset, tmp_path):
    base, password = superset
    _gold(settings)
    client = sup.Client(base, password)
    built = sup.build_dashboard(client, bi.sqlalchemy_url(settings))
    rows = {name: sup.chart_rows(client, chart_id) for name, chart_id in built["charts"].items()}
    assert rows == {
        "Own brands, negative:positive ratio per day (spike flag = 1)": 3,  # 3 days, own brand only
        "Share of voice per day (mentions by brand)": 6,                   # 3 days x 2 brands
        "Campaign conversion (campaigns with social participants)": 2,     # participants > 0
        "Customers by lifecycle segment": 4,                               # 4 segments
    }
    data = client.call("GET", f"/api/v1/chart/{built['charts']['Customers by lifecycle segment']}/data/")
    assert {r["lifecycle_segment"]: r["customers"] for r in data["result"][0]["data"]} == {
        "prospect": 2, "new": 1, "existing": 3, "loyal": 1}
    ratio = client.call("GET", f"/api/v1/chart/{built['charts']['Own brands, negative:positive ratio per day (spike flag = 1)']}/data/")
    by_day = sorted((r["date"], r["negative_positive_ratio"], r["negative_spike"]) for r in ratio["result"][0]["data"])
    assert [(round(x, 2), s) for _, x, s in by_day] == [(0.25, 0), (0.2, 0), (3.0, 1)]
    # the column comments reached Superset's dataset (reflected through duckdb-engine)
    ds = [d for d in client.find("dataset", table_name="dim_customer") if d["database"]["id"] == built["database_id"]][0]
    cols = client.call("GET", f"/api/v1/dataset/{ds['id']}")["result"]["columns"]
    assert {c["column_name"]: c.get("description") for c in cols}["lifecycle_segment"] == "prospect / new / existing / loyal"
    # a second build replaces the dashboard instead of adding one
    again = sup.build_dashboard(client, bi.sqlalchemy_url(settings))
    assert len(client.find("dashboard", slug="scim-health")) == 1 and again["database_id"] == built["database_id"]
    if shutil.which("chromium") and shutil.which("chromedriver"):
        png = tmp_path / "dashboard.png"
        subprocess.run([str(VENV / "bin" / "python"), str(ROOT / "pipelines" / "bi" / "screenshot.py"), base,
                        f"/superset/dashboard/{again['url'].rstrip('/').rsplit('/', 1)[1]}/", str(png),
                        "--password", password], check=True, timeout=300)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
