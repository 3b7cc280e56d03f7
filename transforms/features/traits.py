"""Life events, education and income signals from bios, profile tags and posts.

The Miss Song example of the source documents — elite school, stable job, good income,
just married — becomes numbers here: ``edu_elite_school``, ``edu_level_score``,
``income_stable_job``, ``income_signal_score``, ``life_event_wedding`` and its date.
Terms come from ``traits.yaml`` and match as substrings of the text (no segmentation, so
清华大学 and 领证 stay whole).  Rules:

* ``life_event_<e>`` = 1 when the bio, a tag or a post of the last ``lookback_days`` days
  (up to the snapshot day) contains a term of event ``e``; ``life_event_<e>_date`` = local
  date of the earliest such post (null when only the bio or tags say so).
* ``edu_level_score`` = the highest weight among matched education levels (elite 1.0,
  postgraduate 0.85, university 0.6, college 0.4); ``edu_elite_school`` = elite matched.
* ``income_signal_score`` = 1 - prod(1 - w_g) over matched income groups g (noisy-OR);
  ``income_stable_job`` = the stable-job group matched.
Education and income read every text up to the snapshot day (they are stable traits).
"""

from __future__ import annotations

import datetime as dt
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.features._common import as_date, local_date, require_columns
from transforms.features.lexicons import TermGroup, TraitLexicon
from transforms.features.params import TraitParams


def _matches(text: Column, group: TermGroup) -> Column:
    return F.exists(F.array(*[F.lit(t) for t in group.terms]), lambda term: text.contains(term))


def trait_columns(lexicon: TraitLexicon) -> list[str]:
    cols = []
    for e in lexicon.life_events:
        cols += [f"life_event_{e.key}", f"life_event_{e.key}_date"]
    return cols + ["edu_elite_school", "edu_level_score", "income_stable_job", "income_signal_score"]


def detect_traits(
    texts: DataFrame,
    lexicon: TraitLexicon,
    snapshot_date: str | dt.date,
    timezone: str = "Asia/Shanghai",
    params: TraitParams = TraitParams(),
) -> DataFrame:
    """One row per ``id`` of ``texts`` with the columns of :func:`trait_columns`.

    ``texts`` has ``id``, ``source`` ('bio', 'tag' or 'post'), ``text`` (string) and
    ``ts`` (UTC timestamp of a post; null for bio and tags).  Posts dated after the
    snapshot day are ignored (a re-run of an old day sees what that day saw).  Flags are
    0/1 integers; every id of ``texts`` gets a row (zeros when nothing matched).
    """
    require_columns(texts, ["id", "source", "text", "ts"], "detect_traits(texts)")
    snap = as_date(snapshot_date)
    day = local_date(F.col("ts"), timezone)
    is_post = F.col("source") == F.lit("post")
    age = F.datediff(F.lit(snap), day)
    rows = texts.where(F.col("id").isNotNull() & (~is_post | (age >= 0))).select(
        "id", is_post.alias("is_post"), day.alias("day"), age.alias("age"), F.coalesce(F.col("text"), F.lit("")).alias("t")
    )
    text = F.col("t")
    in_window = ~F.col("is_post") | (F.col("age") < params.lookback_days)
    aggs: list[Column] = []
    for e in lexicon.life_events:
        hit = _matches(text, e) & in_window
        aggs.append(F.max(hit.cast("int")).alias(f"life_event_{e.key}"))
        aggs.append(F.min(F.when(hit & F.col("is_post"), F.col("day"))).alias(f"life_event_{e.key}_date"))
    for g in lexicon.education:
        aggs.append(F.max(_matches(text, g).cast("int")).alias(f"_edu_{g.key}"))
    for g in lexicon.income:
        aggs.append(F.max(_matches(text, g).cast("int")).alias(f"_inc_{g.key}"))
    per_id = rows.groupBy("id").agg(*aggs)
    edu = F.greatest(F.lit(0.0), *[F.col(f"_edu_{g.key}") * F.lit(g.weight) for g in lexicon.education])
    no_income = reduce(lambda a, b: a * b, [F.lit(1.0) - F.col(f"_inc_{g.key}") * F.lit(g.weight) for g in lexicon.income])
    out = per_id.select(
        "id",
        *[c for e in lexicon.life_events for c in (F.col(f"life_event_{e.key}"), F.col(f"life_event_{e.key}_date"))],
        F.col("_edu_elite").alias("edu_elite_school"),
        edu.cast("double").alias("edu_level_score"),
        F.col("_inc_stable_job").alias("income_stable_job"),
        (F.lit(1.0) - no_income).alias("income_signal_score"),
    )
    return out
