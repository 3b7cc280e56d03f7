"""Identity building blocks on tiny hand-made cases: comparisons, guard rails, clustering,
customer keys and evaluation metrics (no Spark, no Splink training)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from transforms.matching import splink_model
from transforms.matching.clusters import cluster_links
from transforms.matching.customer_keys import assign_customer_keys, mint_key
from transforms.matching.deterministic import deterministic_links, null_overshared
from transforms.matching.inputs import handle_key, prepare_matching_input, surname_pinyin
from transforms.matching.metrics import evaluate_clusters


# -- comparisons: which level does a pair land in? -------------------------------------------

def level_of(comparison, left: dict, right: dict, dialect: str = "duckdb") -> str:
    """Label of the first level whose SQL holds for the pair (what Splink's CASE does)."""
    comp = comparison.get_comparison(dialect)
    cols = sorted({c for side in (left, right) for c in side})
    row = {f"{c}_l": left.get(c) for c in cols} | {f"{c}_r": right.get(c) for c in cols}
    con = duckdb.connect()
    con.register("pair", pd.DataFrame([row]).astype(object))
    for level in comp.comparison_levels:
        if level.sql_condition.strip().upper() == "ELSE":
            return "else"
        if con.execute(f"SELECT ({level.sql_condition}) FROM pair").fetchone()[0]:
            return level.label_for_charts
    raise AssertionError("no level matched")


def name(full=None, surname=None, given=None, pinyin=None, **extra):
    rec = {"name_full": full if given else None, "surname": surname, "surname_pinyin": extra.get("sp"),
           "name_full_pinyin": pinyin if given else None}
    return rec


def test_name_levels_surname_only_full_and_pinyin():
    comp = splink_model.name_comparison()
    song_full = name("宋小美", "宋", "小美", "songxiaomei", sp="song")
    song_only = name(None, "宋", None, None, sp="song")
    assert level_of(comp, song_full, song_full) == "full name exact"
    assert level_of(comp, song_only, song_full) == "surname only, agrees"
    assert level_of(comp, name("宋晓美", "宋", "晓美", "songxiaomei", sp="song"), song_full) == "full name pinyin exact"
    assert level_of(comp, name("宋小梅", "宋", "小梅", "songxiaomeii", sp="song"), song_full) == "full name pinyin similar"
    assert level_of(comp, name("宋大伟", "宋", "大伟", "songdawei", sp="song"), song_full) == "surname agrees, given name differs"
    assert level_of(comp, name(None, "章", None, None, sp="zhang"), name(None, "张", None, None, sp="zhang")) == "surname sounds the same"
    assert level_of(comp, name(None, "王", None, None, sp="wang"), song_only) == "else"
    assert level_of(comp, {"surname": None}, song_only) == "name missing"


def test_handle_levels_handle_against_handle():
    comp = splink_model.handle_comparison()
    weibo = {"nickname": "songxiaomei88", "nick_key": "songxiaomei", "syll_key": "mei song xiao"}
    assert level_of(comp, weibo, weibo) == "handle exact"
    # given name first (Western order) on the other platform: same syllables, other order
    assert level_of(comp, weibo, {"nickname": "xiaomeisong", "nick_key": "xiaomeisong", "syll_key": "mei song xiao"}) \
        == "same pinyin syllables, any order"
    assert level_of(comp, dict(weibo, syll_key=None), dict(weibo, nickname="宋小美", syll_key=None)) == "handle letters exact"
    assert level_of(comp, dict(weibo, nick_key="songxiaomeo", nickname="x", syll_key=None), weibo) == "handle similar"
    assert level_of(comp, weibo, {"nickname": "一只咸鱼", "nick_key": "yizhixianyu", "syll_key": "xian yi yu zhi"}) == "else"
    assert level_of(comp, weibo, {"nickname": None, "nick_key": None, "syll_key": "mei song xiao"}) == "a record without a handle"


def test_handle_name_levels_handle_against_crm_name():
    comp = splink_model.handle_name_comparison()
    crm_full = {"nickname": None, "nick_key": None, "name_full_pinyin": "songxiaomei", "syll_key": "mei song xiao",
                "surname_pinyin": "song", "surname_rare": True, "nick_sn_first": None, "nick_sn_last": None}
    crm_surname = dict(crm_full, name_full_pinyin=None, syll_key=None)
    weibo = {"nickname": "songxiaomei88", "nick_key": "songxiaomei", "syll_key": "mei song xiao", "name_full_pinyin": None,
             "surname_pinyin": None, "surname_rare": None, "nick_sn_first": "song", "nick_sn_last": "mei"}
    assert level_of(comp, weibo, crm_full) == "handle spells the other's full name"
    assert level_of(comp, crm_full, weibo) == "handle spells the other's full name"
    reordered = dict(weibo, nickname="xiaomei_song", nick_key="xiaomeisong", nick_sn_first="xiao", nick_sn_last="song")
    assert level_of(comp, reordered, crm_full) == "handle spells the other's full name"
    assert level_of(comp, weibo, crm_surname) == "handle embeds the other's (rare) surname"
    ericzhang = dict(weibo, nickname="ericzhang", nick_key="ericzhang", syll_key=None, nick_sn_first=None, nick_sn_last="zhang")
    zhang = dict(crm_surname, surname_pinyin="zhang", surname_rare=False)
    assert level_of(comp, zhang, ericzhang) == "handle embeds the other's (common) surname"
    assert level_of(comp, weibo, dict(crm_surname, surname_pinyin="wang")) == "else"
    assert level_of(comp, crm_full, crm_surname) == "not a handle-and-name pair"
    assert level_of(comp, weibo, weibo) == "not a handle-and-name pair"  # handle vs handle is the other comparison


def test_syllable_key_ignores_word_order_and_rejects_non_pinyin():
    from transforms.matching.inputs import syllable_key

    assert syllable_key("liqianyun") == syllable_key("qianyunli") == "li qian yun"
    assert syllable_key("zhangjiamin") == syllable_key("jiaminzhang")
    assert syllable_key("xinan") is not None  # the split backtracks rather than failing
    assert syllable_key("vivianzhao") is None  # not wholly pinyin
    assert syllable_key("zhang") is None  # one syllable says little
    assert syllable_key(None) is None


def test_phone_levels_masked_against_full():
    comp = splink_model.phone_comparison()
    full = {"phone_hash": "h1", "phone_p3l4": "1385678", "phone_last4": "5678"}
    masked = {"phone_hash": None, "phone_p3l4": "1385678", "phone_last4": "5678"}
    assert level_of(comp, full, full) == "same full number"
    assert level_of(comp, masked, full) == "prefix3 + last4 agree (masked)"
    assert level_of(comp, dict(masked, phone_p3l4="1395678"), full) == "last4 agree"
    assert level_of(comp, dict(masked, phone_p3l4="1391234", phone_last4="1234"), full) == "else"
    assert level_of(comp, {"phone_hash": None, "phone_p3l4": None, "phone_last4": None}, full) == "phone missing"


def birth(y=None, m=None, d=None):
    return {"birth_year": y, "birth_month": m, "birth_day": d}


def test_birth_levels_partial_dates():
    comp = splink_model.birth_comparison()
    assert level_of(comp, birth(1990, 5, 12), birth(1990, 5, 12)) == "full date agrees"
    assert level_of(comp, birth(None, 5, 12), birth(1990, 5, 12)) == "month and day agree"
    assert level_of(comp, birth(1990, 5), birth(1990, 5, 12)) == "year and month agree"
    assert level_of(comp, birth(None, 5), birth(1990, 5, 12)) == "month agrees"  # CRM birth month vs Weibo birthday
    assert level_of(comp, birth(1990), birth(1990, 5, 12)) == "year agrees"
    assert level_of(comp, birth(None, 6), birth(1990, 5, 12)) == "else"
    assert level_of(comp, birth(1991, 5, 12), birth(1990, 5, 12)) == "else"  # a known part differs
    assert level_of(comp, birth(1990), birth(None, 5, 12)) == "no common birth part"


def test_gender_location_address_levels():
    assert level_of(splink_model.gender_comparison(), {"gender": "f"}, {"gender": "f"}) == "gender agrees"
    assert level_of(splink_model.gender_comparison(), {"gender": "f"}, {"gender": "m"}) == "else"
    assert level_of(splink_model.gender_comparison(), {"gender": None}, {"gender": "m"}) == "gender missing"
    loc = splink_model.location_comparison()
    assert level_of(loc, {"city": "广州", "province": "广东"}, {"city": "广州", "province": "广东"}) == "city agrees"
    assert level_of(loc, {"city": "深圳", "province": "广东"}, {"city": "广州", "province": "广东"}) == "province agrees"
    assert level_of(loc, {"city": None, "province": None}, {"city": "广州", "province": "广东"}) == "location missing"
    addr = splink_model.address_comparison()
    a = {"address": "天河路100号", "postcode": "510000"}
    assert level_of(addr, a, a) == "address exact"
    assert level_of(addr, dict(a, address="天河路100号3楼"), a) == "address similar"
    assert level_of(addr, dict(a, address="北京路1号"), a) == "postcode agrees"
    assert level_of(addr, {"address": None, "postcode": None}, a) == "address missing"


def test_comparisons_compile_for_spark_dialect():
    from transforms.matching.model_plan import COMPARISONS, PREDICTION_RULES, ModelPlan

    plan = ModelPlan(comparisons=list(COMPARISONS), prediction_rules=PREDICTION_RULES, training_rules=[],
                     prior_rules=[])
    for dialect in ("spark", "duckdb"):
        settings = splink_model.settings_creator(plan).create_settings_dict(dialect)
        assert [c["output_column_name"] for c in settings["comparisons"]] == list(COMPARISONS)
        assert len(settings["blocking_rules_to_generate_predictions"]) == len(PREDICTION_RULES)


# -- matching input --------------------------------------------------------------------------

def test_prepare_matching_input_derives_keys_and_rejects_bad_ids():
    pdf = pd.DataFrame([
        {"source": "crm", "record_id": "1", "full_name": "宋", "surname": "宋", "phone_prefix3": "138", "phone_last4": "5678"},
        {"source": "weibo", "record_id": "1", "nickname": "宋小美_88", "surname": None},
        {"source": "crm", "record_id": "2", "full_name": "欧阳娜娜", "surname": "欧阳", "given_name": "娜娜",
         "name_pinyin": "ouyang nana"},
    ])
    m = prepare_matching_input(pdf)
    assert list(m["unique_id"]) == ["crm:1", "weibo:1", "crm:2"]
    assert m.loc[0, "name_full"] is None and m.loc[2, "name_full"] == "欧阳娜娜"  # a bare surname is no full name
    assert m.loc[2, "name_full_pinyin"] == "ouyangnana"
    assert m.loc[0, "phone_p3l4"] == "1385678"
    assert m.loc[1, "nick_key"] == "songxiaomei"
    assert list(m["surname_pinyin"][[0, 2]]) == ["song", "ouyang"]
    with pytest.raises(ValueError, match="record_id"):
        prepare_matching_input(pdf.drop(columns=["record_id"]))
    with pytest.raises(ValueError, match="empty 'record_id'"):
        prepare_matching_input(pdf.assign(record_id=["1", "", "3"]))
    with pytest.raises(ValueError, match="share a \\(source, record_id\\)"):
        prepare_matching_input(pdf.assign(source="crm", record_id="1"))


def test_embedded_surnames_in_handles():
    from transforms.matching.inputs import embedded_surnames

    assert embedded_surnames("zhangjiamin")[0] == "zhang"  # longest match: zhang, not zha
    assert embedded_surnames("ericzhang") == (None, "zhang")
    assert embedded_surnames("ivy") == (None, None) and embedded_surnames(None) == (None, None)


def test_regularise_keeps_m_and_u_away_from_zero():
    model = {"comparisons": [{"output_column_name": "gender", "comparison_levels": [
        {"is_null_level": True}, {"m_probability": 1.0, "u_probability": 0.5}, {"m_probability": 0.0, "u_probability": 0.5},
    ]}]}
    out = splink_model.regularise(model, m_floor=0.01, u_floor=1e-6)
    levels = out["comparisons"][0]["comparison_levels"]
    assert levels[2]["m_probability"] == pytest.approx(0.01 / 1.01) and levels[1]["m_probability"] == pytest.approx(1 / 1.01)
    assert sum(lv["u_probability"] for lv in levels[1:]) == pytest.approx(1.0)
    assert model["comparisons"][0]["comparison_levels"][2]["m_probability"] == 0.0  # input untouched


def test_handle_key_and_surname_readings():
    assert handle_key("songxiaomei1990") == "songxiaomei"
    assert handle_key("宋小美_88") == "songxiaomei"
    assert handle_key("a1") is None
    assert handle_key(None, "Amy Song") == "amysong"
    assert surname_pinyin("曾") == "zeng" and surname_pinyin("单") == "shan" and surname_pinyin("Smith") == "smith"


# -- guard rails and deterministic links -----------------------------------------------------

def test_deterministic_links_star_rule_and_priority():
    m = pd.DataFrame({
        "unique_id": ["crm:1", "crm:2", "wechat:a", "weibo:9"],
        "phone_hash": ["p1", "p1", "p1", None],
        "wechat_openid_hash": ["o1", None, "o1", None],
        "qq_hash": [None, None, None, "q"],
    })
    links = deterministic_links(m, ["wechat_openid_hash", "phone_hash", "qq_hash"])
    assert links.to_dict("records") == [
        {"unique_id_l": "crm:1", "unique_id_r": "crm:2", "rule": "phone", "priority": 1},
        {"unique_id_l": "crm:1", "unique_id_r": "wechat:a", "rule": "wechat_openid", "priority": 0},
    ]


def test_overshared_values_never_link():
    m = pd.DataFrame({"unique_id": [f"crm:{i}" for i in range(5)], "phone_hash": ["shop"] * 4 + ["own"]})
    cleaned, report = null_overshared(m, ["phone_hash"], max_records=3)
    assert cleaned["phone_hash"].isna().sum() == 4 and report.to_dict("records") == [{"column": "phone_hash", "records": 4}]
    assert deterministic_links(cleaned, ["phone_hash"]).empty


# -- clustering under guard rails --------------------------------------------------------------

def _links(*rows):
    return pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "link_type", "priority", "match_probability"])


def _groups(clusters):
    return sorted(sorted(g) for g in clusters.groupby("cluster_id")["unique_id"].agg(list))


def test_no_match_decision_splits_even_through_other_records():
    ids = pd.Series(["a", "b", "c"])
    links = _links(("a", "b", "probabilistic", None, 0.999), ("b", "c", "probabilistic", None, 0.995))
    clusters, out = cluster_links(ids, links, cannot_link=pd.DataFrame({"unique_id_l": ["a"], "unique_id_r": ["c"]}))
    assert _groups(clusters) == [["a", "b"], ["c"]]  # the weaker link gives way
    assert out.loc[out["unique_id_r"] == "c", "refused_reason"].item() == "decided_no_match"


def test_match_decision_forces_link_over_caps_and_conflicts():
    ids = pd.Series(["a", "b"])
    exclusive = pd.DataFrame({"unique_id": ["a", "b"], "wechat_unionid_hash": ["u1", "u2"]})
    clusters, _ = cluster_links(ids, _links(("a", "b", "decision", None, 1.0)), max_cluster_size=2, exclusive=exclusive)
    assert _groups(clusters) == [["a", "b"]]
    clusters, out = cluster_links(ids, _links(("a", "b", "probabilistic", None, 0.999)), exclusive=exclusive)
    assert _groups(clusters) == [["a"], ["b"]] and out["refused_reason"].item() == "conflicting_identifier"


def test_cluster_size_cap_refuses_instead_of_merging():
    ids = pd.Series(list("abcd"))
    links = _links(("a", "b", "deterministic", 0, 1.0), ("c", "d", "deterministic", 0, 1.0),
                   ("b", "c", "probabilistic", None, 0.999))
    clusters, out = cluster_links(ids, links, max_cluster_size=3)
    assert _groups(clusters) == [["a", "b"], ["c", "d"]]
    assert out.set_index("unique_id_l").loc["b", "refused_reason"] == "cluster_size_cap"


def test_clustering_is_order_independent():
    ids = pd.Series(list("abcde"))
    links = _links(("a", "b", "probabilistic", None, 0.999), ("b", "c", "probabilistic", None, 0.995),
                   ("d", "e", "deterministic", 3, 1.0), ("c", "e", "probabilistic", None, 0.991))
    cannot = pd.DataFrame({"unique_id_l": ["a"], "unique_id_r": ["e"]})
    first, _ = cluster_links(ids, links, cannot_link=cannot)
    second, _ = cluster_links(ids, links.iloc[::-1], cannot_link=cannot)
    pd.testing.assert_frame_equal(first, second)
    assert _groups(first) == [["a", "b", "c"], ["d", "e"]]


# -- stable customer keys ----------------------------------------------------------------------

def _cl(groups: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame([(u, min(g)) for g in groups for u in g], columns=["unique_id", "cluster_id"])


def _keys(assignment) -> dict[str, str]:
    return dict(zip(assignment["unique_id"], assignment["customer_key"]))


def test_keys_unchanged_new_and_rerun_are_stable():
    first, lineage = assign_customer_keys(_cl([["a", "b"], ["c"]]), None, "2026-11-01")
    keys = _keys(first)
    assert keys["a"] == keys["b"] != keys["c"]
    assert all(k.startswith("C") and len(k) == 13 and int(k[1:], 16) >= 0 for k in keys.values())
    assert sorted(lineage["change_type"]) == ["new", "new"]
    rerun, _ = assign_customer_keys(_cl([["a", "b"], ["c"]]), None, "2026-11-01")
    assert _keys(rerun) == keys  # deterministic minting
    again, lineage2 = assign_customer_keys(_cl([["a", "b"], ["c"]]), first, "2026-11-02")
    assert _keys(again) == keys and lineage2.empty  # unchanged clusters: same keys, nothing logged


def test_merge_keeps_oldest_key_and_records_merged_ones():
    prev = pd.DataFrame({"unique_id": ["a", "b", "c"], "customer_key": ["CNEW", "COLD", "COLD"],
                         "key_since": ["2026-11-05", "2026-10-01", "2026-10-01"]})
    out, lineage = assign_customer_keys(_cl([["a", "b", "c"]]), prev, "2026-11-06")
    assert set(out["customer_key"]) == {"COLD"}
    row = lineage.iloc[0]
    assert row["change_type"] == "merge" and row["old_keys"] == ["CNEW", "COLD"] and row["new_key"] == "COLD"
    assert (row["records_before"], row["records_after"]) == (3, 3)


def test_split_keeps_key_on_larger_part_and_mints_for_the_rest():
    prev = pd.DataFrame({"unique_id": list("abc"), "customer_key": ["CK"] * 3, "key_since": ["2026-10-01"] * 3})
    out, lineage = assign_customer_keys(_cl([["a"], ["b", "c"]]), prev, "2026-11-06", issued_keys={"CK"})
    keys = _keys(out)
    assert keys["b"] == keys["c"] == "CK" and keys["a"] != "CK" and keys["a"] == mint_key("a", set())
    split = lineage[lineage["change_type"] == "split"].iloc[0]
    assert split["old_keys"] == ["CK"] and split["new_key"] == keys["a"] and split["records_after"] == 1
    assert set(lineage["change_type"]) == {"split", "update"}
    assert out.set_index("unique_id").loc["a", "key_since"] == "2026-11-06"


def test_retired_keys_are_logged_and_never_reissued():
    prev = pd.DataFrame({"unique_id": ["gone"], "customer_key": [mint_key("x", set())], "key_since": ["2026-10-01"]})
    out, lineage = assign_customer_keys(_cl([["x"]]), prev, "2026-11-06")
    assert out["customer_key"].item() != prev["customer_key"].item()  # the seed's first key is taken: salted
    assert set(lineage["change_type"]) == {"new", "retire"}


# -- evaluation --------------------------------------------------------------------------------

def test_evaluate_clusters_on_known_example():
    truth = pd.DataFrame({"source": ["crm", "weibo", "wechat", "crm", "weibo"],
                          "record_id": ["1", "1", "1", "2", "2"], "person_id": ["P", "P", "P", "Q", "Q"]})
    # predicted: {crm1, weibo1}, {wechat1, crm2}, {weibo2}
    clusters = pd.DataFrame({"source": ["crm", "weibo", "wechat", "crm", "weibo"],
                             "record_id": ["1", "1", "1", "2", "2"], "customer_key": ["K1", "K1", "K2", "K2", "K3"]})
    m = evaluate_clusters(clusters, truth)
    o = m["overall"]
    assert (o["true_pairs"], o["predicted_pairs"], o["correct_pairs"]) == (4, 2, 1)
    assert o["precision"] == 0.5 and o["recall"] == 0.25 and o["f1"] == pytest.approx(1 / 3)
    # B-cubed (precision, recall) per record: crm1 (1, 2/3); weibo1 (1, 2/3); wechat1 (1/2, 1/3);
    # crm2 (1/2, 1/2); weibo2 (1, 1/2)
    assert o["bcubed_precision"] == pytest.approx((1 + 1 + 0.5 + 0.5 + 1) / 5)
    assert o["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 0.5 + 0.5) / 5)
    cw = m["by_source_pair"]["crm-weibo"]
    assert (cw["true_pairs"], cw["predicted_pairs"], cw["correct_pairs"]) == (2, 1, 1)
    assert cw["precision"] == 1.0 and cw["recall"] == 0.5
    assert m["by_source_pair"]["crm-wechat"]["precision"] == 0.0
    assert m["by_source_pair"]["crm-crm"]["true_pairs"] == 0 and m["by_source_pair"]["crm-crm"]["recall"] is None
    with pytest.raises(ValueError, match="person_id"):
        evaluate_clusters(clusters, truth.drop(columns=["person_id"]))


def test_term_frequencies_leave_the_compared_pair_out():
    from transforms.matching.splink_model import pair_excluded_term_frequencies

    values = pd.Series(["人间清醒322", "人间清醒322", "一只咸鱼", "一只咸鱼", "一只咸鱼", "一只咸鱼", None, "zoe18"])
    tf = pair_excluded_term_frequencies(values, "nickname").set_index("nickname")["tf_nickname"].to_dict()
    # 7 handles: a handle only the pair holds counts as one other holder, a cliche keeps its others
    assert tf == pytest.approx({"人间清醒322": 1 / 7, "一只咸鱼": 2 / 7, "zoe18": 1 / 7})
    assert pair_excluded_term_frequencies(pd.Series([None, None]), "city").empty
