"""`scim link`, `scim evaluate-identity`, the source mappings and the nightly lake step."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.cli import main


@pytest.fixture
def hmac_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIM_HMAC_KEY", "test-key-0123456789abcdef")
    monkeypatch.setenv("SCIM_LAKE_ROOT", str(tmp_path / "lake"))


def test_scim_link_on_raw_contract_files(tmp_path, hmac_env, capsys):
    crm = pd.DataFrame({
        "source": ["crm", "crm", "crm", "crm"], "record_id": ["1", "2", "3", "4"],
        "name": ["宋小姐", "宋女士", "王先生", "李娜"], "phone": ["13812345678", "+86 138-1234-5678", "13987654321", None],
        "birth_date": ["--05", "--05", None, "1990-01-02"],
    })
    weibo = pd.DataFrame({  # no name, email, address... columns at all: treated as null
        "source": ["weibo", "weibo"], "record_id": ["u1", "u2"], "nickname": ["songxiaomei88", "摄影师阿杰"],
        "phone": ["138****5678", None], "birth_date": ["--05-12", "1988"],
    })
    crm.to_csv(tmp_path / "crm.csv", index=False)
    weibo.to_parquet(tmp_path / "weibo.parquet")
    out = tmp_path / "out"
    assert main(["link", str(tmp_path / "crm.csv"), str(tmp_path / "weibo.parquet"), "--out", str(out)]) == 0
    clusters = pd.read_parquet(out / "clusters.parquet")
    assert len(clusters) == 6 and {"source", "record_id", "customer_key"} <= set(clusters.columns)
    key = clusters.set_index(["source", "record_id"])["customer_key"]
    assert key[("crm", "1")] == key[("crm", "2")]  # one phone in two formats: a deterministic link
    assert key[("crm", "3")] != key[("crm", "1")]
    links = pd.read_parquet(out / "links.parquet")
    assert (links.loc[links["link_type"] == "deterministic", "rule"] == "phone").all()
    assert json.loads((out / "summary.json").read_text())["records"] == 6
    assert "6 records" in capsys.readouterr().out


def test_scim_link_refuses_records_without_ids(tmp_path, hmac_env, capsys):
    pd.DataFrame({"source": ["crm"], "name": ["王先生"]}).to_csv(tmp_path / "bad.csv", index=False)
    assert main(["link", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "bad.csv: missing required column(s) ['record_id']" in capsys.readouterr().out
    pd.DataFrame({"source": ["crm", "crm"], "record_id": ["1", ""]}).to_csv(tmp_path / "empty.csv", index=False)
    assert main(["link", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "record 2 has an empty record_id" in capsys.readouterr().out


def test_evaluate_identity_command(tmp_path, capsys):
    truth = pd.DataFrame({"source": ["crm", "weibo", "wechat"], "record_id": ["1", "1", "1"], "person_id": ["P", "P", "Q"]})
    clusters = pd.DataFrame({"source": ["crm", "weibo", "wechat"], "record_id": ["1", "1", "1"],
                             "customer_key": ["K", "K", "K"]})
    truth.to_csv(tmp_path / "truth.csv", index=False)
    clusters.to_parquet(tmp_path / "clusters.parquet")
    code = main(["evaluate-identity", "--clusters", str(tmp_path / "clusters.parquet"),
                 "--truth", str(tmp_path / "truth.csv"), "--json", str(tmp_path / "m.json")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "overall" in printed and "crm-weibo" in printed
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["overall"]["precision"] == pytest.approx(1 / 3) and metrics["overall"]["recall"] == 1.0


def test_person_sources_map_each_source(spark):
    from transforms.person_sources import RAW_COLUMNS, to_raw_person_records

    crm = spark.createDataFrame([("C1", "宋小姐", "女", "13812345678", "5", "oX1"), ("C2", "王先生", "男", None, "", None)],
                                "customer_id string, name string, gender string, mobile string, birth_month string, "
                                "wechat_openid string")
    rows = {r["record_id"]: r for r in to_raw_person_records(crm, "crm").collect()}
    assert rows["C1"]["gender"] == "f" and rows["C1"]["birth_date"] == "--05" and rows["C1"]["phone"] == "13812345678"
    assert rows["C1"]["wechat_openid"] == "oX1" and rows["C2"]["birth_date"] is None and rows["C2"]["gender"] == "m"
    weibo = spark.createDataFrame(
        [("9", "songxiaomei88", "f", "05-12", "合作请联系 xm@163.com QQ:123456789", "138****5678"),
         ("8", "阿杰", "n", "1990", "电话 139-1234-5678", None)],
        "uid string, screen_name string, gender string, birthday string, description string, masked_phone string")
    rows = {r["record_id"]: r for r in to_raw_person_records(weibo, "weibo").collect()}
    assert rows["9"]["nickname"] == "songxiaomei88" and rows["9"]["birth_date"] == "--05-12"
    assert rows["9"]["email"] == "xm@163.com" and rows["9"]["qq"] == "123456789" and rows["9"]["phone"] == "138****5678"
    assert rows["8"]["gender"] is None and rows["8"]["birth_date"] == "1990" and rows["8"]["phone"] == "13912345678"
    wechat = spark.createDataFrame([("o1", "u1", "小美", 2, "广东", "广州", None)],
                                   "openid string, unionid string, nickname string, sex int, province string, "
                                   "city string, phone string")
    out = to_raw_person_records(wechat, "wechat")
    assert out.columns == RAW_COLUMNS
    row = out.first()
    assert (row["record_id"], row["wechat_openid"], row["wechat_unionid"], row["gender"]) == ("o1", "o1", "u1", "f")
    with pytest.raises(ValueError, match="no 'uid' column"):
        to_raw_person_records(crm, "weibo")


def test_resolve_identities_writes_lake_tables_and_reruns_stably(spark, settings):
    from lake_io import Lake
    from pipelines.identity import resolve_identities
    from test_identity_engine import build_records

    records, _ = build_records(persons=24)
    first = resolve_identities(settings, spark, records, "2026-11-01")
    assert first["records"] == len(records)
    lake = Lake(settings, spark)
    for table in ("silver/identity_clusters", "silver/identity_links", "silver/identity_lineage",
                  "silver/identity_review_queue"):
        assert lake.exists(table), table
    night1 = lake.read("silver/identity_clusters").toPandas()
    # night 2, run twice: the second run replaces the first and gives the same keys
    second = resolve_identities(settings, spark, records, "2026-11-02")
    again = resolve_identities(settings, spark, records, "2026-11-02")
    clusters = lake.read("silver/identity_clusters").toPandas()
    assert len(clusters) == 2 * len(records)
    n1 = night1.set_index(["source", "record_id"])["customer_key"].sort_index()
    n2 = clusters[clusters["run_date"].astype(str) == "2026-11-02"].set_index(["source", "record_id"])["customer_key"].sort_index()
    pd.testing.assert_series_equal(n1, n2)
    assert second["lineage_changes"] == {} and again["clusters"] == first["clusters"]
    assert any(u.endswith("waterfall.html") for u in first["reports"])
