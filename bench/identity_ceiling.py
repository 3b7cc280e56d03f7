"""Benchmark ``identity_ceiling``: the most recall ANY pairwise matcher can reach at precision 0.99.

Issue 5 asks for pairwise F1 >= 0.90 at precision >= 0.99 on generated data. This benchmark
measures, without any model, how much of that the *records themselves* allow: an upper bound
on recall at a given precision, overall and per source pair, for the standardised person
records exactly as the engine receives them (generator -> landing files -> person records ->
standardiser -> :func:`transforms.matching.inputs.prepare_matching_input`).

Method
------
*Evidence.* For two records ``x``, ``y`` the evidence is two sets of binary features
(:data:`AGREE` and :data:`CONFLICT`): what they agree on (full phone, prefix3+last4, last4,
e-mail, QQ, id number, WeChat ids, full name, its pinyin, similar pinyin, handle, handle
letters, pinyin syllables in any order, similar handles, handle spelling the other's name,
address, surname, surname sound, handle embedding the other's surname, gender, birth year /
month / day, city, province, postcode) and what both carry but differ on (phone, e-mail,
QQ, ids, full name, surname, name syllables, handle surname vs name surname, gender, birth
parts, city, province, postcode, address). A missing value is neither.

*Dominance.* A non-matching pair ``(x, c)`` *dominates* a true pair ``(x, y)`` (records of one
person, per ``truth/accounts.parquet``) when ``c`` comes from the same source as ``y``,
``(x, c)`` agrees on every feature ``(x, y)`` agrees on, and conflicts on nothing ``(x, y)``
does not conflict on. Because the two pairs share ``x``, every agreement is on the *same
value* (x's), so a matcher that weighs values by their frequency (Splink's term-frequency
adjustment) gives both the same weight. Any matcher whose score never decreases when a
feature turns from conflict to missing to agreement -- Fellegi-Sunter / Splink with
m >= u on agreement levels, rules, most learned scorers -- and that links by a threshold
that depends on the source pair (and on ``x``) only must therefore link ``(x, c)`` whenever
it links ``(x, y)``. Competitors
are looked for on both sides: ``(x, c)`` against ``y``'s source and ``(c, y)`` against
``x``'s source.

*Cost.* A competitor can dominate several true pairs (``(x, c)`` beats ``(x, y)`` and maybe
``(c, y')``). Each competitor is split evenly between the true pairs it *could* dominate
(``deg`` = records of x's person in c's source + records of c's person in x's source, an
upper bound of the pairs it does dominate), so the cost of a true pair is
``sum(1 / deg)`` over its competitors and, for any set of linked true pairs, the sum of
their costs never exceeds the number of distinct false pairs their links force. Every
approximation below (sampled blocks, the ``deg`` split, transitive false pairs ignored,
rounding) only lowers costs or raises gains, so the bound stays an upper bound.

*Bound.* Precision >= p means false pairs <= true pairs * (1 - p) / p.

* ``direct``: a true pair counts only when linked itself. With gain 1 per pair, the best
  choice is the cheapest pairs first: the largest k such that the k cheapest costs sum to at
  most ``k (1 - p) / p``. Exact for the cost model.
* ``clustered``: matchers cluster, and ``evaluate_clusters`` scores the pairs of the
  clusters, so a true pair also counts when a path of linked true pairs joins it (CRM and
  Weibo through a WeChat record). Per person every subset of its true pairs is an option
  (gain = pairs it connects, cost = sum of the linked pairs' costs); the best choice over
  all persons under the precision budget is a multiple-choice knapsack whose Lagrangian
  dual ``min_l sum_persons max_option [gain + l (gain (1-p)/p - cost)]`` bounds it from
  above (weak duality). The best feasible selection found on the way is reported too
  (``recall_attained_clustered``): the true optimum of the cost model lies between the two.
* Per source pair (``crm-weibo`` ...): ``direct`` with precision over that source pair's
  pairs; ``clustered``: the most pairs of that source pair one clustering can join while
  precision over *all* pairs stays >= p (the JSON also holds
  ``recall_bound_clustered_scope_precision``: precision over that source pair only, links
  of other source pairs free -- sound but loose, since a CRM-Weibo pair then rides on free
  CRM-WeChat and WeChat-Weibo links).

Max F1 at precision >= p is at most ``2 R / (1 + R)`` for a recall bound ``R`` (precision
<= 1), and F1 at exactly precision p is ``2 p R / (p + R)``. F1 >= 0.90 needs recall >= 0.818
even at precision 1.

*Blocking.* Competitors are found by joins: a true pair that agrees on a selective value
(phone, e-mail, name, handle, address, last4 ...) is blocked on its rarest such value, so
its competitors are enumerated completely; otherwise on all its weak agreeing values
together (surname sound, gender, birth parts, city, province, postcode). A block larger than
``sample_cap`` records is sampled (a fixed hash subset of ``sample_cap``-ish records): the
competitors found are then a lower bound (counted in ``anchored_rows_sampled``), which only
loosens the bound; such pairs already have far more competitors than the precision
budget can pay for.

What it is not: a bound for matchers that use information outside the person records
(activity, posts, WeChat tags and remarks, registration times), that score a feature
non-monotonically (treat an agreement as evidence *against* a match), that use graded
similarities finer than these features (e.g. digits of a handle vs the birth year), or that
make collective decisions (one-to-one assignment of WeChat/Weibo accounts to CRM customers:
a competitor already claimed by a better partner could then be skipped; the ``1to1`` figures
grant that: a competitor ``(x, c)`` is dropped when ``c`` has a true counterpart in ``x``'s
source whose evidence is at least as strong). Results: ``bench/results/identity_ceiling-*.md``.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from bench import BenchContext, benchmark
from pipelines.identity.bench import generated_person_records

log = logging.getLogger("scim.bench.ceiling")

DEFAULT_PERSONS = [100_000]
TARGET_PRECISION = 0.99
#: Blocks larger than this are sampled down to about this many candidate records.
SAMPLE_CAP = 1000
PRECISION_CURVE = (0.95, 0.99, 0.999)
#: DuckDB's memory ceiling (it spills beyond): the machine is shared with Spark jobs.
DUCKDB_MEMORY = "6GB"

# name, SQL true when records {l} and {r} agree, blocking column (None: not blockable)
AGREE: list[tuple[str, str, str | None]] = [
    ("phone", "{l}.phone_hash = {r}.phone_hash", "phone_hash"),
    ("phone_p3l4", "{l}.phone_p3l4 = {r}.phone_p3l4", "phone_p3l4"),
    ("phone_last4", "{l}.phone_last4 = {r}.phone_last4", "phone_last4"),
    ("email", "{l}.email_hash = {r}.email_hash", "email_hash"),
    ("qq", "{l}.qq_hash = {r}.qq_hash", "qq_hash"),
    ("id_number", "{l}.id_number_hash = {r}.id_number_hash", "id_number_hash"),
    ("wechat_openid", "{l}.wechat_openid_hash = {r}.wechat_openid_hash", "wechat_openid_hash"),
    ("wechat_unionid", "{l}.wechat_unionid_hash = {r}.wechat_unionid_hash", "wechat_unionid_hash"),
    ("full_name", "{l}.name_full = {r}.name_full", "name_full"),
    ("full_name_pinyin", "{l}.name_full_pinyin = {r}.name_full_pinyin", "name_full_pinyin"),
    ("full_name_similar", "jaro_winkler_similarity({l}.name_full_pinyin, {r}.name_full_pinyin) >= 0.92", None),
    ("handle", "{l}.nickname = {r}.nickname", "nickname"),
    ("handle_letters", "{l}.nick_key = {r}.nick_key", "nick_key"),
    ("name_syllables", "{l}.syll_key = {r}.syll_key", "syll_key"),
    ("handle_similar", "jaro_winkler_similarity({l}.nick_key, {r}.nick_key) >= 0.9", None),
    ("handle_spells_name", "(length({r}.name_full_pinyin) >= 4 AND instr({l}.nick_key, {r}.name_full_pinyin) > 0)"
     " OR (length({l}.name_full_pinyin) >= 4 AND instr({r}.nick_key, {l}.name_full_pinyin) > 0)", None),
    ("address", "{l}.address = {r}.address", "address"),
    ("surname", "{l}.surname = {r}.surname", "sn"),
    ("surname_pinyin", "{l}.surname_pinyin = {r}.surname_pinyin", "sn"),
    ("handle_embeds_surname", "{l}.surname_pinyin IN ({r}.nick_sn_first, {r}.nick_sn_last)"
     " OR {r}.surname_pinyin IN ({l}.nick_sn_first, {l}.nick_sn_last)", "sn"),
    ("handles_share_surname", "{l}.nick_sn_first IN ({r}.nick_sn_first, {r}.nick_sn_last)"
     " OR {l}.nick_sn_last IN ({r}.nick_sn_first, {r}.nick_sn_last)", "sn"),
    ("gender", "{l}.gender = {r}.gender", "gender"),
    ("birth_year", "{l}.birth_year = {r}.birth_year", "birth_year"),
    ("birth_month", "{l}.birth_month = {r}.birth_month", "birth_month"),
    ("birth_day", "{l}.birth_day = {r}.birth_day", "birth_day"),
    ("city", "{l}.city = {r}.city", "city"),
    ("province", "{l}.province = {r}.province", "province"),
    ("postcode", "{l}.postcode = {r}.postcode", "postcode"),
]

_HANDLE_SN_MISMATCH = (
    "({a}.surname_pinyin IS NOT NULL AND coalesce({b}.nick_sn_first, {b}.nick_sn_last) IS NOT NULL"
    " AND {a}.surname_pinyin <> coalesce({b}.nick_sn_first, '') AND {a}.surname_pinyin <> coalesce({b}.nick_sn_last, ''))"
)
# name, SQL true when both records carry the attribute and it differs
CONFLICT: list[tuple[str, str]] = [
    ("phone", "{l}.phone_p3l4 <> {r}.phone_p3l4"),
    ("email", "{l}.email_hash <> {r}.email_hash"),
    ("qq", "{l}.qq_hash <> {r}.qq_hash"),
    ("id_number", "{l}.id_number_hash <> {r}.id_number_hash"),
    ("wechat_openid", "{l}.wechat_openid_hash <> {r}.wechat_openid_hash"),
    ("wechat_unionid", "{l}.wechat_unionid_hash <> {r}.wechat_unionid_hash"),
    ("full_name", "{l}.name_full_pinyin <> {r}.name_full_pinyin"),
    ("surname", "{l}.surname_pinyin <> {r}.surname_pinyin"),
    ("name_syllables", "{l}.syll_key <> {r}.syll_key"),
    ("handle_surname", _HANDLE_SN_MISMATCH.format(a="{l}", b="{r}") + " OR " + _HANDLE_SN_MISMATCH.format(a="{r}", b="{l}")),
    ("gender", "{l}.gender <> {r}.gender"),
    ("birth_year", "{l}.birth_year <> {r}.birth_year"),
    ("birth_month", "{l}.birth_month <> {r}.birth_month"),
    ("birth_day", "{l}.birth_day <> {r}.birth_day"),
    ("city", "{l}.city <> {r}.city"),
    ("province", "{l}.province <> {r}.province"),
    ("postcode", "{l}.postcode <> {r}.postcode"),
    ("address", "{l}.address <> {r}.address"),
]

#: Selective blocking columns (a value is shared by few records): one suffices, complete.
STRONG_BLOCKS = ("phone_hash", "email_hash", "qq_hash", "id_number_hash", "wechat_openid_hash", "wechat_unionid_hash",
                 "name_full", "name_full_pinyin", "nickname", "nick_key", "syll_key", "address", "phone_p3l4",
                 "phone_last4")
#: Weak blocking columns, used together (``sn``: surname pinyin of a name or embedded in a handle).
WEAK_BLOCKS = ("sn", "gender", "birth_year", "birth_month", "birth_day", "city", "province", "postcode")

#: Evidence classes of a true pair, first match wins (``weak_only``: surname / gender / place / birth month).
IDENTIFIERS = ("phone", "email", "qq", "id_number", "wechat_openid", "wechat_unionid")
NAME_OR_HANDLE = ("full_name", "full_name_pinyin", "full_name_similar", "handle", "handle_letters", "name_syllables",
                  "handle_similar", "handle_spells_name")
WEAK_ONLY = ("surname", "surname_pinyin", "handle_embeds_surname", "handles_share_surname", "gender", "birth_month",
             "city", "province", "postcode")
_BIT = {name: 1 << i for i, (name, _, _) in enumerate(AGREE)}

_VIEW_COLUMNS = ["source", "record_id", "surname", "surname_pinyin", "name_full", "name_full_pinyin", "nickname",
                 "nick_key", "syll_key", "nick_sn_first", "nick_sn_last", "gender", "birth_year", "birth_month",
                 "birth_day", "phone_hash", "phone_p3l4", "phone_last4", "email_hash", "qq_hash", "id_number_hash",
                 "wechat_openid_hash", "wechat_unionid_hash", "province", "city", "postcode", "address"]


def _mask_sql(features: list[tuple], l: str, r: str) -> str:
    terms = [f"(CASE WHEN coalesce(({f[1].format(l=l, r=r)}), false) THEN {1 << i} ELSE 0 END)::BIGINT"
             for i, f in enumerate(features)]
    return " + ".join(terms)


def _dominance_sql(x: str = "x", c: str = "c", a: str = "a") -> str:
    """True when (x, c) agrees on every feature in ``a.agree`` and conflicts only within ``a.conflict``."""
    parts = [f"(CASE WHEN ({a}.agree & {1 << i}) = 0 THEN true ELSE coalesce(({sql.format(l=x, r=c)}), false) END)"
             for i, (_, sql, _) in enumerate(AGREE)]
    parts += [f"(CASE WHEN ({a}.conflict & {1 << j}) <> 0 THEN true ELSE NOT coalesce(({sql.format(l=x, r=c)}), false) END)"
              for j, (_, sql) in enumerate(CONFLICT)]
    return "\n AND ".join(parts)


def _records(standardised: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The engine's matching view of the records that have a truth row, with person and helper columns."""
    from transforms.matching.inputs import prepare_matching_input

    for col in ("source", "record_id", "person_id"):
        if col not in truth.columns:
            raise ValueError(f"truth lacks column {col!r}; it needs source, record_id, person_id")
    view = prepare_matching_input(standardised)[_VIEW_COLUMNS].copy()
    t = truth[["source", "record_id", "person_id"]].astype(str).drop_duplicates(["source", "record_id"])
    recs = view.merge(t, on=["source", "record_id"], how="inner")
    counts = {"records": len(view), "scored": len(recs), "only_in_records": len(view) - len(recs)}
    recs = recs.sort_values(["source", "record_id"], kind="stable").reset_index(drop=True)
    recs["rid"] = np.arange(len(recs), dtype=np.int64)
    recs["pid"] = pd.factorize(recs["person_id"], sort=True)[0].astype(np.int64)
    # a fixed pseudo-random number per record, for sampling big blocks
    rid = recs["rid"].to_numpy(np.uint64)
    recs["u"] = ((rid * np.uint64(2_654_435_761) + np.uint64(97)) % np.uint64(2**31)).astype(np.int64)
    for s in sorted(recs["source"].unique()):
        per_person = (recs["source"] == s).groupby(recs["pid"]).transform("sum").astype(np.int64)
        recs[f"cnt_{s}"] = per_person - (recs["source"] == s).astype(np.int64)  # this record's person, itself excluded
    for c in ("birth_year", "birth_month", "birth_day"):
        recs[c] = recs[c].astype("Int64")
    return recs.drop(columns=["person_id", "record_id"]), counts


def _connect():
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    return con


def competitor_costs(recs: pd.DataFrame, sample_cap: int = SAMPLE_CAP) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every true pair with its evidence masks, competitor count and cost (see the module docstring).

    ``recs``: output of :func:`_records` (rid, pid, source, the matching-view columns,
    ``u``, ``cnt_<source>``). Returns one row per true pair -- ``l_rid``, ``r_rid``, ``pid``,
    ``pair_type``, ``agree`` / ``conflict`` (bit masks over :data:`AGREE` / :data:`CONFLICT`),
    ``n_competitors``, ``cost``, their one-to-one variants ``n_competitors_1to1`` /
    ``cost_1to1``, ``sampled`` (a block of the pair was sampled) -- and run facts.
    """
    con = _connect()
    sources = sorted(recs["source"].unique())
    con.register("recs_df", recs)
    con.execute("CREATE TABLE recs AS SELECT * FROM recs_df")
    con.unregister("recs_df")
    con.execute("""
        CREATE TABLE recs_sn AS
        SELECT DISTINCT rid, pid, source, u, tok, gender, birth_year, birth_month, birth_day, city, province, postcode
        FROM (SELECT *, unnest([surname_pinyin, nick_sn_first, nick_sn_last]) AS tok FROM recs)
        WHERE tok IS NOT NULL""")
    con.execute(f"""
        CREATE TABLE tp AS
        SELECT l.rid AS l_rid, r.rid AS r_rid, l.pid AS pid, l.source AS l_src, r.source AS r_src,
               {_mask_sql(AGREE, 'l', 'r')} AS agree, {_mask_sql(CONFLICT, 'l', 'r')} AS conflict
        FROM recs l JOIN recs r ON l.pid = r.pid AND l.rid < r.rid
        ORDER BY l.rid, r.rid""")
    tp = con.execute("SELECT * FROM tp").df()
    tp["pair"] = np.arange(len(tp), dtype=np.int64)
    cnt = recs.set_index("rid")[[f"cnt_{s}" for s in sources]]
    # two anchored rows per true pair: (x = l, target source = r's) and (x = r, target = l's)
    anch = pd.concat([
        pd.DataFrame({"pair": tp["pair"], "x_rid": tp["l_rid"], "s": tp["r_src"], "agree": tp["agree"],
                      "conflict": tp["conflict"]}),
        pd.DataFrame({"pair": tp["pair"], "x_rid": tp["r_rid"], "s": tp["l_src"], "agree": tp["agree"],
                      "conflict": tp["conflict"]}),
    ], ignore_index=True)
    anch["arow"] = np.arange(len(anch), dtype=np.int64)
    cnt_x = cnt.reindex(anch["x_rid"]).to_numpy()
    anch["x_cnt"] = cnt_x[np.arange(len(anch)), [sources.index(s) for s in anch["s"]]]

    # block choice 1: the agreeing selective column whose value is rarest in the target source
    anch["block"] = None
    anch["n_block"] = np.iinfo(np.int64).max
    rx = recs.set_index("rid")
    for name, _, col in AGREE:
        if col not in STRONG_BLOCKS:
            continue
        has = (anch["agree"].to_numpy() & _BIT[name]) != 0
        if not has.any():
            continue
        sizes = recs.groupby(["source", col]).size()
        keys = pd.MultiIndex.from_arrays([anch.loc[has, "s"].to_numpy(), rx[col].reindex(anch.loc[has, "x_rid"]).to_numpy()])
        n = sizes.reindex(keys).fillna(0).astype(np.int64).to_numpy()
        better = n < anch.loc[has, "n_block"].to_numpy()
        idx = anch.index[has][better]
        anch.loc[idx, "block"] = col
        anch.loc[idx, "n_block"] = n[better]
    # block choice 2: all the weak agreeing columns together
    weak = anch["block"].isna()
    cols_of = {}
    for name, _, col in AGREE:
        if col in WEAK_BLOCKS:
            cols_of.setdefault(col, 0)
            cols_of[col] |= _BIT[name]
    pattern = pd.Series([""] * len(anch), index=anch.index, dtype=object)
    agree_w = anch.loc[weak, "agree"].to_numpy()
    pat = np.array([""] * int(weak.sum()), dtype=object)
    for col in WEAK_BLOCKS:
        on = (agree_w & cols_of[col]) != 0
        pat = np.where(on, pat + np.where(pat == "", "", ",").astype(object) + col, pat)
    pattern[weak] = pat
    anch["block"] = anch["block"].where(~weak, "weak:" + pattern)
    con.register("anch_df", anch)
    con.execute("CREATE TABLE anch AS SELECT * FROM anch_df")
    con.unregister("anch_df")
    for p in sorted(set(pat)):
        cols = [c for c in p.split(",") if c]
        table = "recs_sn" if "sn" in cols else "recs"
        keys = [("tok" if c == "sn" else c) for c in cols]
        on = " AND ".join(["g.source = a.s"] + [f"g.{k} = xs.{k}" for k in keys])
        # the block size (for the sn token, summed over x's tokens: an upper bound, used only to sample)
        con.execute(f"""
            UPDATE anch SET n_block = q.n FROM (
                SELECT a.arow, sum(g.n) AS n FROM anch a JOIN {table} xs ON xs.rid = a.x_rid
                JOIN (SELECT source, {", ".join(keys + [""])}count(*) AS n FROM {table} GROUP BY ALL) g ON {on}
                WHERE a.block = 'weak:{p}' GROUP BY a.arow) q
            WHERE anch.arow = q.arow""")
    con.execute(f"UPDATE anch SET n_block = 0 WHERE n_block = {np.iinfo(np.int64).max}")
    # sampling: blocks above the cap keep the records whose u is divisible by B (a power of two)
    con.execute(f"""
        ALTER TABLE anch ADD COLUMN b BIGINT;
        UPDATE anch SET b = CASE WHEN n_block <= {sample_cap} THEN 1
                                 ELSE CAST(pow(2, ceil(log2(n_block / {sample_cap}))) AS BIGINT) END""")
    # anchored rows with their record x (and x's surname tokens), materialised so that every
    # candidate join below has two inputs and an equality key: no plan can cross records with records
    con.execute("CREATE TABLE ax AS SELECT * FROM anch a JOIN recs x ON x.rid = a.x_rid")
    con.execute("""CREATE TABLE axs AS SELECT x.arow, x.block, x.b, x.s, x.pid, t.tok, t.gender, t.birth_year,
                   t.birth_month, t.birth_day, t.city, t.province, t.postcode
                   FROM ax x JOIN recs_sn t ON t.rid = x.x_rid WHERE x.block LIKE 'weak:%sn%'""")
    c_cnt = "CASE x.source " + " ".join(f"WHEN '{s}' THEN c.cnt_{s}" for s in sources) + " END"
    dominance = _dominance_sql(x="x", c="c", a="x")
    con.execute("CREATE TABLE comp (arow BIGINT, c_rid BIGINT, w DOUBLE, f_agree BIGINT, f_conflict BIGINT)")
    groups = con.execute("SELECT block, b, count(*) FROM anch GROUP BY ALL ORDER BY ALL").fetchall()
    for block, b, n_rows in groups:
        t_group = time.monotonic()
        cols = [c for c in block[5:].split(",") if c] if block.startswith("weak:") else [block]
        sample = "" if b == 1 else f" AND (c.u % {b}) = 0"
        where = f"x.block = '{block}' AND x.b = {b}"
        if "sn" in cols:
            cond = " AND ".join(["c.source = x.s", "c.tok = x.tok"] + [f"c.{k} = x.{k}" for k in cols if k != "sn"])
            cand = f"SELECT DISTINCT x.arow, c.rid AS c_rid FROM axs x JOIN recs_sn c ON {cond} WHERE {where}" \
                   f" AND c.pid <> x.pid{sample}"
        else:
            cond = " AND ".join(["c.source = x.s"] + [f"c.{k} = x.{k}" for k in cols])
            cand = f"SELECT x.arow, c.rid AS c_rid FROM ax x JOIN recs c ON {cond} WHERE {where} AND c.pid <> x.pid{sample}"
        con.execute(f"CREATE OR REPLACE TEMP TABLE cand AS {cand}")
        con.execute(f"""
            INSERT INTO comp
            SELECT x.arow, c.rid, 1.0 / (x.x_cnt + {c_cnt}), {_mask_sql(AGREE, 'x', 'c')}, {_mask_sql(CONFLICT, 'x', 'c')}
            FROM cand k JOIN ax x ON x.arow = k.arow JOIN recs c ON c.rid = k.c_rid
            WHERE {dominance}""")
        log.debug("competitors of %d anchored pairs blocked on %s (1/%d sample): %.2fs", n_rows, block, b,
                  time.monotonic() - t_group)
    # one-to-one variant: a competitor (x, c) is "claimed" when c has a true counterpart in x's
    # source whose evidence is at least as strong as (x, c)'s; an assignment may give c to it
    con.execute("""
        CREATE TABLE tp_by_rec AS
        SELECT l_rid AS rid, r_src AS t, agree, conflict FROM tp UNION ALL SELECT r_rid, l_src, agree, conflict FROM tp""")
    per_anchor = con.execute("""
        WITH claimed AS (
            SELECT k.arow, k.c_rid, bool_or(t.rid IS NOT NULL) AS claimed
            FROM comp k JOIN anch a ON a.arow = k.arow JOIN recs x ON x.rid = a.x_rid
            LEFT JOIN tp_by_rec t ON t.rid = k.c_rid AND t.t = x.source
                AND (t.agree & k.f_agree) = k.f_agree AND (t.conflict & ~k.f_conflict) = 0
            GROUP BY ALL),
        per AS (
            SELECT k.arow, count(*) AS n, sum(k.w) AS cost,
                   count(*) FILTER (WHERE NOT c.claimed) AS n_1to1,
                   coalesce(sum(k.w) FILTER (WHERE NOT c.claimed), 0) AS cost_1to1
            FROM comp k JOIN claimed c ON c.arow = k.arow AND c.c_rid = k.c_rid GROUP BY k.arow)
        SELECT a.arow, a.pair, a.block, a.n_block, a.b, coalesce(p.n, 0) AS n, coalesce(p.cost, 0.0) AS cost,
               coalesce(p.n_1to1, 0) AS n_1to1, coalesce(p.cost_1to1, 0.0) AS cost_1to1
        FROM anch a LEFT JOIN per p USING (arow) ORDER BY a.arow""").df()
    n_comp_rows = con.execute("SELECT count(*) FROM comp").fetchone()[0]
    con.close()
    agg = per_anchor.groupby("pair").agg(n_competitors=("n", "sum"), cost=("cost", "sum"),
                                         n_competitors_1to1=("n_1to1", "sum"), cost_1to1=("cost_1to1", "sum"),
                                         sampled=("b", lambda s: bool((s > 1).any())))
    tp = tp.join(agg, on="pair")
    tp["pair_type"] = [f"{min(a, b)}-{max(a, b)}" for a, b in zip(tp["l_src"], tp["r_src"])]
    facts = {
        "anchored_rows": len(per_anchor),
        "anchored_rows_sampled": int((per_anchor["b"] > 1).sum()),
        "blocking_groups": len(groups),
        "competitor_pairs_found": int(n_comp_rows),
        "sampled_min_competitors_found": int(per_anchor.loc[per_anchor["b"] > 1, "n"].min())
        if (per_anchor["b"] > 1).any() else None,
    }
    return tp, facts


def evidence_class(agree: np.ndarray) -> np.ndarray:
    """Strongest kind of agreement of each true pair (first match wins)."""
    def any_of(names: tuple[str, ...]) -> np.ndarray:
        m = sum(_BIT[n] for n in names)
        return (agree & m) != 0

    weak = sum(_BIT[n] for n in WEAK_ONLY)
    return np.select(
        [any_of(IDENTIFIERS), any_of(("phone_p3l4",)), any_of(NAME_OR_HANDLE), any_of(("phone_last4", "address")),
         any_of(("birth_year", "birth_day")), ((agree & ~weak) == 0) & (agree != 0), agree == 0],
        ["identifier", "masked_phone", "name_or_handle", "last4_or_address", "birth_year_or_day", "weak_only",
         "nothing"], "other")


# -- the bound ------------------------------------------------------------------------------------
def _closure_tables(k: int) -> tuple[np.ndarray, np.ndarray]:
    """For k records (edges = pairs i<j in combinations order): subset bit matrix (2^m x m) and
    the pairs each subset connects (2^m x m, transitive closure)."""
    edges = list(itertools.combinations(range(k), 2))
    m = len(edges)
    if m > 10:
        raise ValueError(f"a person with {k} records has {m} pairs; the clustered bound enumerates at most 10")
    subsets = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(bool)
    closed = np.zeros_like(subsets)
    for s in range(2**m):
        parent = list(range(k))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for e in np.flatnonzero(subsets[s]):
            i, j = edges[e]
            parent[find(i)] = find(j)
        closed[s] = [find(i) == find(j) for i, j in edges]
    return subsets, closed


def _person_groups(tp: pd.DataFrame) -> list[dict[str, Any]]:
    """True pairs grouped per person size k: edge costs and types as (persons x m) matrices."""
    tp = tp.sort_values(["pid", "l_rid", "r_rid"], kind="stable")
    m_of = tp.groupby("pid").size()
    groups = []
    for m, pids in m_of.groupby(m_of):
        k = int(round((1 + math.sqrt(1 + 8 * m)) / 2))
        if k * (k - 1) // 2 != m:
            raise ValueError(f"persons with {m} true pairs do not have all pairs of their records")
        sub = tp[tp["pid"].isin(pids.index)]
        n = len(pids)
        subsets, closed = _closure_tables(k)
        groups.append({
            "k": k, "subsets": subsets.astype(float), "closed": closed.astype(float),
            "type": sub["pair_type"].to_numpy(object).reshape(n, m),
            **{key: sub[col].to_numpy(float).reshape(n, m) for key, col in
               (("cost", "cost"), ("raw", "n_competitors"), ("cost_1to1", "cost_1to1"))},
        })
    return groups


def _clustered_bound(groups: list[dict[str, Any]], scope: str | None, precision: float, cost_key: str = "cost",
                     budget: str = "overall") -> dict[str, float | None]:
    """Most true pairs of ``scope`` (None: all) that clusters can connect at ``precision``.

    ``budget="overall"``: precision over all pairs (one clustering for every source pair);
    ``"scope"``: precision over the pairs of ``scope`` only, links of other source pairs free.
    Returns the Lagrangian upper bound as a recall and the best feasible selection seen.
    """
    r = (1 - precision) / precision
    mats = []
    for g in groups:
        in_scope = np.ones(g["type"].shape, bool) if scope is None else (g["type"] == scope)
        charged = np.ones(g["type"].shape, bool) if budget == "overall" else in_scope
        rows = charged.any(axis=1)
        if not rows.any():
            continue
        gain = in_scope[rows].astype(float) @ g["closed"].T  # persons x 2^m: pairs of scope connected
        gain_b = charged[rows].astype(float) @ g["closed"].T  # pairs counted by the precision budget
        cost = (g[cost_key][rows] * charged[rows]) @ g["subsets"].T
        mats.append((gain, r * gain_b - cost))
    total = sum(float(gain[:, -1].sum()) for gain, _ in mats)  # the full subset connects every pair
    if not total:
        return {"recall_bound": None, "recall_attained": None}

    def choose(lam: float) -> list[np.ndarray]:
        return [(gain + lam * margin).argmax(axis=1) for gain, margin in mats]

    def totals(choice: list[np.ndarray], lam: float) -> tuple[float, float, float]:
        value = g_sum = slack = 0.0
        for (gain, margin), j in zip(mats, choice):
            rows = np.arange(len(j))
            g, m = gain[rows, j], margin[rows, j]
            value += float((g + lam * m).sum())
            g_sum += float(g.sum())
            slack += float(m.sum())
        return value, g_sum, slack

    def dual(lam: float) -> float:  # weak duality: any lam >= 0 bounds the optimum from above
        return totals(choose(lam), lam)[0]

    grid = [0.0] + [float(x) for x in np.logspace(-4, 7, 111)]
    values = [dual(lam) for lam in grid]
    best = min(values)
    i = int(np.argmin(values))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(50):  # golden section on the convex dual between the grid neighbours
        c1, c2 = b - phi * (b - a), a + phi * (b - a)
        v1, v2 = dual(c1), dual(c2)
        best = min(best, v1, v2)
        if v1 <= v2:
            b = c2
        else:
            a = c1

    # a feasible selection: the choices just above the multiplier where the budget binds, then the
    # persons whose choice just below it is better, best gain per budget first, while the budget holds
    lo, hi = 0.0, grid[-1]
    if totals(choose(lo), lo)[2] >= -1e-9:
        hi = lo
    for _ in range(100):
        if hi - lo <= 1e-12 * max(hi, 1.0):
            break
        mid = (lo + hi) / 2
        if totals(choose(mid), mid)[2] >= -1e-9:
            hi = mid
        else:
            lo = mid
    feasible, tighter = choose(hi), choose(lo)
    _, g_sum, slack = totals(feasible, hi)
    if slack < -1e-9:  # not even the most cautious choice fits (cannot happen: linking nothing is free)
        return {"recall_bound": min(best, total) / total, "recall_attained": None}
    ups = []
    for (gain, margin), jf, jt in zip(mats, feasible, tighter):
        rows = np.flatnonzero(jf != jt)
        dg = gain[rows, jt[rows]] - gain[rows, jf[rows]]
        dm = margin[rows, jt[rows]] - margin[rows, jf[rows]]
        ups.append(np.stack([dg, dm], axis=1))
    up = np.concatenate(ups) if ups else np.zeros((0, 2))
    up = up[up[:, 0] > 0]
    up = up[np.argsort(-(up[:, 1] / up[:, 0]), kind="stable")]
    fits = slack + np.cumsum(up[:, 1]) >= -1e-9
    n_fit = int(np.argmin(fits)) if not fits.all() else len(up)
    attained = g_sum + float(up[:n_fit, 0].sum())
    return {"recall_bound": min(best, total) / total, "recall_attained": attained / total}


def _direct_bound(costs: np.ndarray, precision: float) -> float | None:
    """Largest share of pairs linkable on their own evidence: cheapest first while the budget holds."""
    if len(costs) == 0:
        return None
    r = (1 - precision) / precision
    c = np.sort(costs)
    k = np.arange(1, len(c) + 1)
    ok = np.cumsum(c) <= r * k + 1e-9
    return float(k[ok].max()) / len(c) if ok.any() else 0.0


def _f1(p: float, r: float | None) -> float | None:
    return None if r is None or p + r == 0 else 2 * p * r / (p + r)


def evidence_ceiling(standardised: pd.DataFrame, truth: pd.DataFrame, precision: float = TARGET_PRECISION,
                     sample_cap: int = SAMPLE_CAP, curve: tuple[float, ...] = PRECISION_CURVE) -> dict[str, Any]:
    """Upper bounds of pairwise recall (and F1) at ``precision`` on ``standardised`` records.

    ``standardised``: standardised person records (``standardise_person_records_pandas``);
    ``truth``: source, record_id, person_id. Returns figures overall and per source pair
    (see the module docstring for the method); records without a truth row are left out
    and counted.
    """
    if not 0 < precision <= 1:
        raise ValueError(f"precision {precision} must be in (0, 1]")
    seconds: dict[str, float] = {}
    t0 = time.monotonic()
    recs, counts = _records(standardised, truth)
    seconds["matching_view"] = round(time.monotonic() - t0, 2)
    t0 = time.monotonic()
    tp, facts = competitor_costs(recs, sample_cap=sample_cap)
    seconds["competitors"] = round(time.monotonic() - t0, 2)
    t0 = time.monotonic()
    groups = _person_groups(tp) if len(tp) else []
    cls = evidence_class(tp["agree"].to_numpy(np.int64)) if len(tp) else np.array([], dtype=object)
    scopes: list[tuple[str, str | None]] = [("overall", None)] + [(t, t) for t in sorted(tp["pair_type"].unique())]
    out_scopes: dict[str, Any] = {}
    for name, scope in scopes:
        sel = np.ones(len(tp), bool) if scope is None else (tp["pair_type"] == scope).to_numpy()
        n = int(sel.sum())
        nc = tp.loc[sel, "n_competitors"].to_numpy()
        clustered = _clustered_bound(groups, scope, precision)
        one_to_one = _clustered_bound(groups, scope, precision, cost_key="cost_1to1")
        direct = _direct_bound(tp.loc[sel, "cost"].to_numpy(float), precision)
        entry = {
            "true_pairs": n,
            "share_no_competitor": float((nc == 0).mean()) if n else None,
            "competitors": {"0": int((nc == 0).sum()), "1": int((nc == 1).sum()),
                            "2-9": int(((nc >= 2) & (nc <= 9)).sum()), "10-99": int(((nc >= 10) & (nc <= 99)).sum()),
                            ">=100": int((nc >= 100).sum())},
            "evidence": {k: float(v) for k, v in pd.Series(cls[sel]).value_counts(normalize=True).sort_index().items()},
            "pairs_with_sampled_block": int(tp.loc[sel, "sampled"].sum()),
            "recall_bound_direct": direct,
            "recall_bound_clustered": clustered["recall_bound"],
            "recall_attained_clustered": clustered["recall_attained"],
            "recall_bound_clustered_1to1": one_to_one["recall_bound"],
            "f1_at_precision_direct": _f1(precision, direct),
            "f1_at_precision_clustered": _f1(precision, clustered["recall_bound"]),
            "f1_upper_clustered": _f1(1.0, clustered["recall_bound"]),
            "f1_upper_clustered_1to1": _f1(1.0, one_to_one["recall_bound"]),
        }
        if scope is None:
            entry["curve_recall_bound_clustered"] = {str(p): _clustered_bound(groups, None, p)["recall_bound"]
                                                     for p in curve}
            entry["recall_bound_clustered_unshared_competitors"] = _clustered_bound(
                groups, None, precision, cost_key="raw")["recall_bound"]
        else:
            entry["recall_bound_clustered_scope_precision"] = _clustered_bound(
                groups, scope, precision, budget="scope")["recall_bound"]
        out_scopes[name] = entry
    seconds["bound"] = round(time.monotonic() - t0, 2)
    return {"precision": precision, "sample_cap": sample_cap, **counts, "true_pairs": len(tp),
            "scopes": out_scopes, "facts": facts, "seconds": seconds}


@benchmark("identity_ceiling")
def run(ctx: BenchContext) -> dict[str, Any]:
    rows, details = [], {}
    for persons in ctx.options.get("rows") or DEFAULT_PERSONS:
        with ctx.stage("generate_and_standardise", persons=persons):
            std, truth = generated_person_records(os.path.join(ctx.workdir, f"ceiling-{persons}"), persons,
                                                  ctx.settings, ctx.spark)
        with ctx.stage("ceiling", persons=persons) as st:
            res = evidence_ceiling(std, truth)
            st.update(res["facts"])
        details[str(persons)] = res
        for name, s in res["scopes"].items():
            ev = s["evidence"]
            rows.append({
                "persons": persons, "scope": name, "true_pairs": s["true_pairs"],
                "no_competitor": _r(s["share_no_competitor"]),
                "weak_only_or_nothing": _r(ev.get("weak_only", 0) + ev.get("nothing", 0)),
                "recall_bound_direct": _r(s["recall_bound_direct"]),
                "recall_bound_clustered": _r(s["recall_bound_clustered"]),
                "recall_bound_1to1": _r(s["recall_bound_clustered_1to1"]),
                "f1_at_p99": _r(s["f1_at_precision_clustered"]) if name == "overall" else "",
                "f1_upper": _r(s["f1_upper_clustered"]),
            })
    largest = details[str(max(int(k) for k in details))]
    o = largest["scopes"]["overall"]
    summary = (
        f"At {max(int(k) for k in details):,} persons ({largest['true_pairs']:,} true pairs), no matcher that is "
        f"monotone in the evidence features can recall more than {o['recall_bound_clustered']:.3f} of the true "
        f"pairs at precision >= {largest['precision']} (clusters included; {o['recall_bound_clustered_1to1']:.3f} "
        f"granting perfect one-to-one reasoning), i.e. F1 <= {o['f1_upper_clustered']:.3f}. F1 >= 0.90 at "
        f"precision >= 0.99 needs recall >= 0.818.")
    note = (
        "Columns: no_competitor = share of true pairs that no non-matching pair equals or beats on the evidence; "
        "weak_only_or_nothing = share whose only agreements are surname / gender / city / province / postcode / "
        "birth month (or nothing); recall_bound_direct = each pair linked on its own evidence, precision within the "
        "scope; recall_bound_clustered = pairs joined by clusters, precision >= 0.99 over all pairs (one clustering); "
        "recall_bound_1to1 = same, a competitor dropped when its own counterpart is at least as good; "
        "f1_upper = 2R/(1+R). Method and caveats: bench/identity_ceiling.py.")
    return {"table": rows, "details": details, "summary": summary, "note": note}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)
