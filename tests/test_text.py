"""Chinese text pipeline: Weibo entities, repost chains, t2s, segmentation, brand mentions."""

from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from transforms.text import (
    BrandLexicon,
    LexiconError,
    RepostHop,
    analyse_post,
    enrich_posts,
    explode_brand_mentions,
    extract_emoticons,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    load_brand_lexicon,
    normalize,
    segment,
    split_repost,
    t2s,
)
from transforms.text.enrich import analyse_posts
from transforms.text.segment import cut, normalize_many

LEXICON = BrandLexicon.from_dict(
    {
        "brands": [
            {"name": "花漾", "role": "own", "aliases": ["Huayang", "花漾家"], "products": ["花漾面霜", "小白瓶"]},
            {"name": "露薇", "role": "competitor", "aliases": ["Luwei"], "products": ["露薇精华"]},
            {"name": "慕丝", "role": "competitor", "aliases": ["MUSE"]},
        ]
    }
)


def test_emoticons_hashtags_urls():
    text = "太好用了[哈哈][赞] #好物分享# 看 http://t.cn/A6xYz1 和 https://weibo.com/p/1?id=2。#测评#"
    assert extract_emoticons(text) == ["[哈哈]", "[赞]"]
    assert extract_hashtags(text) == ["好物分享", "测评"]
    assert extract_urls(text) == ["http://t.cn/A6xYz1", "https://weibo.com/p/1?id=2"]
    assert extract_emoticons(None) == [] and extract_hashtags("") == [] and extract_urls(None) == []


def test_mentions_leave_out_repost_markers_and_emails():
    text = "@小美 快看，联系 shop@qq.com //@小王:同感 @花漾Huayang官方微博"
    assert extract_mentions(text) == ["小美", "花漾Huayang官方微博"]


def test_repost_chain_separates_own_text():
    own, hops = split_repost("真的好用//@小王:同感[赞]//@花漾官微: 新品上市 #花漾#")
    assert own == "真的好用"
    assert hops == [RepostHop("小王", "同感[赞]"), RepostHop("花漾官微", "新品上市 #花漾#")]
    # A bare repost has no own text; full-width colons count as markers too.
    assert split_repost("//@小王：转发") == ("", [RepostHop("小王", "转发")])
    assert split_repost("没有转发") == ("没有转发", [])
    assert split_repost(None) == ("", [])


def test_t2s_and_segmentation():
    assert t2s("這個手機質量還不錯") == "这个手机质量还不错"
    assert segment("我爱北京天安门，今天天气不错！") == ["我", "爱", "北京", "天安门", "今天天气", "不错"]
    # Brand names passed as extra words stay whole.
    assert "花漾面霜" in segment("买了花漾面霜", extra_words=["花漾面霜"])


def test_brand_mentions_aliases_longest_match_and_latin_words():
    text = "花漾面霜比露薇精华好用，HUAYANG家小白瓶也不错，luwei一般；MUSEUM不是慕丝"
    # 花漾面霜 counts once for 花漾 (not 花漾 + 面霜); HUAYANG (any case) and 小白瓶 count for 花漾;
    #露薇精华 and luwei for 露薇; MUSEUM is not MUSE, 慕丝 is.
    assert LEXICON.count_mentions(text) == {"花漾": 3, "露薇": 2, "慕丝": 1}
    assert LEXICON.count_mentions(None) == {}


def test_lexicon_errors_name_the_entry():
    with pytest.raises(LexiconError, match="both"):
        BrandLexicon.from_dict({"brands": [{"name": "A", "role": "own", "aliases": ["X"]}, {"name": "B", "role": "competitor", "aliases": ["x"]}]})
    with pytest.raises(LexiconError, match="role"):
        BrandLexicon.from_dict({"brands": [{"name": "A", "role": "friend"}]})
    with pytest.raises(LexiconError, match="not found"):
        load_brand_lexicon("/nonexistent/brands.yaml")


def test_sample_data_shape_is_accepted(tmp_path):
    path = tmp_path / "brands.yaml"
    path.write_text(
        "own:\n  name: 花漾\n  aliases: [花漾, Huayang]\n  official_weibo: 花漾官方微博\n"
        "  products:\n    - {id: P1, name: 花漾玫瑰精华水, short: 精华水}\n"
        "competitors:\n  - {name: 露薇, aliases: [露薇], products: [露薇面霜]}\n",
        encoding="utf-8",
    )
    lex = load_brand_lexicon(path)
    assert [(b.name, b.role) for b in lex.brands] == [("花漾", "own"), ("露薇", "competitor")]
    # The generic short name 精华水 is not a mention; the full product name and the account are.
    assert lex.count_mentions("精华水好用 @花漾官方微博 花漾玫瑰精华水") == {"花漾": 2}


def test_weibo_markers_are_stripped_but_their_topics_kept():
    from transforms.text.extract import strip_entities

    text = "{%#静下心来听音乐#%} 书真好{%某某的秒拍视频%}{%上海·碧云社区%}"
    assert strip_entities(text).split() == ["书真好"]
    assert extract_hashtags(text) == ["静下心来听音乐"]
    assert strip_entities("{%%}好") == " 好"
    # An unclosed marker is left as it is (nothing to strip it up to).
    assert strip_entities("{%好") == "{%好"
    out = analyse_post("{%#新品#%}花漾面霜好用{%花漾的秒拍视频%}", LEXICON)
    assert out["tokens"] == ["花漾面霜", "好用"] and out["hashtags"] == ["新品"]


def test_analyse_post_tokens_skip_entities():
    out = analyse_post("花漾家小白瓶真好用[哈哈] @小美 http://t.cn/A6 //@小王:同感", LEXICON)
    assert out["own_text"] == "花漾家小白瓶真好用[哈哈] @小美 http://t.cn/A6"
    assert out["tokens"] == ["花漾家", "小白瓶", "真好", "用", "同感"]
    assert out["brand_mentions"] == [{"brand": "花漾", "count": 2}]


def test_enrich_posts_on_spark(spark):
    df = spark.createDataFrame(
        [("1", "花漾家小白瓶真好用[哈哈] #护肤# @小美//@小王:露薇精华一般"), ("2", "轉發微博"), ("3", None)],
        "mid string, text string",
    ).coalesce(1)  # one Python worker is enough for three rows
    out = enrich_posts(df, lexicon=LEXICON).cache()
    expected = spark.createDataFrame(
        [
            ("1", "花漾家小白瓶真好用[哈哈] #护肤# @小美", ["[哈哈]"], ["护肤"], ["小美"], [("小王", "露薇精华一般")], {"花漾": 2, "露薇": 1}),
            ("2", "转发微博", [], [], [], [], {}),
            ("3", None, [], [], [], [], {}),
        ],
        "mid string, own_text string, emoticons array<string>, hashtags array<string>, mentions array<string>, "
        "repost_chain array<struct<user:string,text:string>>, brand_mentions map<string,int>",
    )
    assertDataFrameEqual(
        out.select("mid", "own_text", "emoticons", "hashtags", "mentions", "repost_chain", "brand_mentions"), expected
    )
    row = out.filter("mid = '2'").select("text_simplified", "tokens").first()
    assert row.text_simplified == "转发微博" and row.tokens == ["转发", "微博"]

    per_brand = explode_brand_mentions(out, ["mid"], lexicon=LEXICON)
    assertDataFrameEqual(
        per_brand,
        spark.createDataFrame(
            [("1", "花漾", "own", 2), ("1", "露薇", "competitor", 1)],
            "mid string, brand string, brand_role string, mention_count int",
        ),
    )
    out.unpersist()


def test_one_pass_sentiment_equals_scoring_the_own_text():
    from transforms.sentiment import load_model

    model = load_model()
    texts = ["质量非常好，强烈推荐！[赞]//@小王:太差了[怒]", "不好用，退货了", "//@小王:好评", "", None]
    cols = analyse_posts(texts, LEXICON, "own_text", model)
    for i, own in enumerate(cols["own_text"]):
        expected = model.score_one(own) if own is not None else (None, None, None)
        got = (cols["sentiment_prob"][i], cols["sentiment_confidence"][i], cols["sentiment_cues"][i])
        assert got == expected, texts[i]
    # The first post's own words are positive, the reposted chain negative.
    assert cols["sentiment_prob"][0] > 0.7
    whole = analyse_posts(texts[:1], LEXICON, "own_text", model, sentiment_scope="text")
    # The whole-text scope scores the chain too (score_one reads only the author's words).
    assert whole["sentiment_prob"][0] < cols["sentiment_prob"][0] == model.score_one(texts[0])[0]
    row = analyse_post(texts[0], LEXICON, model=model)
    assert row["sentiment_prob"] == cols["sentiment_prob"][0] and row["tokens"] == cols["tokens"][0]


def test_enrich_posts_with_sentiment_matches_add_sentiment(spark):
    from transforms.sentiment import add_sentiment

    df = spark.createDataFrame(
        [("1", "质量非常好，强烈推荐！[赞]//@小王:太差了"), ("2", "客服态度很差[怒]"), ("3", "今天星期三"), ("4", None),
         ("5", "//@小王:好评")],
        "mid string, text string",
    ).coalesce(1)
    one = enrich_posts(df, lexicon=LEXICON, brand_scope="own_text", sentiment="s")
    two = add_sentiment(enrich_posts(df, lexicon=LEXICON, brand_scope="own_text"), "own_text", "s")
    cols = ["mid", "own_text", "tokens", "brand_mentions", "s_positive_prob", "s_confidence", "s_label", "s_needs_review"]
    assertDataFrameEqual(one.select(cols), two.select(cols))
    rows = {r.mid: r for r in one.select(cols).collect()}
    assert rows["1"].s_label == "pos" and rows["2"].s_label == "neg" and rows["3"].s_label == "neu"
    assert rows["4"].s_positive_prob is None and rows["4"].s_needs_review is False
    assert rows["5"].own_text == "" and rows["5"].s_positive_prob == 0.5


def test_enrich_posts_names_a_missing_column(spark):
    df = spark.createDataFrame([("1",)], "mid string")
    with pytest.raises(ValueError, match="content"):
        enrich_posts(df, text_col="content")
    with pytest.raises(ValueError, match="sentiment_scope"):
        enrich_posts(df.withColumnRenamed("mid", "text"), sentiment="s", sentiment_scope="chain")
