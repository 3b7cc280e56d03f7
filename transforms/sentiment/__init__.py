"""Sentiment of Chinese social text: a positive probability and a confidence per text.

``score_texts`` works in pure Python/numpy; ``add_sentiment`` adds the columns on Spark.
The model artefact is ``model/sentiment-<version>.json.gz``; ``scim train-sentiment``
rebuilds it from corpora that ship inside PyPI packages (see docs/sentiment.md).
"""

from transforms.sentiment.model import (
    CURRENT_VERSION,
    ModelError,
    SentimentModel,
    load_model,
    model_path,
    score_texts,
)


def add_sentiment(*args, **kwargs):
    """See :func:`transforms.sentiment.spark.add_sentiment` (imported lazily: it needs pyspark)."""
    from transforms.sentiment.spark import add_sentiment as _add_sentiment

    return _add_sentiment(*args, **kwargs)


__all__ = ["CURRENT_VERSION", "ModelError", "SentimentModel", "add_sentiment", "load_model", "model_path", "score_texts"]
