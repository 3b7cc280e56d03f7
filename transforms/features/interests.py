"""Interest scores per person from bios, profile tags and posts (TF-IDF over a YAML taxonomy).

Method (documented in docs/features.md, group *interests*):

1. Documents.  Posts give their rjieba ``tokens`` plus the joins of adjacent tokens (rjieba
   cuts 多肉 into 多 + 肉); bios and profile tags give the taxonomy terms they contain as
   substrings (short, unsegmented text).  :func:`post_documents` and
   :func:`profile_documents` build them; any other source can supply ``(id, source, terms)``.
2. Weighted term frequency per person: ``tf(p, t) = sum of source weights`` over the
   occurrences of taxonomy term ``t`` in the person's documents (bio 2, tag 2, post 1).
3. ``idf(t) = ln((1 + N) / (1 + df(t))) + 1`` with ``N`` the persons that have any document
   and ``df(t)`` those among them whose documents contain ``t`` (common words count less).
4. ``raw(p, c) = sum over terms t of c of  term_weight(t) * ln(1 + tf(p, t)) * idf(t)``.
5. ``interest_<c> = 1 - exp(-raw / tau)`` (tau = 2): 0 without evidence, 0..1, rising with
   more, rarer and more self-declared evidence, never reaching 1.
"""

from __future__ import annotations

import math

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.features._common import require_columns
from transforms.features.lexicons import InterestTaxonomy
from transforms.features.params import InterestParams


def token_terms(tokens: Column) -> Column:
    """The tokens followed by every join of two adjacent tokens (null tokens -> empty array)."""
    toks = F.coalesce(tokens, F.array().cast("array<string>"))
    pairs = F.transform(F.slice(toks, 1, F.greatest(F.size(toks) - 1, F.lit(0))), lambda x, i: F.concat(x, toks[i + 1]))
    return F.concat(toks, pairs)


def terms_in_text(text: Column, terms: list[str]) -> Column:
    """The terms of ``terms`` that occur in ``text`` as substrings (null text -> empty array)."""
    if not terms:
        return F.array().cast("array<string>")
    t = F.coalesce(text, F.lit(""))
    return F.filter(F.array(*[F.lit(x) for x in terms]), lambda term: t.contains(term))


def post_documents(posts: DataFrame, id_col: str, tokens_col: str = "tokens") -> DataFrame:
    """``(id, source='post', terms)`` per post.  Requires ``id_col`` and ``tokens_col`` (array<string>)."""
    require_columns(posts, [id_col, tokens_col], "post_documents(posts)")
    return posts.select(F.col(id_col).alias("id"), F.lit("post").alias("source"), token_terms(F.col(tokens_col)).alias("terms"))


def profile_documents(
    accounts: DataFrame, id_col: str, taxonomy: InterestTaxonomy, bio_col: str = "description", tags_col: str = "tags"
) -> DataFrame:
    """``(id, source in {'bio','tag'}, terms)`` per account: taxonomy terms found in the bio and in the tags.

    Requires ``id_col``, ``bio_col`` (string) and ``tags_col`` (array<string>); each tag is
    searched on its own, so a term cannot straddle two tags.
    """
    require_columns(accounts, [id_col, bio_col, tags_col], "profile_documents(accounts)")
    terms = taxonomy.all_terms()
    bio = accounts.select(F.col(id_col).alias("id"), F.lit("bio").alias("source"), terms_in_text(F.col(bio_col), terms).alias("terms"))
    tag = accounts.select(
        F.col(id_col).alias("id"),
        F.lit("tag").alias("source"),
        terms_in_text(F.concat_ws("\u0001", F.coalesce(F.col(tags_col), F.array().cast("array<string>"))), terms).alias("terms"),
    )
    return bio.unionByName(tag)


def interest_columns(taxonomy: InterestTaxonomy) -> list[str]:
    return [f"interest_{k}" for k in taxonomy.keys]


def score_interests(docs: DataFrame, taxonomy: InterestTaxonomy, params: InterestParams = InterestParams()) -> DataFrame:
    """One row per distinct ``id`` of ``docs`` with ``interest_<key>`` (double 0..1) per category and ``top_interest``.

    ``docs`` has ``id``, ``source`` (string, weighted by ``params.source_weights``; unknown
    sources weigh 1) and ``terms`` (array<string>).  Persons with documents but no taxonomy
    term get 0.0 everywhere and a null ``top_interest``; ``top_interest`` is the key of the
    highest score when it reaches ``params.top_min_score`` (ties: the category listed first).
    """
    require_columns(docs, ["id", "source", "terms"], "score_interests(docs)")
    spark = docs.sparkSession
    lex = spark.createDataFrame(taxonomy.term_rows(), "term string, category string, term_weight double")
    weights = F.create_map(*[x for s, w in params.source_weights for x in (F.lit(s), F.lit(float(w)))])
    people = docs.select("id").where(F.col("id").isNotNull()).distinct()
    n_people = people.agg(F.count(F.lit(1)).alias("n_people"))
    occurrences = (
        docs.where(F.col("id").isNotNull())
        .select("id", "source", F.explode(F.col("terms")).alias("term"))
        .join(F.broadcast(lex.select("term").distinct()), "term")
        .withColumn("w", F.coalesce(weights[F.col("source")], F.lit(1.0)))
    )
    tf = occurrences.groupBy("id", "term").agg(F.sum("w").alias("tf"))
    df_t = tf.groupBy("term").agg(F.count(F.lit(1)).alias("df"))
    idf = df_t.crossJoin(F.broadcast(n_people)).select(
        "term", (F.log((F.lit(1.0) + F.col("n_people")) / (F.lit(1.0) + F.col("df"))) + F.lit(1.0)).alias("idf")
    )
    keys = list(taxonomy.keys)
    raw = (
        tf.join(idf, "term")
        .join(F.broadcast(lex), "term")
        .withColumn("contrib", F.col("term_weight") * F.log1p(F.col("tf")) * F.col("idf"))
        .groupBy("id")
        .pivot("category", keys)
        .agg(F.sum("contrib"))
    )
    scores = people.join(raw, "id", "left").select(
        "id", *[(F.lit(1.0) - F.exp(-F.coalesce(F.col(k), F.lit(0.0)) / F.lit(float(params.tau)))).alias(f"interest_{k}") for k in keys]
    )
    # greatest() over (score, -position) structs picks the highest score, ties to the first listed.
    structs = [F.struct(F.col(f"interest_{k}").alias("s"), F.lit(-i).alias("p"), F.lit(k).alias("k")) for i, k in enumerate(keys)]
    best = F.greatest(*structs) if len(structs) > 1 else structs[0]
    return scores.withColumn("top_interest", F.when(best["s"] >= F.lit(params.top_min_score), best["k"]))


def expected_score(raw: float, tau: float = InterestParams.tau) -> float:
    """The score for a raw TF-IDF sum (exposed so tests and docs share one formula)."""
    return 1.0 - math.exp(-raw / tau)
