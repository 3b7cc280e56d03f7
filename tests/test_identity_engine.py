"""The identity engine end to end on small hand-built standardised records: deterministic and
probabilistic links, guard rails, reviewer decisions, stable keys, and DuckDB vs Spark."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest

from transforms.matching.engine import EngineConfig, resolve

SURNAMES = [("宋", "song"), ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
            ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu")]
GIVEN = [("小美", "xiaomei"), ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("静", "jing"), ("强", "qiang"),
         ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("杰", "jie"), ("婷", "ting"), ("浩然", "haoran")]
CITIES = [("广东", "广州"), ("广东", "深圳"), ("北京", "北京"), ("上海", "上海"), ("浙江", "杭州"), ("四川", "成都")]


def build_records(persons: int = 60, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardised records of ``persons`` people in CRM, Weibo and WeChat, and their truth.

    CRM: surname-only names (honorific stripped), full phone, birth month; Weibo: a pinyin
    nickname, a masked phone and a partial birthday; WeChat: a pinyin nickname and the openid
    the CRM also holds for a third of the people.
    """
    rnd = random.Random(seed)
    rows, truth = [], []
    for p in range(persons):
        (s, sp), (g, gp) = SURNAMES[p % len(SURNAMES)], GIVEN[(p * 5 + p // 12) % len(GIVEN)]
        gender = "f" if p % 2 else "m"
        month, day, year = 1 + p % 12, 1 + (p * 7) % 28, 1970 + p % 30
        prov, city = CITIES[p % len(CITIES)]
        phone = f"1{rnd.choice('3589')}{rnd.randint(0, 9)}{rnd.randint(10000000, 99999999)}"
        bound = p % 3 == 0
        rows.append(dict(source="crm", record_id=f"C{p:03d}", full_name=s, surname=s, surname_pinyin=sp,
                         name_pinyin=sp, gender=gender, birth_month=month, phone_hash=f"ph{phone}",
                         phone_prefix3=phone[:3], phone_last4=phone[-4:], province=prov, city=city,
                         wechat_openid_hash=f"oh{p}" if bound else None))
        truth.append(("crm", f"C{p:03d}", p))
        rows.append(dict(source="weibo", record_id=f"W{p:03d}", nickname=f"{sp}{gp}{p % 90 + 10}",
                         nickname_latin=f"{sp}{gp}", gender=gender, birth_year=year if p % 2 else None,
                         birth_month=month, birth_day=day, phone_prefix3=phone[:3], phone_last4=phone[-4:],
                         province=prov, city=city))
        truth.append(("weibo", f"W{p:03d}", p))
        if p % 2 == 0:
            rows.append(dict(source="wechat", record_id=f"X{p:03d}", nickname=f"{s}{g}", nickname_latin=f"{sp}{gp}",
                             gender=gender, province=prov, city=city, wechat_openid_hash=f"oh{p}"))
            truth.append(("wechat", f"X{p:03d}", p))
    truth_df = pd.DataFrame(truth, columns=["source", "record_id", "person_id"]).astype(str)
    return pd.DataFrame(rows), truth_df


CONFIG = EngineConfig(match_threshold=0.95, review_threshold=0.5, u_max_pairs=2e4)


@pytest.fixture(scope="module")
def data():
    return build_records()


@pytest.fixture(scope="module")
def first_run(data):
    records, _ = data
    return resolve(records, config=CONFIG, run_date="2026-11-01")


def _partition(clusters: pd.DataFrame) -> set[frozenset]:
    uid = clusters["source"] + ":" + clusters["record_id"]
    return {frozenset(g) for g in uid.groupby(clusters["customer_key"]).agg(list)}


def test_engine_links_sources_with_evidence(first_run, data):
    from transforms.matching.metrics import evaluate_clusters

    res = first_run
    metrics = evaluate_clusters(res.clusters, data[1])
    assert metrics["overall"]["precision"] == 1.0
    # the masked phone + nickname + birthday evidence finds most CRM-Weibo pairs
    assert metrics["by_source_pair"]["crm-weibo"]["recall"] >= 0.8
    assert metrics["by_source_pair"]["crm-wechat"]["correct_pairs"] >= 10  # the bound openids
    links = res.links
    det = links[links["link_type"] == "deterministic"]
    assert set(det["rule"]) == {"wechat_openid"} and det["accepted"].all()
    prob = links[(links["link_type"] == "probabilistic") & (links["status"] == "merged")]
    assert len(prob) > 0 and (prob["match_probability"] >= CONFIG.match_threshold).all()
    evidence = json.loads(prob["evidence"].iloc[0])
    assert {"name", "handle", "handle_name", "phone", "birth"} <= set(evidence)
    assert "phone" in prob["matched_on"].iloc[0]
    assert set(res.lineage["change_type"]) == {"new"}
    assert res.summary["clusters"] == res.clusters["customer_key"].nunique()
    # no personal data in the outputs: ids, keys and scores only
    assert not {"full_name", "nickname", "phone_hash"} & (set(links.columns) | set(res.clusters.columns))


def test_one_account_per_platform_sends_a_second_account_to_review():
    from transforms.matching.clusters import cluster_links
    from transforms.matching.engine import _exclusive_frame

    m = pd.DataFrame({"unique_id": ["crm:1", "weibo:a", "weibo:b", "wechat:x"],
                      "source": ["crm", "weibo", "weibo", "wechat"], "wechat_unionid_hash": [None, None, None, "u1"]})
    links = pd.DataFrame({"unique_id_l": ["crm:1", "crm:1", "crm:1"], "unique_id_r": ["weibo:a", "weibo:b", "wechat:x"],
                          "link_type": "probabilistic", "match_probability": [0.999, 0.995, 0.99]})
    clusters, out = cluster_links(m["unique_id"], links, exclusive=_exclusive_frame(m, EngineConfig()))
    cid = clusters.set_index("unique_id")["cluster_id"]
    assert cid["weibo:a"] == cid["crm:1"] == cid["wechat:x"] and cid["weibo:b"] != cid["crm:1"]
    assert out.set_index("unique_id_r").loc["weibo:b", "refused_reason"] == "conflicting_identifier"
    # without the rule both Weibo accounts join the person
    clusters, _ = cluster_links(m["unique_id"], links,
                                exclusive=_exclusive_frame(m, EngineConfig(exclusive_sources=())))
    assert clusters["cluster_id"].nunique() == 1


def test_account_prior_reweighs_cross_platform_pairs_only():
    import math

    from transforms.matching.engine import _account_prior, _account_priors

    counts = pd.Series({"crm": 1000, "weibo": 400, "wechat": 500})
    lam = 1e-5
    priors = _account_priors(counts, EngineConfig(account_share=0.5))
    # an account matches at most one record of the larger source: 0.5 / 1000
    assert priors[("crm", "weibo")] == pytest.approx(5e-4) and priors[("wechat", "weibo")] == pytest.approx(1e-3)
    assert ("crm", "crm") not in priors
    assert _account_priors(counts, EngineConfig(account_share=None)) == {}
    pred = pd.DataFrame({"unique_id_l": ["crm:1", "crm:1"], "unique_id_r": ["weibo:9", "crm:2"],
                         "match_weight": [3.0, 3.0], "match_probability": [0.0, 0.0]})
    out = _account_prior(pred, priors, lam)
    shift = math.log2(5e-4 / (1 - 5e-4)) - math.log2(lam / (1 - lam))
    assert out["match_weight"].tolist() == pytest.approx([3.0 + shift, 3.0])
    assert out["match_probability"].iloc[0] == pytest.approx(1 / (1 + 2 ** -(3.0 + shift)))
    assert out["match_probability"].iloc[1] == pytest.approx(1 / (1 + 2 ** -3.0))


def test_shared_email_between_conflicting_records_goes_to_review():
    # mother and daughter: one e-mail, different birth months; a true duplicate: same month
    records = pd.DataFrame([
        dict(source="crm", record_id="M", surname="周", full_name="周", gender="f", birth_month=3, email_hash="e1"),
        dict(source="crm", record_id="D", surname="周", full_name="周", gender="f", birth_month=9, email_hash="e1"),
        dict(source="crm", record_id="A", surname="李", full_name="李", gender="m", birth_month=5, email_hash="e2"),
        dict(source="crm", record_id="B", surname="李", full_name="李", gender="m", birth_month=None, email_hash="e2"),
    ])
    res = resolve(records, config=CONFIG, run_date="2026-11-01")
    key = res.clusters.set_index("record_id")["customer_key"]
    assert key["M"] != key["D"] and key["A"] == key["B"]  # an unknown month is no conflict
    assert res.summary["deterministic_conflicts"] == 1
    review = res.review
    assert review[["record_id_l", "record_id_r", "reason"]].values.tolist() == [["D", "M", "conflicting_attributes"]]
    refused = res.links[res.links["status"] == "refused"]
    assert refused["refused_reason"].tolist() == ["conflicting_attributes"] and refused["rule"].tolist() == ["email"]
    # the check can be switched off per identifier
    res = resolve(records, config=EngineConfig(conflict_checked_keys=()), run_date="2026-11-01")
    assert res.clusters.set_index("record_id")["customer_key"].nunique() == 2


def test_shared_and_junk_identifiers_never_link(data):
    records, _ = data
    junk = records.copy()
    crm = junk["source"] == "crm"
    junk.loc[crm, "phone_hash"] = "shared-shop-phone"  # one number on every CRM record
    junk.loc[crm, "phone_prefix3"], junk.loc[crm, "phone_last4"] = None, None
    res = resolve(junk, config=CONFIG, run_date="2026-11-01")
    assert res.summary["refused_key_values"] == 1 and res.summary["refused_key_records"] == crm.sum()
    crm_keys = res.clusters[res.clusters["source"] == "crm"]["customer_key"]
    assert crm_keys.is_unique  # no CRM record merged with another through the shared number


def test_decisions_are_honoured(first_run, data):
    records, _ = data
    merged = first_run.links[(first_run.links["status"] == "merged") & (first_run.links["link_type"] == "probabilistic")]
    pair = merged.iloc[0]
    decisions = pd.DataFrame([
        dict(source_l=pair["source_l"], record_id_l=pair["record_id_l"], source_r=pair["source_r"],
             record_id_r=pair["record_id_r"], decision="no_match", decided_at=pd.Timestamp("2026-11-01", tz="UTC")),
        dict(source_l="crm", record_id_l="C001", source_r="crm", record_id_r="C002", decision="match",
             decided_at=pd.Timestamp("2026-11-01", tz="UTC")),
        dict(source_l="crm", record_id_l="GONE", source_r="crm", record_id_r="C002", decision="match",
             decided_at=pd.Timestamp("2026-11-01", tz="UTC")),
    ])
    res = resolve(records, config=CONFIG, run_date="2026-11-02", decisions=decisions)
    key = res.clusters.set_index(["source", "record_id"])["customer_key"]
    assert key[(pair["source_l"], pair["record_id_l"])] != key[(pair["source_r"], pair["record_id_r"])]
    assert key[("crm", "C001")] == key[("crm", "C002")]
    assert res.summary["decisions_ignored"] == 1


def test_latest_decision_per_pair_wins_and_bad_decisions_fail():
    from transforms.matching.engine import _decision_links

    m = pd.DataFrame({"unique_id": ["crm:1", "weibo:2", "crm:3"]})
    d = pd.DataFrame([
        dict(source_l="weibo", record_id_l="2", source_r="crm", record_id_r="1", decision="no_match",
             decided_at=pd.Timestamp("2026-11-01", tz="UTC")),
        dict(source_l="crm", record_id_l="1", source_r="weibo", record_id_r="2", decision="match",
             decided_at=pd.Timestamp("2026-11-03", tz="UTC")),
        dict(source_l="crm", record_id_l="3", source_r="crm", record_id_r="1", decision="no_match",
             decided_at=pd.Timestamp("2026-11-02", tz="UTC")),
    ])
    forced, cannot, ignored = _decision_links(d, m)
    assert forced[["unique_id_l", "unique_id_r"]].values.tolist() == [["crm:1", "weibo:2"]]
    assert cannot.values.tolist() == [["crm:1", "crm:3"]] and ignored == 0
    with pytest.raises(ValueError, match="match"):
        _decision_links(d.assign(decision="maybe"), m)


def test_keys_stable_across_nightly_runs(first_run, data):
    records, _ = data
    previous = first_run.clusters
    # night 2: one more WeChat follower of person 1 (bound to nobody), same records otherwise
    extra = pd.DataFrame([dict(source="wechat", record_id="XNEW", nickname="zzqqxx", province="北京", city="北京")])
    res2 = resolve(pd.concat([records, extra], ignore_index=True), config=CONFIG, run_date="2026-11-02", previous=previous)
    before = previous.set_index(["source", "record_id"])["customer_key"]
    after = res2.clusters.set_index(["source", "record_id"])["customer_key"]
    assert (after.loc[before.index] == before).all()  # every existing record keeps its key
    assert list(res2.lineage["change_type"]) == ["new"] and res2.lineage["records_after"].item() == 1


def test_duckdb_and_spark_backends_give_the_same_clusters(spark, data, first_run):
    records, _ = data
    # the model trained on DuckDB predicts on Spark: same parameters, same SQL, same clusters
    # (training on Spark too is correct but takes minutes on a two-core test machine)
    res = resolve(records, config=CONFIG, run_date="2026-11-01", backend="spark", spark=spark, model=first_run.model)
    assert _partition(res.clusters) == _partition(first_run.clusters)
    pd.testing.assert_frame_equal(res.clusters, first_run.clusters)  # keys are minted the same way too
