"""The sample-source generator: distributions, file contract, dirt truth, determinism."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sample_data
from sample_data import vocab
from sample_data.landing import DIRT_KINDS
from sample_data.persons import make_world, person_chunk

START = "2026-11-01"
PREFIXES = {p for p, _ in vocab.MOBILE_PREFIXES}


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("gen")
    summary = sample_data.generate(root, persons=3000, days=3, start=START, seed=11)
    return root, summary


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    world = make_world(20_000, seed=5)
    return person_chunk(world, 0, 20_000, np.datetime64(START), 2, seed=5)


def _truth(root: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(root / "truth" / f"{name}.parquet")


def _dirty_lines(root: Path) -> dict[tuple[str, int], str]:
    d = _truth(root, "dirt")
    return {(f, int(n)): k for f, n, k in zip(d["file"], d["line_no"], d["kind"])}


def _id_check(body: str) -> str:
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]


# -- people -------------------------------------------------------------------------------
def test_participation_shares_follow_the_survey():
    world = make_world(200_000, seed=3)
    shares = np.bincount(world.participation[: world.n], minlength=3) / world.n
    assert shares == pytest.approx([0.05, 0.75, 0.20], abs=0.006)


def test_traditional_script_share_is_about_eight_percent(people):
    share = (people["script"] == "traditional").mean()
    assert 0.065 <= share <= 0.095
    trad = people[people["script"] == "traditional"]
    assert (trad["full_name"] != trad["full_name_simplified"]).mean() > 0.5
    assert set(trad["origin"]) <= {"hk", "tw"}


def test_phone_numbers_use_every_current_prefix(people):
    phones = people["phone"]
    mainland = phones[~phones.str.startswith("+")]
    assert mainland.str.fullmatch(r"1\d{10}").all()
    assert set(mainland.str[:3]) <= PREFIXES
    for group in ("16", "17", "19", "14"):
        assert mainland.str.startswith(group).any(), group
    foreign = phones[phones.str.startswith("+")]
    assert foreign.str.fullmatch(r"\+852[569]\d{7}|\+8869\d{8}").all()


def test_id_numbers_have_valid_check_digits_and_match_birth_and_gender(people):
    ids = people["id_number"]
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert all(_id_check(i[:17]) == i[17] for i in ids)
    birth = pd.to_datetime(people["birth_date"]).dt.strftime("%Y%m%d")
    assert (ids.str[6:14] == birth).all()
    odd = ids.str[16].astype(int) % 2 == 1
    assert (odd == (people["gender"] == "m")).all()


def test_emails_follow_qq_numbers_and_pinyin(people):
    qq_mail = people[people["email"].str.endswith("@qq.com")]
    assert (qq_mail["email"].str.split("@").str[0] == qq_mail["qq"]).all()
    netease = people[people["email"].str.contains("@163.com|@126.com", regex=True)]
    local = netease["email"].str.split("@").str[0].str.replace(r"[\d_]", "", regex=True)
    expected = netease["surname_pinyin"] + netease["given_pinyin"]
    reversed_ = netease["given_pinyin"] + netease["surname_pinyin"]
    assert ((local == expected) | (local == reversed_)).all()


def test_interests_cover_the_taxonomy(lake):
    root, _ = lake
    persons = _truth(root, "persons")
    seen = Counter(i for row in persons["interests"] for i in row)
    assert len(vocab.INTERESTS) >= 15
    assert set(seen) == set(vocab.INTERESTS)
    assert set(persons["participation"]) == {"creator", "occasional", "silent"}
    events = Counter(e["event"] for row in persons["life_events"] for e in row)
    assert set(events) == set(vocab.LIFE_EVENTS)


# -- overlap and accounts -----------------------------------------------------------------
def test_source_overlap_is_realistic(lake):
    root, _ = lake
    p = _truth(root, "persons")
    p = p[p["kind"] == "person"]
    assert p["in_crm"].mean() == pytest.approx(0.70, abs=0.04)
    assert p["on_weibo"].mean() == pytest.approx(0.40, abs=0.05)
    assert p["on_wechat"].mean() == pytest.approx(0.50, abs=0.04)
    wx = p[p["on_wechat"]]
    assert wx["wechat_unionid"].notna().mean() == pytest.approx(0.86, abs=0.04)


def test_truth_accounts_map_every_record(lake):
    root, _ = lake
    acc = _truth(root, "accounts")
    persons = _truth(root, "persons").set_index("person_id")
    assert acc["person_id"].isin(persons.index).all()
    assert not acc.duplicated(["source", "record_id"]).any()
    by = {s: set(g["record_id"]) for s, g in acc.groupby("source")}
    land = root / "landing"
    for f in land.glob("crm/*/customers.csv"):
        for row in _csv_rows(f):
            if len(row) >= 17 and row[0].isdigit():
                assert row[0] in by["crm"]
    for f in land.glob("weibo/*/users.jsonl"):
        for rec in _json_rows(f):
            assert rec["uid"] in by["weibo"]
    for f in land.glob("wechat/*/followers.jsonl"):
        for rec in _json_rows(f):
            assert rec["openid"] in by["wechat"]
    kol = persons[persons["kind"].isin(["kol", "brand_account"])]
    kol_acc = acc[acc["person_id"].isin(kol.index)]
    assert set(kol_acc["source"]) == {"weibo"} and len(kol_acc) == len(kol)


def test_crm_duplicates_between_three_and_six_percent(lake):
    root, _ = lake
    crm = _truth(root, "accounts").query("source == 'crm'")
    share = crm["duplicate"].mean()
    assert 0.03 <= share <= 0.06
    dup_people = crm[crm["duplicate"]]["person_id"]
    assert (crm["person_id"].isin(dup_people).groupby(crm["person_id"]).size() >= 1).all()
    assert crm.groupby("person_id").size().max() == 2


def test_crm_binds_openids_and_wechat_authorises_phones(lake):
    root, _ = lake
    cust = pd.concat([_clean_csv(f) for f in (root / "landing" / "crm").glob("*/customers.csv")])
    cust = cust.drop_duplicates("customer_id")
    assert cust["wechat_openid"].notna().mean() == pytest.approx(0.15, abs=0.04)
    fol = pd.concat([pd.DataFrame(_json_rows(f)) for f in (root / "landing" / "wechat").glob("*/followers.jsonl")])
    fol = fol.drop_duplicates("openid")
    assert fol["phone"].notna().mean() == pytest.approx(0.30, abs=0.05)
    honorific = cust["name"].dropna().str.contains("先生|女士|小姐", regex=True).mean()
    assert honorific > 0.7
    acc = _truth(root, "accounts")
    wx = set(acc[acc["source"] == "wechat"]["record_id"])
    assert set(cust["wechat_openid"].dropna()) <= wx


# -- files --------------------------------------------------------------------------------
def _csv_rows(path: Path, encoding: str = "gbk") -> list[list[str]]:
    text = path.read_bytes().decode(encoding, errors="replace")
    return list(csv.reader(io.StringIO(text)))[1:]


def _clean_csv(path: Path) -> pd.DataFrame:
    dirty = _dirty_lines(path.parents[3])
    rel = str(path.relative_to(path.parents[3]))
    lines = path.read_bytes().split(b"\n")
    keep = [ln for i, ln in enumerate(lines, start=1) if ln and (rel, i) not in dirty]
    text = b"\n".join(keep).decode("gbk")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).replace("", None)


def _json_rows(path: Path) -> list[dict]:
    dirty = _dirty_lines(path.parents[3])
    rel = str(path.relative_to(path.parents[3]))
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if dirty.get((rel, i)) in ("malformed_json", "truncated_line", "duplicate"):
            continue
        out.append(json.loads(line))
    return out


def test_crm_files_are_gbk(lake):
    root, _ = lake
    dirty = _dirty_lines(root)
    for f in (root / "landing" / "crm").glob("*/*.csv"):
        rel = str(f.relative_to(root))
        raw = f.read_bytes()
        for i, line in enumerate(raw.split(b"\n"), start=1):
            if dirty.get((rel, i)) in ("mojibake", "truncated_line"):
                continue
            line.decode("gbk")  # strict: raises on anything that is not GBK
        if f.name == "customers.csv" and "2026-11-01" in rel:
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
    manifest = json.loads((root / "landing" / "crm" / START / "manifest.json").read_text())
    assert {f["encoding"] for f in manifest["files"]} == {"gbk"}


def test_manifests_match_files_and_success_comes_last(lake):
    root, summary = lake
    for src in ("crm", "weibo", "wechat"):
        for d in range(3):
            date = str(np.datetime64(START) + d)
            folder = root / "landing" / src / date
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["source"] == src and manifest["date"] == date
            names = {f["name"] for f in manifest["files"]}
            assert names == {p.name for p in folder.iterdir()} - {"manifest.json", "_SUCCESS"}
            for f in manifest["files"]:
                data = (folder / f["name"]).read_bytes()
                lines = data.count(b"\n") - (1 if f["name"].endswith(".csv") else 0)
                assert f["records"] == lines
                assert f["sha256"] == hashlib.sha256(data).hexdigest()
                assert summary["files"][f"{src}/{f['name']}"][date] == f["records"]
            assert (folder / "_SUCCESS").stat().st_mtime_ns >= (folder / "manifest.json").stat().st_mtime_ns
    first = summary["files"]
    assert first["crm/orders.csv"][START] > 10 * first["crm/orders.csv"]["2026-11-02"]
    assert first["weibo/posts.jsonl"]["2026-11-02"] > 0


def test_every_dirt_kind_is_recorded_where_it_is(lake):
    root, summary = lake
    dirt = _truth(root, "dirt")
    assert set(dirt["kind"]) == set(DIRT_KINDS)
    assert summary["dirt"] == dirt["kind"].value_counts().to_dict()
    cache: dict[str, list[bytes]] = {}
    for row in dirt.itertuples():
        lines = cache.setdefault(row.file, (root / row.file).read_bytes().split(b"\n"))
        raw = lines[row.line_no - 1]
        is_csv = row.file.endswith(".csv")
        text = raw.decode("gbk" if is_csv else "utf-8", errors="replace")
        kind = row.kind
        if kind == "duplicate":
            assert raw == lines[row.line_no - 2]
        elif kind == "malformed_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
        elif kind == "truncated_line":
            if is_csv:
                header = lines[0].decode("gbk").split(",")
                assert len(next(csv.reader([text]))) < len(header) or text.count('"') % 2 == 1
            else:
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
        elif kind == "mojibake":
            if is_csv:
                assert raw.decode("utf-8", errors="replace") != text or b"\xef" in raw or not raw.isascii()
            else:  # some field reads back as Chinese once its GB18030 bytes are decoded as UTF-8
                rec = json.loads(text)
                undone = [str(v).encode("gb18030", "replace").decode("utf-8", "ignore") for v in rec.values()
                          if isinstance(v, str) and not v.isascii()]
                assert any(len(re.findall("[\u4e00-\u9fff]", u)) >= 2 for u in undone), text
        elif kind == "future_date":
            years = [int(y) for y in re.findall(r"(20[3-9]\d)-\d\d-\d\d", text)]
            unix = re.search(r'"subscribe_time":(\d+)', text)
            assert years or (unix and int(unix.group(1)) > 1_900_000_000)
        elif kind == "negative_amount":
            assert ",-" in text
        elif kind == "unknown_extra_field":
            assert "_ext_" in text or ",EXT" in text
        elif kind == "wrong_type":
            if not is_csv:
                rec = json.loads(text)
                assert any(isinstance(rec.get(k), t) for k, t in (
                    ("followers_count", str), ("reposts_count", str), ("follower_uid", int),
                    ("subscribe_time", str), ("event_time", int)))
        if kind not in ("truncated_line", "malformed_json") and not (kind == "mojibake" and is_csv):
            assert row.record_key.split("|")[0] in text


# -- posts ----------------------------------------------------------------------------------
def test_post_sentiment_is_realistic_and_not_a_single_token(lake):
    root, _ = lake
    labels = _truth(root, "post_labels")
    posts = pd.concat([pd.DataFrame(_json_rows(f)) for f in (root / "landing" / "weibo").glob("*/posts.jsonl")])
    df = posts.drop_duplicates("mid").merge(labels, on="mid")
    brand = df[df["brands"].map(lambda b: "花漾" in list(b))]
    assert len(brand) > 100
    neg = (brand["sentiment"] == "neg").mean()
    assert 0.15 <= neg <= 0.35
    assert set(brand["sentiment"]) == {"pos", "neu", "neg"}
    for token in ("[哈哈]", "[泪]", "[微笑]", "但是", "不"):
        hit = df[df["text"].str.contains(token, regex=False)]
        assert hit["sentiment"].nunique() >= 2, token
    assert df["text"].str.contains("#").any() and df["text"].str.contains("@").any()
    reposts = df[df["retweeted_mid"].notna()]
    assert len(reposts) and reposts["retweeted_mid"].isin(set(labels["mid"])).all()
    assert reposts["text"].str.contains("//@").any()
    assert df["text"].str.len().max() <= 200


def test_weibo_profiles_leak_contacts_sometimes(lake):
    root, _ = lake
    users = pd.concat([pd.DataFrame(_json_rows(f)) for f in (root / "landing" / "weibo").glob("*/users.jsonl")])
    users = users.drop_duplicates("uid")
    masked = users["masked_phone"].dropna()
    assert len(masked) and masked.str.fullmatch(r"1\d\d\*{4}\d{4}").all()
    assert users["description"].str.contains(r"@|QQ|扣扣|企鹅号", regex=True).any()
    assert set(users["birthday"].map(lambda b: len(b))) >= {0, 4, 5, 10}
    assert (users["followers_count"].max()) > 100_000


# -- determinism, API, CLI ---------------------------------------------------------------------
def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sample_data.generate(a, persons=200, days=2, start=START, seed=7, chunk_size=120, workers=1)
    sample_data.generate(b, persons=200, days=2, start=START, seed=7, chunk_size=120, workers=2)
    sample_data.generate(c, persons=200, days=2, start=START, seed=8, chunk_size=120)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    assert da.keys() == dc.keys()
    assert all(da[k] != dc[k] for k in da if k.endswith(("customers.csv", "posts.jsonl", "persons.parquet")))


def test_bad_arguments_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="persons"):
        sample_data.generate(tmp_path, persons=0, days=1, start=START, seed=1)
    with pytest.raises(LookupError):
        sample_data.generate(tmp_path, persons=10, days=1, start=START, seed=1, crm_encoding="no-such-codec")
    with pytest.raises(ValueError, match="dirt_rate"):
        sample_data.generate(tmp_path, persons=10, days=1, start=START, seed=1, dirt_rate=2)


def test_utf8_crm_and_zero_dirt(tmp_path):
    s = sample_data.generate(tmp_path, persons=150, days=1, start=START, seed=2, dirt_rate=0, crm_encoding="utf-8")
    assert s["dirt"] == {}
    text = (tmp_path / "landing" / "crm" / START / "customers.csv").read_text(encoding="utf-8")
    assert "先生" in text or "女士" in text or "小姐" in text
    for f in (tmp_path / "landing").rglob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            json.loads(line)


def test_cli_generate_prints_a_summary(tmp_path, capsys):
    from pipelines.cli import main

    code = main(["generate", "--persons", "120", "--days", "1", "--seed", "4", "--lake", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "chunk 1/1" in out and "crm/orders.csv" in out and "dirt injected" in out
    assert (tmp_path / "landing" / "weibo" / START / "_SUCCESS").exists()


def test_bench_generate_reports_throughput():
    from sample_data.bench import bench_generate

    r = bench_generate(100)
    assert r["persons"] == 100 and r["seconds"] > 0 and r["records"] > 0


# -- PostgreSQL (the JDBC path) ------------------------------------------------------------------
def _pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    return None


@pytest.fixture(scope="module")
def postgres_url():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install -y postgresql)")
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
    tmp = tempfile.mkdtemp(prefix="scim_pg_")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(tmp, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(tmp, "data")
    try:
        subprocess.run(prefix + [str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres"], check=True,
                       capture_output=True, timeout=120)
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", data, "-w", "-l", os.path.join(tmp, "log"), "-o",
                                 f"-k {tmp} -p {port} -c listen_addresses=''", "start"], check=True,
                       capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.skip(f"could not start a local PostgreSQL server: {exc}")
    yield f"postgresql://postgres@/postgres?host={tmp}&port={port}"
    subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", data, "-m", "fast", "stop"], capture_output=True,
                   timeout=120)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.postgres
def test_crm_loads_into_postgres(tmp_path, postgres_url):
    import psycopg

    sample_data.generate(tmp_path, persons=200, days=2, start=START, seed=9, crm_postgres=postgres_url)
    acc = _truth(tmp_path, "accounts").query("source == 'crm'")
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'crm'")}
        assert tables == {"customers", "orders", "points", "communications", "campaigns"}
        for t in tables:
            cols = {r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema='crm' AND table_name=%s",
                (t,))}
            assert "updated_at" in cols
        ids = {r[0] for r in conn.execute("SELECT customer_id FROM crm.customers")}
        assert ids == set(acc["record_id"])
        (neg,) = conn.execute("SELECT count(*) FROM crm.orders WHERE amount < 0").fetchone()
        assert neg == 0
        (n_orders,) = conn.execute("SELECT count(*) FROM crm.orders").fetchone()
        assert n_orders > 0


def test_orders_are_seasonal_and_coupons_belong_to_running_campaigns(lake):
    root, _ = lake
    orders = _clean_csv(root / "landing" / "crm" / START / "orders.csv")
    camps = _clean_csv(root / "landing" / "crm" / START / "campaigns.csv").set_index("campaign_id")
    day = orders["order_time"].str[:10]
    per_day = day.value_counts()
    assert per_day.get("2025-11-11", 0) > 4 * per_day.median()
    assert per_day.get("2025-06-18", 0) > 2 * per_day.median()
    used = orders.dropna(subset=["coupon_code"])
    assert len(used) > 0
    c = camps.loc[used["campaign_id"]]
    assert (c["coupon_code"].to_numpy() == used["coupon_code"].to_numpy()).all()
    d = day.loc[used.index].to_numpy()
    assert ((c["start_date"].to_numpy() <= d) & (d <= c["end_date"].to_numpy())).all()


def test_posting_follows_participation(lake):
    root, _ = lake
    persons = _truth(root, "persons").query("kind == 'person' and on_weibo")
    posts = _truth(root, "post_labels")
    n = posts.groupby("person_id").size().reindex(persons["person_id"]).fillna(0).to_numpy()
    part = persons["participation"].to_numpy()
    assert n[part == "silent"].sum() == 0
    assert n[part == "creator"].mean() > 5 * n[part == "occasional"].mean() > 0
