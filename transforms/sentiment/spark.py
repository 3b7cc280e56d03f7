"""Sentiment columns on a Spark DataFrame (a pandas UDF; the model loads once per worker)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from transforms.sentiment.model import SentimentModel, load_model, model_path

_SCORE_TYPE = T.StructType(
    [
        T.StructField("prob", T.DoubleType()),
        T.StructField("confidence", T.DoubleType()),
        T.StructField("cues", T.IntegerType()),
    ]
)


def _score_udf(path: str):
    @F.pandas_udf(_SCORE_TYPE)
    def score(texts: pd.Series) -> pd.DataFrame:
        model = load_model(path)  # cached per worker process: read once, not per batch
        probs, confs, cues = [], [], []
        for text in texts:
            if text is None or text is pd.NA or (isinstance(text, float) and text != text):
                probs.append(None)
                confs.append(None)
                cues.append(None)
                continue
            p, c, n = model.score_one(str(text))
            probs.append(p)
            confs.append(c)
            cues.append(n)
        return pd.DataFrame(
            {
                "prob": pd.array(probs, dtype="Float64"),
                "confidence": pd.array(confs, dtype="Float64"),
                "cues": pd.array(cues, dtype="Int32"),
            }
        )

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
    read on the driver to validate it and once per Python worker to score.
    """
    if text_col not in df.columns:
        raise ValueError(f"add_sentiment: column {text_col!r} not in the DataFrame (columns: {df.columns})")
    path = str(Path(model) if model is not None else model_path())
    loaded: SentimentModel = load_model(path)  # fail fast on the driver if the artefact is bad
    neutral = loaded.neutral_threshold if neutral_threshold is None else float(neutral_threshold)
    review = neutral if review_threshold is None else float(review_threshold)
    tmp = f"__{prefix}_score"
    prob, conf = F.col(f"{tmp}.prob"), F.col(f"{tmp}.confidence")
    label = (
        F.when(prob.isNull(), F.lit(None).cast("string"))
        .when(conf < F.lit(neutral), F.lit("neu"))
        .when(prob >= F.lit(0.5), F.lit("pos"))
        .otherwise(F.lit("neg"))
    )
    needs_review = F.coalesce((conf < F.lit(review)) & (F.col(f"{tmp}.cues") > 0), F.lit(False))
    return (
        df.withColumn(tmp, _score_udf(path)(F.col(text_col).cast("string")))
        .withColumns(
            {
                f"{prefix}_positive_prob": prob,
                f"{prefix}_confidence": conf,
                f"{prefix}_label": label,
                f"{prefix}_needs_review": needs_review,
            }
        )
        .drop(tmp)
    )
