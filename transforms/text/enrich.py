"""Post enrichment on Spark: simplified text, words, Weibo entities, brand mentions, sentiment.

``enrich_posts`` is a pure DataFrame -> DataFrame function.  The Python work runs in one
Arrow UDF per batch of rows (no pandas in between); the segmenter, the converter and the
sentiment model are built once per Python worker (see ``segment.py``), and only the small
brand lexicon travels in the closure.  With ``sentiment=<prefix>`` the same pass also scores
sentiment from the tokens it has already cut, so a post is segmented once.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_type

from transforms.text.extract import (
    EMOTICON_RE,
    extract_emoticons,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    split_repost_at,
    strip_entities,
)
from transforms.text.lexicon import BrandLexicon, load_brand_lexicon
from transforms.text.segment import cut, get_segmenter, normalize_many, words

_WORDS = T.ArrayType(T.StringType(), containsNull=False)
ENRICHED_FIELDS = T.StructType(
    [
        T.StructField("text_simplified", T.StringType()),
        T.StructField("own_text", T.StringType()),
        T.StructField("tokens", _WORDS),
        T.StructField("emoticons", _WORDS),
        T.StructField("hashtags", _WORDS),
        T.StructField("mentions", _WORDS),
        T.StructField("urls", _WORDS),
        T.StructField(
            "repost_chain",
            T.ArrayType(
                T.StructType([T.StructField("user", T.StringType()), T.StructField("text", T.StringType())]),
                containsNull=False,
            ),
        ),
        T.StructField("brand_mentions", T.MapType(T.StringType(), T.IntegerType(), valueContainsNull=False)),
    ]
)
ENRICHED_COLUMNS = [f.name for f in ENRICHED_FIELDS.fields]
SCOPES = ("text", "own_text")


def analyse_posts(
    texts: Iterable[str | None],
    lexicon: BrandLexicon,
    brand_scope: str = "text",
    model=None,
    sentiment_scope: str = "own_text",
) -> dict[str, list]:
    """:func:`analyse_post` of many texts, column-wise: one list per ``ENRICHED_COLUMNS``
    name, with ``repost_chain`` as ``(user, text)`` and ``brand_mentions`` as ``(brand,
    count)`` pairs (the shapes Arrow builds fastest).  With a ``SentimentModel`` it adds
    ``sentiment_prob``, ``sentiment_confidence`` and ``sentiment_cues`` (``None`` for a null text).

    Each text is normalised, split at its first ``//@user:`` marker, stripped of entities and
    cut by rjieba once; the tokens serve both ``tokens`` and the sentiment features.
    """
    if brand_scope not in SCOPES or sentiment_scope not in SCOPES:
        raise ValueError(f"analyse_posts: scopes must be one of {SCOPES}, not {brand_scope!r} / {sentiment_scope!r}")
    seg = get_segmenter()
    spans = lexicon.spans
    count_mentions = lexicon.count_mentions
    names = lexicon.names
    own_brands = brand_scope == "own_text"
    own_sentiment = sentiment_scope == "own_text"
    score = model.score_tokens if model is not None else None
    cols: dict[str, list] = {name: [] for name in ENRICHED_COLUMNS}
    (c_simplified, c_own, c_tokens, c_emoticons, c_hashtags, c_mentions, c_urls, c_chain, c_brands) = (
        cols[name] for name in ENRICHED_COLUMNS
    )
    probs: list = []
    confs: list = []
    cues: list = []
    for simplified in normalize_many(texts):
        if simplified is None:
            c_simplified.append(None)
            c_own.append(None)
            for c in (c_tokens, c_emoticons, c_hashtags, c_mentions, c_urls, c_chain, c_brands):
                c.append([])
            probs.append(None)
            confs.append(None)
            cues.append(None)
            continue
        own_end, hops = split_repost_at(simplified)
        # Cutting the author's part and the reposted part apart gives the tokens of the whole
        # text (the marker between them is stripped to a space, a segmentation boundary).
        # Brand names (lexicon.spans) come out as single tokens.
        if hops:
            own_src = strip_entities(simplified[:own_end])
            tail_src = strip_entities(simplified[own_end:])
            own_cut = cut(own_src, segmenter=seg, keep=spans(own_src))
            tail_cut = cut(tail_src, segmenter=seg, keep=spans(tail_src))
            tokens = words(own_cut) + words(tail_cut)
            own = simplified[:own_end].strip()
            c_chain.append([(h.user, h.text) for h in hops])
        else:
            src = strip_entities(simplified)
            own_cut = cut(src, segmenter=seg, keep=spans(src))
            tail_cut = None
            tokens = words(own_cut)
            own = simplified.strip()
            c_chain.append([])
        emoticons = extract_emoticons(simplified)
        c_simplified.append(simplified)
        c_own.append(own)
        c_tokens.append(tokens)
        c_emoticons.append(emoticons)
        c_hashtags.append(extract_hashtags(simplified))
        c_mentions.append(extract_mentions(simplified))
        c_urls.append(extract_urls(simplified))
        counts = count_mentions(own if own_brands else simplified)
        c_brands.append([(name, counts[name]) for name in names if name in counts] if counts else [])
        if score is not None:
            if own_sentiment and hops:
                p, c, n = score(own_cut, EMOTICON_RE.findall(own) if "[" in own else ())
            elif own_sentiment:  # no repost: the own text is the whole text
                p, c, n = score(own_cut, [e[1:-1] for e in emoticons])
            else:
                p, c, n = score(own_cut + tail_cut if tail_cut else own_cut, [e[1:-1] for e in emoticons])
            probs.append(p)
            confs.append(c)
            cues.append(n)
    if model is not None:
        cols.update(sentiment_prob=probs, sentiment_confidence=confs, sentiment_cues=cues)
    return cols


def analyse_post(text: str | None, lexicon: BrandLexicon, brand_scope: str = "text", model=None,
                 sentiment_scope: str = "own_text") -> dict[str, Any]:
    """Everything ``enrich_posts`` adds, for one text, as a plain dict.

    ``text_simplified`` is the simplified, NFKC-folded text (``None`` for a null text);
    ``own_text`` the author's words before the first ``//@user:`` marker; ``tokens`` the
    words of the whole simplified text without links, ``[emoticons]``, ``@mentions`` and
    repost markers (brand names kept whole); entity lists come from the whole text (``mentions`` leave out the repost
    markers, which are in ``repost_chain``); ``brand_mentions`` counts mentions per brand in
    the whole text (``brand_scope="text"``) or in the author's own words only
    (``"own_text"``), as ``[{"brand", "count"}]`` in lexicon order.  With a sentiment
    ``model``: ``sentiment_prob``, ``sentiment_confidence`` and ``sentiment_cues`` of the
    ``sentiment_scope`` part, from the same tokens.
    """
    row = {name: values[0] for name, values in analyse_posts([text], lexicon, brand_scope, model, sentiment_scope).items()}
    row["repost_chain"] = [{"user": u, "text": t} for u, t in row["repost_chain"]]
    row["brand_mentions"] = [{"brand": b, "count": n} for b, n in row["brand_mentions"]]
    return row


def _enrich_udf(lexicon: BrandLexicon, brand_scope: str, model_path: str | None, sentiment_scope: str):
    from transforms.sentiment.spark import SCORE_TYPE, scores_to_arrow

    fields = list(ENRICHED_FIELDS.fields)
    if model_path is not None:
        fields.append(T.StructField("sentiment", SCORE_TYPE))
    arrow_fields = list(to_arrow_type(T.StructType(fields[: len(ENRICHED_COLUMNS)])))

    @F.arrow_udf(T.StructType(fields))
    def enrich(texts: pa.Array) -> pa.Array:
        model = None
        if model_path is not None:
            from transforms.sentiment.model import load_model

            model = load_model(model_path)  # cached per worker process: read once, not per batch
        cols = analyse_posts(texts.to_pylist(), lexicon, brand_scope, model, sentiment_scope)
        arrays = [pa.array(cols[f.name], f.type) for f in arrow_fields]
        out_fields = arrow_fields
        if model is not None:
            score = scores_to_arrow(cols["sentiment_prob"], cols["sentiment_confidence"], cols["sentiment_cues"])
            arrays.append(score)
            out_fields = [*arrow_fields, pa.field("sentiment", score.type)]
        return pa.StructArray.from_arrays(arrays, fields=out_fields)

    return enrich


def enrich_posts(
    df: DataFrame,
    text_col: str = "text",
    lexicon: BrandLexicon | str | None = None,
    brand_scope: str = "text",
    sentiment: str | None = None,
    sentiment_model: str | Path | None = None,
    sentiment_scope: str = "own_text",
) -> DataFrame:
    """Return ``df`` with the text columns of a silver post table added.

    Added columns: ``text_simplified`` string, ``own_text`` string, ``tokens``,
    ``emoticons``, ``hashtags``, ``mentions``, ``urls`` (array<string>), ``repost_chain``
    (array<struct<user,text>>) and ``brand_mentions`` (map<string,int>, brand name ->
    mentions; empty when none).  Every input row comes out exactly once; a null text gives
    null strings, empty arrays and an empty map.  ``lexicon`` is a :class:`BrandLexicon`,
    a YAML path, or None for the packaged ``brands.yaml``.  Existing columns with these
    names are replaced.

    ``sentiment="<prefix>"`` also adds the four ``<prefix>_*`` columns of
    ``transforms.sentiment.add_sentiment`` for the author's own words
    (``sentiment_scope="own_text"``) or the whole text (``"text"``), scored in the same pass
    from the same tokens (``sentiment_model``: an artefact path, the packaged model by
    default).  The tokens come from the brand-aware segmenter, so brand and product names
    stay whole words (no weight in the model) where ``add_sentiment`` on ``own_text`` may
    split them into words that carry some; on texts without a brand name both give the
    same scores.
    """
    if text_col not in df.columns:
        raise ValueError(f"enrich_posts: column {text_col!r} not in the DataFrame (columns: {df.columns})")
    for name, scope in (("brand_scope", brand_scope), ("sentiment_scope", sentiment_scope)):
        if scope not in SCOPES:
            raise ValueError(f"enrich_posts: {name} must be 'text' or 'own_text', not {scope!r}")
    if not isinstance(lexicon, BrandLexicon):
        lexicon = load_brand_lexicon(lexicon)
    path = loaded = None
    if sentiment is not None:
        from transforms.sentiment.spark import resolve_model

        path, loaded = resolve_model(sentiment_model)
    tmp = "__scim_text"
    out = df.withColumn(tmp, _enrich_udf(lexicon, brand_scope, path, sentiment_scope)(F.col(text_col).cast("string")))
    added: dict[str, Column] = {name: F.col(f"{tmp}.{name}") for name in ENRICHED_COLUMNS}
    if sentiment is not None:
        from transforms.sentiment.spark import sentiment_columns

        added.update(sentiment_columns(F.col(f"{tmp}.sentiment"), sentiment, loaded))
    return out.withColumns(added).drop(tmp)


def explode_brand_mentions(
    df: DataFrame,
    keep_cols: list[str],
    lexicon: BrandLexicon | str | None = None,
    map_col: str = "brand_mentions",
) -> DataFrame:
    """One row per (post, mentioned brand): ``keep_cols`` + ``brand``, ``brand_role``, ``mention_count``.

    Posts that mention no brand produce no row here (they stay in the post table); the role
    comes from the lexicon (null for a brand the lexicon does not know, e.g. an older map).
    """
    missing = [c for c in [*keep_cols, map_col] if c not in df.columns]
    if missing:
        raise ValueError(f"explode_brand_mentions: columns {missing} not in the DataFrame")
    if not isinstance(lexicon, BrandLexicon):
        lexicon = load_brand_lexicon(lexicon)
    roles = F.create_map(*[x for b in lexicon.brands for x in (F.lit(b.name), F.lit(b.role))]) if lexicon.brands else None
    exploded = df.select(*keep_cols, F.explode(F.col(map_col)).alias("brand", "mention_count"))
    role = roles[F.col("brand")] if roles is not None else F.lit(None).cast("string")
    return exploded.withColumn("brand_role", role).select(*keep_cols, "brand", "brand_role", "mention_count")
