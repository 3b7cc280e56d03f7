"""Orchestration: the persons in chunks, every source's landing files, and the truth."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import time
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import crm, vocab, wechat, weibo
from .campaigns import campaigns_frame, make_calendar
from .landing import FileSpec, Landing
from .persons import make_world, person_chunk, weibo_uid

log = logging.getLogger("scim.generate")
CHUNK = 25_000
KOL_CHUNK = 2**40  # random-stream id of the KOL / brand accounts "chunk" (beyond any chunk index)


def _wan(v):
    """A count written the way Weibo displays it: 1.2万."""
    return f"{int(v or 0) / 10000:.1f}万" if v is not None else "万"


SPECS = [
    FileSpec("crm", "customers.csv", "customers", crm.CUSTOMER_COLUMNS, ("customer_id",), "register_date", "date",
             wrong_type=("birth_month", lambda v: "六月" if v in (None, "") else f"{v}月")),
    FileSpec("crm", "orders.csv", "orders", crm.ORDER_COLUMNS, ("order_id", "line_no"), "order_time", "local",
             amount_field="amount", wrong_type=("quantity", lambda v: "两件" if v == 2 else "一件"),
             host_all_kinds=True),
    FileSpec("crm", "points.csv", "points", crm.POINTS_COLUMNS, ("txn_id",), "txn_time", "local",
             wrong_type=("points_delta", lambda v: f"{v}分")),
    FileSpec("crm", "communications.csv", "communications", crm.COMM_COLUMNS, ("comm_id",), "comm_time", "local",
             wrong_type=("comm_time", lambda v: "昨天 " + str(v)[11:16])),
    FileSpec("crm", "campaigns.csv", "campaigns", crm.CAMPAIGN_COLUMNS, ("campaign_id",)),
    FileSpec("weibo", "users.jsonl", "users", weibo.USER_COLUMNS, ("uid",), "created_at", "iso", "description",
             wrong_type=("followers_count", _wan)),
    FileSpec("weibo", "posts.jsonl", "posts", weibo.POST_COLUMNS, ("mid",), "created_at", "iso", "text",
             wrong_type=("reposts_count", lambda v: f"{v}+"), host_all_kinds=True),
    FileSpec("weibo", "follows.jsonl", "follows", weibo.FOLLOW_COLUMNS, ("follower_uid", "followee_uid"),
             "created_at", "iso", wrong_type=("follower_uid", lambda v: int(v))),
    FileSpec("wechat", "followers.jsonl", "followers", wechat.FOLLOWER_COLUMNS, ("openid",), "subscribe_time",
             "unix", "nickname", wrong_type=("subscribe_time", lambda v: str(v))),
    FileSpec("wechat", "interactions.jsonl", "interactions", wechat.INTERACTION_COLUMNS, ("event_id",), "event_time",
             "iso", "content", wrong_type=("event_time", lambda v: 1_700_000_000), host_all_kinds=True),
]

_LIST_STR = pa.list_(pa.string())
PERSON_SCHEMA = pa.schema([
    ("person_id", pa.string()), ("kind", pa.string()), ("full_name", pa.string()),
    ("full_name_simplified", pa.string()), ("surname", pa.string()), ("name_pinyin", pa.string()),
    ("script", pa.string()), ("origin", pa.string()), ("gender", pa.string()), ("birth_date", pa.date32()),
    ("age", pa.int16()), ("province", pa.string()), ("city", pa.string()), ("postcode", pa.string()),
    ("phone", pa.string()), ("old_phone", pa.string()), ("email", pa.string()), ("qq", pa.string()),
    ("id_number", pa.string()), ("interests", _LIST_STR),
    ("life_events", pa.list_(pa.struct([("event", pa.string()), ("date", pa.date32())]))),
    ("education", pa.string()), ("elite_school", pa.bool_()), ("school", pa.string()), ("income_band", pa.string()),
    ("brand_affinity", pa.float32()), ("brand_attitude", pa.string()), ("participation", pa.string()),
    ("in_crm", pa.bool_()), ("on_weibo", pa.bool_()), ("on_wechat", pa.bool_()),
    ("weibo_uid", pa.string()), ("wechat_openid", pa.string()), ("wechat_unionid", pa.string()),
])
ACCOUNT_SCHEMA = pa.schema([("person_id", pa.string()), ("source", pa.string()), ("record_id", pa.string()),
                            ("duplicate", pa.bool_())])
LABEL_SCHEMA = pa.schema([("mid", pa.string()), ("uid", pa.string()), ("person_id", pa.string()),
                          ("sentiment", pa.string()), ("brands", _LIST_STR), ("topic", pa.string()),
                          ("is_repost", pa.bool_())])
DIRT_SCHEMA = pa.schema([("source", pa.string()), ("entity", pa.string()), ("date", pa.string()),
                         ("file", pa.string()), ("line_no", pa.int64()), ("kind", pa.string()),
                         ("record_key", pa.string()), ("record_lost", pa.bool_())])


class _Truth:
    """Parquet writers under ``truth/`` appending one row group per chunk."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "truth"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, int] = {}

    def write(self, name: str, df: pd.DataFrame, schema: pa.Schema, extra: dict | None = None) -> None:
        """Append ``df`` (plus ready-made Arrow columns in ``extra``) as one row group."""
        extra = extra or {}
        plain = [f for f in schema if f.name not in extra]
        table = pa.Table.from_pandas(df[[f.name for f in plain]], schema=pa.schema(plain), preserve_index=False)
        table = pa.Table.from_arrays([table.column(f.name) if f.name not in extra else extra[f.name]
                                      for f in schema], schema=schema)
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(self.dir / f"{name}.parquet", schema, compression="zstd")
        self.writers[name].write_table(table)
        self.counts[name] = self.counts.get(name, 0) + len(df)

    def close(self, schemas: dict[str, pa.Schema]) -> None:
        for name, schema in schemas.items():  # an empty table is still written
            if name not in self.writers:
                pq.write_table(schema.empty_table(), self.dir / f"{name}.parquet")
                self.counts.setdefault(name, 0)
        for w in self.writers.values():
            w.close()


def _list_column(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """A list column from a (rows x options) boolean matrix: row i lists the options it has."""
    offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _persons_truth(p: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    t = p.copy()
    t["birth_date"] = t["birth_date"].to_numpy().astype("datetime64[D]")
    bits = t["interest_bits"].to_numpy()
    imask = (bits[:, None] >> np.arange(len(vocab.INTERESTS))) & 1 == 1
    names = np.array(vocab.INTERESTS, dtype=object)
    interests = _list_column(imask, pa.array(np.broadcast_to(names, imask.shape)[imask], pa.string()))
    ev = np.stack([t["event_" + e].to_numpy().astype("datetime64[D]") for e in vocab.LIFE_EVENTS], axis=1)
    emask = ~np.isnat(ev)
    enames = np.broadcast_to(np.array(vocab.LIFE_EVENTS, dtype=object), emask.shape)[emask]
    struct = pa.StructArray.from_arrays([pa.array(enames, pa.string()), pa.array(ev[emask], pa.date32())],
                                        names=["event", "date"])
    events = _list_column(emask, struct)
    t["weibo_uid"] = np.where(t["on_weibo"], weibo_uid(t["idx"].to_numpy()), None)
    t["wechat_openid"] = t.get("openid")
    t["wechat_unionid"] = t.get("unionid")
    t["age"] = t["age"].astype(np.int16)
    return t, {"interests": interests, "life_events": events}


def _clear(root: Path, start: np.datetime64, days: int) -> None:
    """Remove what an earlier run wrote for the same drops (and the truth), nothing else."""
    for source in ("crm", "weibo", "wechat"):
        for d in range(days):
            folder = root / "landing" / source / str(start + np.timedelta64(d, "D"))
            if folder.exists():
                shutil.rmtree(folder)
    if (root / "truth").exists():
        shutil.rmtree(root / "truth")


def generate(root, persons: int, days: int, start: str, seed: int, dirt_rate: float = 0.003,
             crm_encoding: str = "gbk", chunk_size: int = CHUNK, crm_postgres: str | None = None,
             progress: Callable[[str], None] | None = None, workers: int | None = None) -> dict:
    """Write the landing files of ``days`` daily drops starting at ``start`` and the truth.

    Output under ``root``: ``landing/<source>/<date>/`` (files of docs/sources.md, then
    ``manifest.json`` and ``_SUCCESS``) and ``truth/{persons,accounts,post_labels,dirt}.parquet``.
    The same arguments give byte-identical files (whatever ``workers`` is: chunks are
    generated in ``workers`` processes, default the number of CPUs, and written in order
    by this process; a single chunk is generated in this process).  Returns a summary: counts per file and drop, truth row counts,
    dirt counts per kind, and the duration.
    """
    if persons < 1 or days < 1:
        raise ValueError(f"generate: persons ({persons}) and days ({days}) must be at least 1")
    if chunk_size < 1:
        raise ValueError(f"generate: chunk_size {chunk_size} must be at least 1")
    if seed < 0:
        raise ValueError(f"generate: seed {seed} must be a non-negative integer")
    if not 0 <= dirt_rate < 1:
        raise ValueError(f"generate: dirt_rate {dirt_rate} must be in [0, 1)")
    "x".encode(crm_encoding)  # unknown encodings fail here, before anything is written
    began = time.monotonic()
    say = progress or (lambda msg: log.info(msg))
    root = Path(root)
    start_d = np.datetime64(start, "D")
    sink = None
    if crm_postgres:  # connect first: a wrong URL must fail before anything is replaced
        from .postgres import PostgresSink

        sink = PostgresSink(crm_postgres)
    _clear(root, start_d, days)
    world = make_world(persons, seed)
    cal = make_calendar(start_d, days)
    landing = Landing(root, start_d, days, seed, dirt_rate, crm_encoding)
    for spec in SPECS:
        landing.declare(spec)
    truth = _Truth(root)

    camp = campaigns_frame(cal, start_d)
    landing.write("crm", "campaigns.csv", camp, 0)
    if sink:
        sink.write("campaigns", camp)

    # KOL and brand accounts first: their posts are what regular users repost
    kp = person_chunk(world, world.n, world.total, start_d, days, seed)
    wechat.assign_ids(kp, seed, KOL_CHUNK)
    k_users = weibo.make_users(kp, world, start_d, days, seed, KOL_CHUNK)
    names = k_users.drop_duplicates("_idx")["screen_name"].to_numpy(dtype=object)
    k_posts, k_labels = weibo.make_posts(kp, k_users, world, cal, start_d, days, seed, KOL_CHUNK, None, names)
    pool = k_posts[k_posts["retweeted_mid"].isna()][["mid", "_t", "_brand"]].reset_index(drop=True)
    _emit_weibo(landing, truth, kp, k_users, k_posts, k_labels, None, KOL_CHUNK)
    kt, k_lists = _persons_truth(kp)
    truth.write("persons", kt, PERSON_SCHEMA, k_lists)
    say(f"kol and brand accounts: {world.k}, their posts {len(k_posts)}; campaigns {len(camp)}")

    jobs = [(ci, lo, min(persons, lo + chunk_size)) for ci, lo in enumerate(range(0, persons, chunk_size))]
    _CTX.update(world=world, cal=cal, start=start_d, days=days, seed=seed, pool=pool, names=names)
    workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), 2 * (os.cpu_count() or 1)))
    try:
        for res in _chunks(jobs, workers):
            _write_chunk(res, landing, truth, sink)
            say(f"chunk {res['ci'] + 1}/{len(jobs)}: persons {res['lo']}-{res['hi'] - 1}: " + ", ".join(
                f"{k} {v}" for k, v in res["counts"].items()) + f" ({res['seconds']:.1f}s)")
    finally:
        _CTX.clear()

    truth.write("dirt", pd.DataFrame(landing.dirt, columns=DIRT_SCHEMA.names), DIRT_SCHEMA)
    truth.close({"persons": PERSON_SCHEMA, "accounts": ACCOUNT_SCHEMA, "post_labels": LABEL_SCHEMA,
                 "dirt": DIRT_SCHEMA})
    files = landing.finish()
    if sink:
        sink.close()
    dirt_kinds: dict[str, int] = {}
    for d in landing.dirt:
        dirt_kinds[d["kind"]] = dirt_kinds.get(d["kind"], 0) + 1
    summary = {"root": str(root), "persons": persons, "kol_accounts": world.k, "days": days, "start": str(start_d),
               "seed": seed, "files": files, "truth": dict(truth.counts), "dirt": dict(sorted(dirt_kinds.items())),
               "seconds": round(time.monotonic() - began, 2)}
    say(f"generated {persons} persons x {days} days in {summary['seconds']}s")
    return summary


# What chunk generation needs (world, calendar, KOL posts ...); handed to each worker once.
_CTX: dict = {}


def _init_worker(ctx: dict) -> None:
    _CTX.update(ctx)


def _chunks(jobs: list[tuple[int, int, int]], workers: int):
    """Chunk results in job order; with several workers, at most ``workers + 1`` chunks are
    in flight, so memory stays bounded when writing is slower than generating."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _build_chunk(job)
        return
    # spawn, not fork: the caller may hold threads (Spark's gateway, Dagster) that fork would copy mid-lock
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(dict(_CTX),)) as procs:
        it = iter(jobs)
        pending = deque(procs.apply_async(_build_chunk, (job,)) for job in islice(it, workers + 1))
        while pending:
            res = pending.popleft().get()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(procs.apply_async(_build_chunk, (nxt,)))
            yield res


def _build_chunk(job: tuple[int, int, int]) -> dict:
    """Every source's records and the truth of persons ``lo..hi-1`` (no I/O)."""
    ci, lo, hi = job
    c = _CTX
    world, cal, start_d, days, seed = c["world"], c["cal"], c["start"], c["days"], c["seed"]
    t0 = time.monotonic()
    p = person_chunk(world, lo, hi, start_d, days, seed)
    wechat.assign_ids(p, seed, ci)
    frames = crm.make_crm(p, cal, start_d, days, seed, ci)
    # Weibo: posts first so that users who posted on a drop day get a refreshed profile
    profiles = weibo.user_profiles(p, world, start_d, days, seed, ci)
    mention = np.concatenate([c["names"], profiles["screen_name"].to_numpy(dtype=object)])
    posts, labels = weibo.make_posts(p, profiles, world, cal, start_d, days, seed, ci, c["pool"], mention)
    active = posts.groupby("_drop")["_idx"].unique()
    users = weibo.user_snapshots(profiles, start_d, days, seed, ci, active)
    follows = weibo.make_follows(users, world, start_d, days, seed, ci)
    wb_names = profiles.set_index("_idx")["screen_name"]
    fol = wechat.make_followers(p, wb_names, start_d, days, seed, ci)
    inter = wechat.make_interactions(p, fol, cal, start_d, days, seed, ci)
    pt, lists = _persons_truth(p)
    pt = pt[[f.name for f in PERSON_SCHEMA if f.name not in lists]]
    counts = {"crm customers": len(frames.get("customers.csv", [])), "order lines": len(frames.get("orders.csv", [])),
              "weibo users": len(users), "posts": len(posts), "follows": len(follows), "wechat followers": len(fol),
              "interactions": len(inter)}
    return {"ci": ci, "lo": lo, "hi": hi, "crm": frames, "users": users, "posts": posts, "labels": labels,
            "follows": follows, "followers": fol, "interactions": inter, "persons": pt, "lists": lists,
            "counts": counts, "seconds": time.monotonic() - t0}


def _write_chunk(res: dict, landing: Landing, truth: _Truth, sink) -> None:
    ci, frames = res["ci"], res["crm"]
    if frames:
        for name in ("customers.csv", "orders.csv", "points.csv", "communications.csv"):
            landing.write("crm", name, frames[name], ci)
        truth.write("accounts", frames["_accounts"], ACCOUNT_SCHEMA)
        if sink:
            sink.write_chunk(frames)
    _emit_weibo(landing, truth, None, res["users"], res["posts"], res["labels"], res["follows"], ci)
    fol = res["followers"]
    landing.write("wechat", "followers.jsonl", fol, ci)
    landing.write("wechat", "interactions.jsonl", res["interactions"], ci)
    acc = fol.drop_duplicates("_idx")
    truth.write("accounts", pd.DataFrame({"person_id": acc["_idx"].map(lambda i: f"P{i + 1:08d}"),
                                          "source": "wechat", "record_id": acc["openid"],
                                          "duplicate": False}), ACCOUNT_SCHEMA)
    truth.write("persons", res["persons"], PERSON_SCHEMA, res["lists"])


def _emit_weibo(landing: Landing, truth: _Truth, p, users, posts, labels, follows, ci: int) -> None:
    landing.write("weibo", "users.jsonl", users, ci)
    landing.write("weibo", "posts.jsonl", posts, ci)
    if follows is not None:
        landing.write("weibo", "follows.jsonl", follows, ci)
    truth.write("post_labels", labels, LABEL_SCHEMA)
    acc = users.drop_duplicates("_idx")
    truth.write("accounts", pd.DataFrame({"person_id": acc["_idx"].map(lambda i: f"P{i + 1:08d}"),
                                          "source": "weibo", "record_id": acc["uid"], "duplicate": False}),
                ACCOUNT_SCHEMA)
