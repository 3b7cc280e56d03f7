"""Sentiment columns on a Spark DataFrame (an Arrow UDF; the model loads once per worker).

``enrich_posts(..., sentiment=prefix)`` in ``transforms.text.enrich`` scores posts in its own
pass from the tokens it has cut; it shares :data:`SCORE_TYPE`, :func:`scores_to_arrow` and
:func:`sentiment_columns` with :func:`add_sentiment`, so both give the same four columns.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_type

from transforms.sentiment.model import SentimentModel, load_model, model_path
from transforms.text.segment import normalize_many

SCORE_TYPE = T.StructType(
    [
        T.StructField("prob", T.DoubleType()),
        T.StructField("confidence", T.DoubleType()),
        T.StructField("cues", T.IntegerType()),
    ]
)
_SCORE_ARROW = to_arrow_type(SCORE_TYPE)


def scores_to_arrow(probs: list, confs: list, cues: list) -> pa.StructArray:
    """The :data:`SCORE_TYPE` Arrow struct of three equally long lists (``None`` = null)."""
    return pa.StructArray.from_arrays(
        [pa.array(probs, pa.float64()), pa.array(confs, pa.float64()), pa.array(cues, pa.int32())],
        fields=list(_SCORE_ARROW),
    )


def resolve_model(model: str | Path | None) -> tuple[str, SentimentModel]:
    """The artefact path (the packaged current model for None) and the model, loaded on the
    driver so that a bad artefact fails before any task runs."""
    path = str(Path(model) if model is not None else model_path())
    return path, load_model(path)


def sentiment_columns(
    score: Column,
    prefix: str,
    model: SentimentModel,
    neutral_threshold: float | None = None,
    review_threshold: float | None = None,
) -> dict[str, Column]:
    """The four ``<prefix>_*`` columns (see :func:`add_sentiment`) from a :data:`SCORE_TYPE` column."""
    neutral = model.neutral_threshold if neutral_threshold is None else float(neutral_threshold)
    review = neutral if review_threshold is None else float(review_threshold)
    prob, conf = score["prob"], score["confidence"]
    label = (
        F.when(prob.isNull(), F.lit(None).cast("string"))
        .when(conf < F.lit(neutral), F.lit("neu"))
        .when(prob >= F.lit(0.5), F.lit("pos"))
        .otherwise(F.lit("neg"))
    )
    needs_review = F.coalesce((conf < F.lit(review)) & (score["cues"] > 0), F.lit(False))
    return {
        f"{prefix}_positive_prob": prob,
        f"{prefix}_confidence": conf,
        f"{prefix}_label": label,
        f"{prefix}_needs_review": needs_review,
    }


def _score_udf(path: str):
    @F.arrow_udf(SCORE_TYPE)
    def score(texts: pa.Array) -> pa.Array:
        model = load_model(path)  # cached per worker process: read once, not per batch
        score_one = model.score_one
        probs, confs, cues = [], [], []
        for text in normalize_many(texts.to_pylist()):
            if text is None:
                p = c = n = None
            else:
                p, c, n = score_one(text, simplified=True)
            probs.append(p)
            confs.append(c)
            cues.append(n)
        return scores_to_arrow(probs, confs, cues)

    return score


def add_sentiment(
    df: DataFrame,
    text_col: str,
    prefix: str = "sentiment",
    model: str | Path | None = None,
    neutral_threshold: float | None = None,
    review_threshold: float | None = None,
) -> DataFrame:
    """Return ``df`` with four sentiment columns for ``text_col``.

    - ``<prefix>_positive_prob`` double: calibrated probability that the text is positive;
    - ``<prefix>_confidence`` double: ``|2 * prob - 1|``;
    - ``<prefix>_label`` string: ``neu`` when the confidence is below ``neutral_threshold``
      (the model's own threshold by default), else ``pos``/``neg``;
    - ``<prefix>_needs_review`` boolean: the text has sentiment cues (polarity words or
      emoticons) yet the confidence is below ``review_threshold`` (default: the neutral
      threshold) — mixed or contrasting texts a person should look at.  Texts without any
      cue are confidently neutral and not flagged.

    A null text gets null probability, confidence and label and is not flagged; every row is
    kept.  ``model`` is an artefact path (the packaged current model by default); it is
    read on the driver to validate it and once per Python worker to score.  For posts that
    also need ``enrich_posts``, pass ``sentiment=prefix`` to it instead: one pass segments
    each text once for both.
    """
    if text_col not in df.columns:
        raise ValueError(f"add_sentiment: column {text_col!r} not in the DataFrame (columns: {df.columns})")
    path, loaded = resolve_model(model)
    tmp = f"__{prefix}_score"
    columns = sentiment_columns(F.col(tmp), prefix, loaded, neutral_threshold, review_threshold)
    return df.withColumn(tmp, _score_udf(path)(F.col(text_col).cast("string"))).withColumns(columns).drop(tmp)
