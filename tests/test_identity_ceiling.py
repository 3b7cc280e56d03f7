"""The evidence ceiling (bench/identity_ceiling.py) on hand-built records whose answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.identity_ceiling import evidence_ceiling

COLUMNS = ["source", "record_id", "person_id", "surname", "full_name", "nickname", "gender", "city", "birth_month",
           "phone_hash", "phone_prefix3", "phone_last4"]


def _frames(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.drop(columns=["person_id"]), df[["source", "record_id", "person_id"]]


# Persons 1 and 2: a CRM customer 王 (f, 上海) and a Weibo account (f, 上海) each, nothing else in
# common; b2 gives birth month 7, a1 has 5. Person 3 shares a phone number.
#   (a1, b1): competitor (a2, b1) only ((a1, b2) conflicts on the birth month);
#   (a2, b2): competitor (a2, b1) only ((a1, b2) again conflicts);
#   (a3, b3): none. The false pair (a2, b1) is shared: each true pair is charged 1/2.
SIX = [
    ("crm", "a1", "P1", "王", "王", None, "f", "上海", 5, None, None, None),
    ("weibo", "b1", "P1", None, None, None, "f", "上海", None, None, None, None),
    ("crm", "a2", "P2", "王", "王", None, "f", "上海", None, None, None, None),
    ("weibo", "b2", "P2", None, None, None, "f", "上海", 7, None, None, None),
    ("crm", "a3", "P3", "李", "李", None, "m", "北京", None, "h1", "139", "1234"),
    ("weibo", "b3", "P3", None, None, None, "m", "北京", None, "h1", "139", "1234"),
]


def test_dominance_competitors_and_bound_on_six_records():
    std, truth = _frames(SIX)
    res = evidence_ceiling(std, truth, precision=0.99)
    overall = res["scopes"]["overall"]
    assert res["true_pairs"] == 3
    assert overall["competitors"] == {"0": 1, "1": 2, "2-9": 0, "10-99": 0, ">=100": 0}
    assert overall["evidence"] == pytest.approx({"identifier": 1 / 3, "weak_only": 2 / 3})
    # linking either 王 pair forces the false pair (a2, b1): precision 0.99 allows only a3-b3
    assert overall["recall_bound_direct"] == pytest.approx(1 / 3)
    assert overall["recall_attained_clustered"] == pytest.approx(1 / 3)
    # the Lagrangian relaxation may add a fraction of a pair ((1 + t) / 3, t = (1/99) / (0.5 - 1/99)), never less
    assert 1 / 3 <= overall["recall_bound_clustered"] <= 1 / 3 + 0.02
    # a one-to-one matcher can hand b1 to a1 and a2 to b2 (each has a counterpart as good as the rival)
    assert overall["recall_bound_clustered_1to1"] == pytest.approx(1.0)
    # linking all three gives 3 true + 1 false pair: precision 0.75 exactly
    assert evidence_ceiling(std, truth, precision=0.75)["scopes"]["overall"]["recall_bound_direct"] == pytest.approx(1.0)
    assert evidence_ceiling(std, truth, precision=0.76)["scopes"]["overall"]["recall_bound_direct"] < 1.0


def test_clustering_connects_pairs_without_evidence_of_their_own():
    # person 4: CRM a4 and WeChat w4 share a phone, w4 and Weibo b4 a handle; a4-b4 only gender
    # and city, like the 王 pairs, so it has competitors, but the cluster links it for free
    rows = [r for r in SIX if r[1] not in ("b2",)] + [
        ("weibo", "b2", "P2", None, None, None, "f", "上海", None, None, None, None),
        ("crm", "a4", "P4", "王", "王", None, "f", "上海", None, "h4", "150", "9876"),
        ("wechat", "w4", "P4", None, None, "xyzabc", "f", "上海", None, "h4", "150", "9876"),
        ("weibo", "b4", "P4", None, None, "xyzabc", "f", "上海", None, None, None, None),
    ]
    std, truth = _frames(rows)
    res = evidence_ceiling(std, truth, precision=0.99)
    overall = res["scopes"]["overall"]
    assert res["true_pairs"] == 6
    assert overall["competitors"]["0"] == 3  # a3-b3, a4-w4, w4-b4
    assert overall["recall_bound_direct"] == pytest.approx(3 / 6)
    assert overall["recall_attained_clustered"] == pytest.approx(4 / 6)
    assert 4 / 6 <= overall["recall_bound_clustered"] <= 4 / 6 + 0.01
    weibo = res["scopes"]["crm-weibo"]
    assert weibo["true_pairs"] == 4
    assert weibo["recall_bound_direct"] == pytest.approx(1 / 4)
    assert weibo["recall_attained_clustered"] == pytest.approx(2 / 4)


def test_records_without_truth_are_counted_and_bad_truth_refused():
    std, truth = _frames(SIX)
    res = evidence_ceiling(std, truth[truth["record_id"] != "b3"])
    assert (res["records"], res["scored"], res["only_in_records"], res["true_pairs"]) == (6, 5, 1, 2)
    with pytest.raises(ValueError, match="person_id"):
        evidence_ceiling(std, truth.drop(columns=["person_id"]))
