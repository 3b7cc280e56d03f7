"""Benchmark ``sentiment``: accuracy and ROC AUC on real, hand-labelled Weibo posts.

Scores every post of a labelled file (lines ``mid,label,text``, label 1 = positive, 0 =
negative; by default ``/work/shared/eval/weibo_sentiment_dev.txt``, 10,000 posts of the
public ``weibo2018`` corpus, see ``/work/shared/eval/README.md``) with

- ``scim``: the packaged SCIM model (``score_texts``; positive when ``prob >= 0.5``);
- ``pysenti``: pysenti's rule classifier (``rule_classifier.classify(text)["score"]``,
  positive when > 0);
- ``snownlp``: ``SnowNLP(text).sentiments`` (positive when >= 0.5; slow: ~20 ms a post);

and reports accuracy, ROC AUC (ties counted half), and the share of posts called positive
next to the true positive share (the calibration check: within 5 points).  The file is
read, never copied: its licence is unknown, so it measures the model and is not training
data (docs/sentiment.md).

``python -m bench sentiment``; the file comes from ``SCIM_SENTIMENT_EVAL`` when set.
``--rows N`` scores the first N posts only (a quick look; the figures to report are on all).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import BenchContext, benchmark

DEFAULT_EVAL = "/work/shared/eval/weibo_sentiment_dev.txt"
ENV_VAR = "SCIM_SENTIMENT_EVAL"


class EvalDataError(RuntimeError):
    """The labelled evaluation file is missing or malformed; the message says which line."""


def eval_path(path: str | os.PathLike | None = None) -> Path:
    """The evaluation file: ``path``, else ``$SCIM_SENTIMENT_EVAL``, else the shared dev set."""
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_EVAL)


def load_labelled(path: str | os.PathLike | None = None, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels of a ``mid,label,text`` file (UTF-8; the text may hold commas)."""
    p = eval_path(path)
    if not p.exists():
        raise EvalDataError(
            f"sentiment bench: evaluation file {p} not found; pass a `mid,label,text` file with "
            f"{ENV_VAR}=/path/to/file (the shared dev set is {DEFAULT_EVAL})"
        )
    texts: list[str] = []
    labels: list[int] = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split(",", 2)
            if len(parts) != 3 or parts[1] not in ("0", "1"):
                raise EvalDataError(f"{p}, line {n}: expected `mid,label,text` with label 0 or 1")
            labels.append(int(parts[1]))
            texts.append(parts[2])
            if limit is not None and len(texts) >= limit:
                break
    if not texts or len(set(labels)) < 2:
        raise EvalDataError(f"{p}: needs posts of both labels, found {len(texts)} posts")
    return texts, np.asarray(labels, dtype=np.int8)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve: the chance a positive post outscores a negative one (ties 1/2)."""
    from scipy.stats import rankdata

    y = np.asarray(y)
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def measure(name: str, y: np.ndarray, score: np.ndarray, positive: np.ndarray, seconds: float) -> dict[str, Any]:
    """One row of figures for a scorer."""
    return {
        "model": name,
        "accuracy": round(float(np.mean(positive.astype(np.int8) == y)), 4),
        "roc_auc": round(roc_auc(y, score), 4),
        "share_called_positive": round(float(np.mean(positive)), 4),
        "true_positive_share": round(float(np.mean(y)), 4),
        "posts": int(len(y)),
        "seconds": round(seconds, 1),
    }


def _timed(fn: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = np.asarray(fn(texts), dtype=np.float64)
    return out, time.perf_counter() - t0


def score_scim(texts: Sequence[str], model=None) -> np.ndarray:
    from transforms.sentiment import score_texts

    return score_texts(texts, model)[0]


def score_pysenti(texts: Sequence[str]) -> np.ndarray:
    from pysenti import rule_classifier

    return np.array([rule_classifier.classify(t)["score"] for t in texts], dtype=np.float64)


def score_snownlp(texts: Sequence[str]) -> np.ndarray:
    from snownlp import SnowNLP

    return np.array([SnowNLP(t).sentiments if t.strip() else 0.5 for t in texts], dtype=np.float64)


def bench_sentiment(path: str | os.PathLike | None = None, limit: int | None = None, model=None) -> dict[str, Any]:
    """Figures of SCIM, pysenti and snownlp on the labelled file (see the module doc)."""
    texts, y = load_labelled(path, limit)
    rows = []
    p, secs = _timed(lambda t: score_scim(t, model), texts)
    rows.append(measure("scim", y, p, p >= 0.5, secs))
    s, secs = _timed(score_pysenti, texts)
    rows.append(measure("pysenti 0.1.8 rules", y, s, s > 0, secs))
    s, secs = _timed(score_snownlp, texts)
    rows.append(measure("snownlp 0.12.3", y, s, s >= 0.5, secs))
    scim = rows[0]
    calibration_gap = round(abs(scim["share_called_positive"] - scim["true_positive_share"]) * 100, 1)
    return {"rows": rows, "file": str(eval_path(path)), "posts": len(texts), "calibration_gap_points": calibration_gap}


@benchmark("sentiment")
def run(ctx: BenchContext) -> dict[str, Any]:
    from transforms.sentiment import load_model

    limit = (ctx.options.get("rows") or [None])[0]
    model = load_model()
    with ctx.stage("sentiment", model=model.version) as stage:
        r = bench_sentiment(limit=limit, model=model)
        stage["posts"] = r["posts"]
    scim = r["rows"][0]
    note = (
        f"{r['posts']:,} posts of {r['file']}. SCIM model {model.version}: accuracy {scim['accuracy']:.4f}, "
        f"ROC AUC {scim['roc_auc']:.4f}; called positive {scim['share_called_positive']:.1%} vs "
        f"{scim['true_positive_share']:.1%} truly positive ({r['calibration_gap_points']} points apart; target <= 5). "
        "Targets: accuracy >= 0.86, AUC >= 0.92."
    )
    return {"table": r["rows"], "note": note, "raw": r, "model_version": model.version}
