"""The sentiment model artefact and scoring in pure Python/numpy.

A model is a logistic regression over the features of ``features.py``: a bias, one weight
per known n-gram key (times its count in the text), one weight per dense feature, then Platt calibration
``p = sigmoid(a * z + b)``.  The artefact (``model/sentiment-<version>.json.gz``) holds the
weights, the lexicons and the training metadata, so scoring needs no training package.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from transforms.sentiment.features import DENSE_NAMES, Lexicons, TextFeatures, featurize, featurize_tokens, scoring_table

MODEL_DIR = Path(__file__).with_name("model")
CURRENT_VERSION = "v3"
FORMAT = "scim-sentiment"

_cache: dict[str, "SentimentModel"] = {}
_lock = threading.Lock()


class ModelError(ValueError):
    """The model artefact is missing or not a SCIM sentiment model; the message says how to rebuild it."""


def model_path(version: str = CURRENT_VERSION, directory: Path | str | None = None) -> Path:
    """Where the artefact of ``version`` lives (the packaged ``model/`` folder by default)."""
    return Path(directory or MODEL_DIR) / f"sentiment-{version}.json.gz"


@dataclass(frozen=True)
class SentimentModel:
    """A loaded model.  Immutable; safe to share between threads."""

    version: str
    bias: float
    weights: dict[str, float]
    dense_weights: tuple[float, ...]
    calibration: tuple[float, float]
    lexicons: Lexicons
    neutral_threshold: float
    metadata: dict
    _scoring: list = field(default_factory=list, compare=False, repr=False)

    def _table(self):
        # (scoring table, whether the model has bigram weights), built on first use.
        if not self._scoring:
            has_bigrams = any(" " in k for k in self.weights)
            self._scoring.append((scoring_table(self.lexicons, self.weights), has_bigrams))
        return self._scoring[0]

    # -- scoring ---------------------------------------------------------------------
    def decision(self, text: str | None, simplified: bool = False) -> tuple[float, int]:
        """Uncalibrated score ``z`` and the number of sentiment cues of one text."""
        table, bigrams = self._table()
        f = featurize(text, self.lexicons, simplified=simplified, weights=self.weights, table=table, bigrams=bigrams)
        return self._z(f), f.cues

    def _z(self, f: TextFeatures) -> float:
        z = self.bias + f.ngram_sum
        for wd, x in zip(self.dense_weights, f.dense):
            z += wd * x
        return z

    def _calibrated(self, z: float, cues: int) -> tuple[float, float, int]:
        a, b = self.calibration
        t = a * z + b
        # Numerically safe logistic.
        p = 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
        return p, abs(2.0 * p - 1.0), cues

    def score_one(self, text: str | None, simplified: bool = False) -> tuple[float, float, int]:
        """``(positive probability, confidence, cues)`` of one text."""
        return self._calibrated(*self.decision(text, simplified))

    def score_tokens(self, tokens: Iterable[str], emoticons: Iterable[str] = ()) -> tuple[float, float, int]:
        """``score_one`` of a text already cut: ``tokens`` and ``emoticons`` as
        :func:`transforms.sentiment.features.featurize_tokens` takes them."""
        table, bigrams = self._table()
        f = featurize_tokens(tokens, emoticons, self.lexicons, weights=self.weights, table=table, bigrams=bigrams)
        return self._calibrated(self._z(f), f.cues)

    def score_texts(self, texts: Iterable[str | None], simplified: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Positive probabilities and confidences (``|2p - 1|``) as two float64 arrays."""
        probs, confs = [], []
        for text in texts:
            p, c, _ = self.score_one(text, simplified)
            probs.append(p)
            confs.append(c)
        return np.asarray(probs, dtype=np.float64), np.asarray(confs, dtype=np.float64)

    def label(self, prob: float) -> str:
        """``pos``/``neg``, or ``neu`` when the confidence is below the neutral threshold."""
        if abs(2.0 * prob - 1.0) < self.neutral_threshold:
            return "neu"
        return "pos" if prob >= 0.5 else "neg"

    # -- (de)serialisation -------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": self.version,
            "bias": self.bias,
            "dense_names": list(DENSE_NAMES),
            "dense_weights": list(self.dense_weights),
            "calibration": {"a": self.calibration[0], "b": self.calibration[1]},
            "neutral_threshold": self.neutral_threshold,
            "metadata": self.metadata,
            "lexicons": self.lexicons.to_dict(),
            "weights": dict(sorted(self.weights.items())),
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "SentimentModel":
        if data.get("format") != FORMAT:
            raise ModelError(f"{source}: not a {FORMAT} artefact; rebuild it with `scim train-sentiment`")
        if list(data.get("dense_names", [])) != list(DENSE_NAMES):
            raise ModelError(
                f"{source}: built for dense features {data.get('dense_names')}, this code computes {list(DENSE_NAMES)}; "
                "rebuild it with `scim train-sentiment`"
            )
        return cls(
            version=str(data["version"]),
            bias=float(data["bias"]),
            weights={str(k): float(v) for k, v in data["weights"].items()},
            dense_weights=tuple(float(v) for v in data["dense_weights"]),
            calibration=(float(data["calibration"]["a"]), float(data["calibration"]["b"])),
            lexicons=Lexicons.from_dict(data["lexicons"]),
            neutral_threshold=float(data["neutral_threshold"]),
            metadata=dict(data.get("metadata", {})),
        )

    def save(self, path: Path | str) -> Path:
        """Write the artefact as deterministic gzip'd JSON (same model -> same bytes)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False, separators=(",", ":")).encode("utf-8")
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(payload)
        return path


def _missing_message(path: Path) -> str:
    others = sorted(p.name for p in path.parent.glob("sentiment-*.json.gz")) if path.parent.is_dir() else []
    found = f" (that folder holds {', '.join(others)}: built for other code versions)" if others else ""
    return (
        f"sentiment model {path} not found{found}; this code scores with model {CURRENT_VERSION}: "
        f"build it with `scim train-sentiment` (or pass --model / model= an artefact of version {CURRENT_VERSION})"
    )


def load_model(path: Path | str | None = None) -> SentimentModel:
    """Load an artefact (the packaged current version when ``path`` is None).

    Models are cached per path for the life of the process, which is what a Spark Python
    worker needs: the model is read once per worker, not once per batch.
    """
    path = Path(path) if path is not None else model_path()
    key = str(path.resolve())
    model = _cache.get(key)
    if model is None:
        with _lock:
            model = _cache.get(key)
            if model is None:
                if not path.exists():
                    raise ModelError(_missing_message(path))
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    model = SentimentModel.from_dict(json.load(fh), source=str(path))
                _cache[key] = model
    return model


def score_texts(texts: Sequence[str | None], model: SentimentModel | str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positive probability and confidence per text, with the packaged model by default.

    Returns two float64 arrays the length of ``texts``: ``prob`` in [0, 1] (calibrated
    probability that the text is positive) and ``confidence = |2 * prob - 1|`` in [0, 1].
    A ``None`` or empty text gets the model's prior (close to 0.5, confidence close to 0).
    """
    if not isinstance(model, SentimentModel):
        model = load_model(model)
    return model.score_texts(texts)
