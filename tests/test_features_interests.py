"""Interest scores (TF-IDF over the taxonomy) and traits (life events, education, income)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from transforms.features.interests import post_documents, profile_documents, score_interests
from transforms.features.lexicons import (
    LexiconError,
    interest_taxonomy_from_dict,
    load_interest_taxonomy,
    load_trait_lexicon,
    trait_lexicon_from_dict,
)
from transforms.features.traits import detect_traits

SNAP = dt.date(2026, 11, 1)


def at(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(SNAP - dt.timedelta(days=days_ago), dt.time(4))


def test_packaged_taxonomies_are_complete():
    tax = load_interest_taxonomy()
    assert len(tax.keys) >= 15
    for key in ("beauty", "fashion", "travel", "health", "mother_baby", "cars", "food_snacks", "art", "plants", "tech",
                "sports", "pets", "games", "education", "finance", "home"):
        assert key in tax.keys
    traits = load_trait_lexicon()
    assert [e.key for e in traits.life_events] == ["wedding", "baby", "graduation", "moving", "new_job"]


def test_bad_taxonomy_names_the_entry():
    with pytest.raises(LexiconError, match=r"categories\[1\].*Art"):
        interest_taxonomy_from_dict({"categories": [{"key": "art", "terms": ["看展"]}, {"key": "Art", "terms": ["x"]}]})
    with pytest.raises(LexiconError, match="weight must be in"):
        trait_lexicon_from_dict({"life_events": [{"key": "a", "terms": ["x"]}], "education": [{"key": "elite", "weight": 2, "terms": ["y"]}],
                                 "income": [{"key": "stable_job", "weight": 0.4, "terms": ["z"]}]})


def test_tfidf_interest_scores_worked_by_hand(spark):
    tax = interest_taxonomy_from_dict({"categories": [{"key": "art", "terms": ["看展", "油画"]}, {"key": "plants", "terms": ["多肉"]}]})
    accounts = spark.createDataFrame(
        [("p1", "爱看展也爱多肉", ["油画"]), ("p2", None, None), ("p3", "", [])], "id string, description string, tags array<string>"
    )
    posts = spark.createDataFrame(
        [("p1", ["周末", "去", "看展"]), ("p2", ["我", "的", "多", "肉"]), ("p3", ["今天", "上班"])], "id string, tokens array<string>"
    )
    docs = profile_documents(accounts, "id", tax).unionByName(post_documents(posts, "id"))
    got = score_interests(docs, tax)
    # N = 3 persons.  df: 看展 1, 油画 1, 多肉 2 (p1's bio, p2's 多+肉 bigram).
    idf1, idf2 = math.log(4 / 2) + 1, math.log(4 / 3) + 1
    # p1: 看展 = post 1 + bio 2 = 3, 油画 = tag 2, 多肉 = bio 2.
    p1_art = math.log1p(3) * idf1 + math.log1p(2) * idf1
    p1_plants = math.log1p(2) * idf2
    p2_plants = math.log1p(1) * idf2

    def s(raw):
        return 1 - math.exp(-raw / 2)

    assertDataFrameEqual(
        got,
        [Row(id="p1", interest_art=s(p1_art), interest_plants=s(p1_plants), top_interest="art"),
         Row(id="p2", interest_art=0.0, interest_plants=s(p2_plants), top_interest="plants"),
         Row(id="p3", interest_art=0.0, interest_plants=0.0, top_interest=None)],
    )


def test_traits_turn_miss_song_into_numbers(spark):
    lex = load_trait_lexicon()
    texts = spark.createDataFrame(
        [
            ("song", "bio", "复旦毕业，在银行上班，收入不错", None),
            ("song", "post", "今天和老公领证啦，我们结婚了！", at(20)),
            ("song", "post", "朋友的婚礼好感人", at(400)),  # outside the 365-day lookback
            ("song", "post", "下周搬家", at(-2)),  # after the snapshot day
            ("wang", "post", "研究生毕业典礼，感谢导师", at(30)),
            ("wang", "post", "新工作入职第一天", at(3)),
            ("wang", "post", "入职培训", at(2)),
            ("li", "tag", "宝宝出生 育儿", None),
        ],
        "id string, source string, text string, ts timestamp",
    )
    got = detect_traits(texts, lex, SNAP, "Asia/Shanghai").select(
        "id", "life_event_wedding", "life_event_wedding_date", "life_event_baby", "life_event_baby_date", "life_event_graduation_date",
        "life_event_moving", "life_event_new_job_date", "edu_elite_school", "edu_level_score", "income_stable_job", "income_signal_score",
    )
    assertDataFrameEqual(
        got,
        [
            # 复旦 -> elite (1.0); 银行 -> stable job (.4), 收入不错 -> good income (.5): 1 - .6 x .5 = .7.
            Row(id="song", life_event_wedding=1, life_event_wedding_date=SNAP - dt.timedelta(days=20), life_event_baby=0,
                life_event_baby_date=None, life_event_graduation_date=None, life_event_moving=0, life_event_new_job_date=None,
                edu_elite_school=1, edu_level_score=1.0, income_stable_job=1, income_signal_score=0.7),
            Row(id="wang", life_event_wedding=0, life_event_wedding_date=None, life_event_baby=0, life_event_baby_date=None,
                life_event_graduation_date=SNAP - dt.timedelta(days=30), life_event_moving=0,
                life_event_new_job_date=SNAP - dt.timedelta(days=3), edu_elite_school=0, edu_level_score=0.85,
                income_stable_job=0, income_signal_score=0.0),
            Row(id="li", life_event_wedding=0, life_event_wedding_date=None, life_event_baby=1, life_event_baby_date=None,
                life_event_graduation_date=None, life_event_moving=0, life_event_new_job_date=None, edu_elite_school=0,
                edu_level_score=0.0, income_stable_job=0, income_signal_score=0.0),
        ],
    )
