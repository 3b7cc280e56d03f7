"""Post enrichment on Spark: simplified text, words, Weibo entities, brand mentions.

``enrich_posts`` is a pure DataFrame -> DataFrame function.  The Python work runs in one
pandas UDF per batch of rows; the segmenter and the converter are built once per Python
worker (see ``segment.py``), and only the small brand lexicon travels in the closure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from transforms.text.extract import (
    extract_emoticons,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    split_repost,
    strip_entities,
)
from transforms.text.lexicon import BrandLexicon, load_brand_lexicon
from transforms.text.segment import normalize, segment

ENRICHED_FIELDS = T.StructType(
    [
        T.StructField("text_simplified", T.StringType()),
        T.StructField("own_text", T.StringType()),
        T.StructField("tokens", T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField("emoticons", T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField("hashtags", T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField("mentions", T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField("urls", T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField(
            "repost_chain",
            T.ArrayType(
                T.StructType([T.StructField("user", T.StringType()), T.StructField("text", T.StringType())]),
                containsNull=False,
            ),
        ),
        T.StructField(
            "brand_mentions",
            T.ArrayType(
                T.StructType([T.StructField("brand", T.StringType()), T.StructField("count", T.IntegerType())]),
                containsNull=False,
            ),
        ),
    ]
)
ENRICHED_COLUMNS = [f.name for f in ENRICHED_FIELDS.fields]


def analyse_post(text: str | None, lexicon: BrandLexicon, brand_scope: str = "text") -> dict[str, Any]:
    """Everything ``enrich_posts`` adds, for one text, as a plain dict.

    ``text_simplified`` is the simplified, NFKC-folded text (``None`` for a null text);
    ``own_text`` the author's words before the first ``//@user:`` marker; ``tokens`` the
    words of the whole simplified text without links, ``[emoticons]``, ``@mentions`` and
    repost markers (brand names kept whole); entity lists come from the whole text (``mentions`` leave out the repost
    markers, which are in ``repost_chain``); ``brand_mentions`` counts mentions per brand in
    the whole text (``brand_scope="text"``) or in the author's own words only
    (``"own_text"``), as ``[{"brand", "count"}]`` in lexicon order.
    """
    simplified = normalize(text)
    own, hops = split_repost(simplified)
    words_source = strip_entities(simplified) if simplified else ""
    counted = own if brand_scope == "own_text" else simplified
    counts = lexicon.count_mentions(counted)
    return {
        "text_simplified": simplified,
        "own_text": own if simplified is not None else None,
        "tokens": segment(words_source, lexicon.words()),
        "emoticons": extract_emoticons(simplified),
        "hashtags": extract_hashtags(simplified),
        "mentions": extract_mentions(simplified),
        "urls": extract_urls(simplified),
        "repost_chain": [{"user": h.user, "text": h.text} for h in hops],
        "brand_mentions": [{"brand": name, "count": counts[name]} for name in lexicon.names if name in counts],
    }


def _enrich_udf(lexicon: BrandLexicon, brand_scope: str):
    @F.pandas_udf(ENRICHED_FIELDS)
    def enrich(texts: pd.Series) -> pd.DataFrame:
        rows = [analyse_post(None if t is None or t is pd.NA else str(t), lexicon, brand_scope) for t in texts]
        return pd.DataFrame(rows, columns=ENRICHED_COLUMNS)

    return enrich


def enrich_posts(
    df: DataFrame,
    text_col: str = "text",
    lexicon: BrandLexicon | str | None = None,
    brand_scope: str = "text",
) -> DataFrame:
    """Return ``df`` with the text columns of a silver post table added.

    Added columns: ``text_simplified`` string, ``own_text`` string, ``tokens``,
    ``emoticons``, ``hashtags``, ``mentions``, ``urls`` (array<string>), ``repost_chain``
    (array<struct<user,text>>) and ``brand_mentions`` (map<string,int>, brand name ->
    mentions; empty when none).  Every input row comes out exactly once; a null text gives
    null strings, empty arrays and an empty map.  ``lexicon`` is a :class:`BrandLexicon`,
    a YAML path, or None for the packaged ``brands.yaml``.  Existing columns with these
    names are replaced.
    """
    if text_col not in df.columns:
        raise ValueError(f"enrich_posts: column {text_col!r} not in the DataFrame (columns: {df.columns})")
    if brand_scope not in ("text", "own_text"):
        raise ValueError(f"enrich_posts: brand_scope must be 'text' or 'own_text', not {brand_scope!r}")
    if not isinstance(lexicon, BrandLexicon):
        lexicon = load_brand_lexicon(lexicon)
    tmp = "__scim_text"
    out = df.withColumn(tmp, _enrich_udf(lexicon, brand_scope)(F.col(text_col).cast("string")))
    added: dict[str, Column] = {name: F.col(f"{tmp}.{name}") for name in ENRICHED_COLUMNS}
    added["brand_mentions"] = F.map_from_entries(F.col(f"{tmp}.brand_mentions"))
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
