"""Sentiment features of one text: word n-grams plus lexicon scores.

The same function featurises training texts and texts being scored, so the model never sees
a feature computed two ways.  It is plain Python over rjieba tokens and dict look-ups,
because per-text work must stay at a few tens of microseconds (the throughput target is
1M characters per second per core, segmentation included).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from transforms.text.extract import EMOTICON_RE, split_repost_at, strip_entities
from transforms.text.segment import cut, normalize

# Dense features, in the order of the model's dense weights.
# Punctuation features ('!' and '?' counts) were tried and left out: on review text '!'
# leans negative, on Weibo it marks enthusiasm as often as anger.
# Both evidence sums are divided by the square root of the number of cues they add up (a
# text's evidence is averaged, not counted: a long post with many mild words is not surer
# than a short one with one strong word; a row of [哈哈][哈哈][哈哈] is not three times
# as glad as one).  A "negated" flag (1 when a negation flipped a polarity word) was
# model v2's fourth feature and is left out: fitted on reviews, where a negation mostly
# means a complaint, it pulled every Weibo post with a 不 towards negative
# (docs/sentiment.md, "Design choices").
DENSE_NAMES = (
    "lex",  # signed sum of word polarities (after degree, negation, contrast) / sqrt(polarity words)
    "emoticon",  # signed sum of the polarities of [emoticons] and emoji / sqrt(their number)
    "contrast",  # 1 when a contrast word (但是, 不过 ...) occurs
)

# A token that starts with one of these and is not in the lexicon is tried as a negated
# word: 不太好 -> 太好 -> 好, flipped.  (非 is left out: 非常 is an intensifier.)
_NEG_PREFIXES = frozenset("不没无未别")
# Degree adverbs starting with these negate too: 不太, 不很, 没怎么 (and soften).
_NEG_DEGREE_PREFIXES = frozenset("不没")
_NEG_DEGREE = 0.6


@dataclass(frozen=True)
class Lexicons:
    """Polarity words, emoticons, negations, degree adverbs and contrast words.

    Serialised into the model artefact, so scoring needs none of the training packages.
    """

    polarity: dict[str, float]
    emoticons: dict[str, float]  # [name] (lower-cased, no brackets) and single emoji characters
    negations: frozenset[str]
    degree: dict[str, float]
    contrast: frozenset[str]
    negation_window: int = 3
    contrast_before: float = 0.5
    _table: list = field(default_factory=list, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "polarity": dict(sorted(self.polarity.items())),
            "emoticons": dict(sorted(self.emoticons.items())),
            "negations": sorted(self.negations),
            "degree": dict(sorted(self.degree.items())),
            "contrast": sorted(self.contrast),
            "negation_window": self.negation_window,
            "contrast_before": self.contrast_before,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Lexicons":
        return cls(
            polarity={str(k): float(v) for k, v in data["polarity"].items()},
            emoticons={str(k): float(v) for k, v in data["emoticons"].items()},
            negations=frozenset(data["negations"]),
            degree={str(k): float(v) for k, v in data["degree"].items()},
            contrast=frozenset(data["contrast"]),
            negation_window=int(data.get("negation_window", 3)),
            contrast_before=float(data.get("contrast_before", 0.5)),
        )


@dataclass
class TextFeatures:
    """What the model sees of one text: n-gram keys, dense values, and the cue count."""

    keys: list[str]
    dense: list[float]
    cues: int  # polarity words + emoticons found: 0 means no sentiment evidence at all
    ngram_sum: float = 0.0  # with featurize(weights=...): the summed n-gram weights


_POLARITY, _NEGATION, _DEGREE, _NEG_DEGREE_WORD, _CONTRAST = 0, 1, 2, 3, 4


def _cue_table(lex: Lexicons) -> dict[str, tuple[int, float]]:
    """One dict for every cue word, so the token loop does a single look-up per token."""
    if not lex._table:
        table: dict[str, tuple[int, float]] = {w: (_POLARITY, v) for w, v in lex.polarity.items() if v}
        for w, v in lex.degree.items():
            table[w] = (_NEG_DEGREE_WORD, _NEG_DEGREE) if w[0] in _NEG_DEGREE_PREFIXES else (_DEGREE, v)
        for w in lex.negations:
            table[w] = (_NEGATION, 0.0)
        for w in lex.contrast:
            table[w] = (_CONTRAST, 0.0)
        lex._table.append(table)
    return lex._table[0]


_Resolved = tuple[int, float, bool, float]  # (cue kind, value, negated, boost)


def _resolve(tok: str, cue_table: dict[str, tuple[int, float]], compound_firsts: frozenset[str]) -> _Resolved | None:
    """What one word token does to the lexicon features, or None when nothing.

    A cue word is itself (kind, value); an unlisted compound is read as its tail: 不太好 ->
    太好 -> 好 (negated), 很差 -> 差 (intensified by 很); only a polarity word counts there.
    """
    cue = cue_table.get(tok)
    if cue is not None:
        return (cue[0], cue[1], False, 1.0)
    first = tok[0]
    if len(tok) > 1 and first in compound_firsts:
        negate = False
        boost = 1.0
        if first in _NEG_PREFIXES:
            negate = True
        else:
            lead = cue_table[first]
            boost = lead[1] if lead[0] == _DEGREE else 0.0
        cue = cue_table.get(tok[1:])
        if cue is None and negate and len(tok) > 2:
            cue = cue_table.get(tok[2:])
        if cue is not None and cue[0] == _POLARITY and boost:
            return (_POLARITY, cue[1], negate, boost)
    return None


def _compound_firsts(lex: Lexicons) -> frozenset[str]:
    """First characters that can open an unlisted compound: negation prefixes and one-character
    degree adverbs (only those change what the tail means in :func:`_resolve`; listing every
    one-character cue word would send thousands of unrelated words through it)."""
    return _NEG_PREFIXES | frozenset(k for k, (kind, _) in _cue_table(lex).items() if len(k) == 1 and kind == _DEGREE)


def scoring_table(lex: Lexicons, weights: dict[str, float]) -> dict[str, tuple[float, _Resolved | None]]:
    """Token -> (unigram weight, what it does to the lexicon features or None) for every
    token that has a weight or is a cue word, so that scoring does one dictionary look-up
    per known token (bigram weights stay in ``weights``).

    Only keys that start with a letter or digit are kept: a token that starts otherwise is
    punctuation to :func:`featurize_tokens`, whose loop then needs no separate test for it
    on the common path (a token found in the table)."""
    cues = _cue_table(lex)
    firsts = _compound_firsts(lex)
    keys = [k for k in weights if " " not in k] + [k for k in cues if k not in weights]
    return {k: (weights.get(k, 0.0), _resolve(k, cues, firsts)) for k in keys if k[:1].isalnum()}


def _tables(lex: Lexicons) -> tuple[dict, frozenset[str]]:
    """(the cue-only scoring table used when collecting training keys, :func:`_compound_firsts`)."""
    if len(lex._table) < 2:
        _cue_table(lex)
        lex._table.append((scoring_table(lex, {}), _compound_firsts(lex)))
    return lex._table[1]


def featurize(
    text: str | None,
    lex: Lexicons,
    simplified: bool = False,
    weights: dict[str, float] | None = None,
    table: dict | None = None,
    bigrams: bool = True,
) -> TextFeatures:
    """Features of one text (``None`` and empty texts give no keys and zero dense values).

    Only the author's own words count: a repost (``我的评论//@小王:他的评论``) is read up to
    its first ``//@user:`` marker.  Keys are word unigrams and, with ``bigrams``,
    within-clause word bigrams (``"质量 不错"``) of that text after links, ``[emoticons]``,
    ``{%...%}`` markers and mentions are removed; a key that occurs twice is listed twice
    (the model uses counts).  Polarity (``lex``): each lexicon word adds its weight, times
    the product of the degree adverbs before it, sign flipped when a negation occurred
    within ``negation_window`` words in the same clause; a contrast word scales the sum so
    far by ``contrast_before``; the sum is divided by the square root of the number of
    polarity words.  ``emoticon``: the summed polarity of ``[emoticons]`` and emoji
    characters, divided by the square root of their number.

    Pass ``simplified=True`` when the text is already OpenCC-simplified and NFKC-folded.
    For scoring pass ``weights`` and ``table = scoring_table(lex, weights)``: keys are then
    not collected and ``TextFeatures.ngram_sum`` holds the summed weights of the keys.
    """
    if not text:
        return TextFeatures([], [0.0] * len(DENSE_NAMES), 0)
    if not simplified:
        text = normalize(text)
    if "//" in text:
        text = text[: split_repost_at(text)[0]]
    emoticons = EMOTICON_RE.findall(text) if "[" in text else ()
    return featurize_tokens(cut(strip_entities(text)), emoticons, lex, weights, table, bigrams)


def featurize_tokens(
    tokens: Iterable[str],
    emoticons: Iterable[str],
    lex: Lexicons,
    weights: dict[str, float] | None = None,
    table: dict | None = None,
    bigrams: bool = True,
) -> TextFeatures:
    """:func:`featurize` of a text already segmented: ``tokens`` is the raw output of
    ``transforms.text.segment.cut`` on the text without entities (punctuation included: it
    closes clauses), ``emoticons`` the emoticon names of the text without brackets (``哈哈``).

    This is how ``enrich_posts`` scores sentiment from the tokens it has already cut.
    """
    cue_table = _cue_table(lex)
    cue_only, compound_firsts = _tables(lex)
    window = lex.negation_window
    collect = weights is None
    if collect:
        table = cue_only
    elif table is None:
        table = scoring_table(lex, weights)
    tget = table.get
    wget = weights.get if weights is not None else None

    emo_get = lex.emoticons.get
    lex_sum = emo_sum = 0.0
    n_emo = n_lex = 0
    for name in emoticons:
        v = emo_get(name.lower())
        if v:
            n_emo += 1
            emo_sum += v

    keys: list[str] = []
    ngram_sum = 0.0
    prev = None
    pending_neg = 0
    degree = 1.0
    contrast = 0
    for tok in tokens:
        # The table holds only word tokens with what each does precomputed, so a known word
        # costs one look-up; an unknown one is punctuation, whitespace, or a word that can
        # only matter as a compound (不太好).
        info = tget(tok)
        if info is None:
            first = tok[0]
            if not first.isalnum():
                if not tok.isspace():
                    # Punctuation closes a clause: negation and degree do not cross it.
                    prev = None
                    pending_neg = 0
                    degree = 1.0
                    # Emoji (😭, 👍) come out as punctuation tokens; ASCII and CJK punctuation
                    # (，。！ in U+3000-303F and U+FF00-FFEF) cannot be one, and are most tokens.
                    if first >= "\u2190" and not ("\u3000" <= first <= "\u303f" or "\uff00" <= first <= "\uffef"):
                        for ch in tok:
                            v = emo_get(ch)
                            if v:
                                n_emo += 1
                                emo_sum += v
                continue
            res = _resolve(tok, cue_table, compound_firsts) if len(tok) > 1 and first in compound_firsts else None
        else:
            ngram_sum += info[0]
            res = info[1]
        if collect:
            keys.append(tok)
            if bigrams and prev is not None:
                keys.append(prev + " " + tok)
        elif bigrams and prev is not None:
            ngram_sum += wget(prev + " " + tok, 0.0)
        prev = tok
        if res is None:
            if pending_neg:
                pending_neg -= 1
            continue
        kind, v, negate, boost = res
        if kind != _POLARITY:
            if kind == _NEGATION:
                pending_neg = window
            elif kind == _DEGREE:
                degree *= v
            elif kind == _NEG_DEGREE_WORD:
                pending_neg = window
                degree *= v
            else:  # contrast: what follows outweighs what came before
                lex_sum *= lex.contrast_before
                contrast = 1
                pending_neg = 0
                degree = 1.0
            continue
        if pending_neg:
            negate = not negate
            pending_neg = 0
        if negate:
            v = -v
        v *= degree * boost
        degree = 1.0
        n_lex += 1
        lex_sum += v
    dense = [
        lex_sum / math.sqrt(n_lex) if n_lex > 1 else lex_sum,
        emo_sum / math.sqrt(n_emo) if n_emo > 1 else emo_sum,
        float(contrast),
    ]
    return TextFeatures(keys, dense, n_lex + n_emo, ngram_sum)
