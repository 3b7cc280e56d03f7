"""Weibo: users (profiles with their real-world quirks), posts that follow each person's
participation type and interests, KOL accounts, repost chains and follow edges."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from . import clock, vocab
from .campaigns import Calendar
from .persons import World, weibo_uid
from .text import SOURCES, Composer

USER_COLUMNS = ("uid", "screen_name", "gender", "province", "city", "location", "birthday", "description", "tags",
                "verified", "verified_type", "followers_count", "friends_count", "statuses_count", "masked_phone",
                "created_at", "updated_at")
POST_COLUMNS = ("mid", "uid", "created_at", "text", "retweeted_mid", "reposts_count", "comments_count",
                "attitudes_count", "source")
FOLLOW_COLUMNS = ("follower_uid", "followee_uid", "created_at")
HISTORY_DAYS = 90

_CUTE_A = ["小", "阿", "大", "爱吃", "不吃", "会飞的", "发呆的", "想睡觉的", "快乐的", "认真的"]
_CUTE_B = ["鱼", "猫", "橘子", "兔子", "土豆", "桃子", "芒果", "小熊", "草莓", "柠檬", "汽水", "糯米团"]
_CUTE_C = ["酱", "呀", "同学", "君", "er", "", "", ""]
_PHRASES = ["追风的少年", "山川湖海", "今天也要加油鸭", "人间清醒", "月亮不睡我不睡", "一只咸鱼", "南风知我意",
            "星河滚烫", "温柔且坚定", "晚风与你", "平平无奇小天才", "努力搬砖中", "不想起床", "秋天的第一杯奶茶"]
_EN = ["Luna", "Coco", "Lily", "Amy", "Kiki", "Vivian", "Jason", "Kevin", "Leo", "Tony", "Mia", "Zoe", "Ivy", "Eric"]
_MID_A, _MID_B = 5_915_587_277, 1_500_450_271


def nicknames(p: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Screen names from pinyin+digits to words unrelated to the person."""
    n = len(p)
    r = random.Random(int(rng.integers(0, 2**31)))
    style = rng.choice(5, n, p=[0.25, 0.22, 0.15, 0.23, 0.15])
    py = p["name_pinyin"].to_numpy()
    sp = p["surname_pinyin"].to_numpy()
    gp = p["given_pinyin"].to_numpy()
    full = p["full_name"].to_numpy()
    sur = p["surname"].to_numpy()
    year = p["birth_date"].to_numpy().astype("datetime64[Y]").astype(int) + 1970
    out = np.empty(n, dtype=object)
    for i in range(n):
        s = style[i]
        if s == 0:
            out[i] = r.choice([py[i], gp[i] + "_" + sp[i], sp[i] + gp[i][:1]]) + r.choice(
                [str(year[i]), str(year[i])[2:], str(r.randint(1, 9999)), "", "_"])
        elif s == 1:
            out[i] = r.choice(_CUTE_A) + r.choice(_CUTE_B) + r.choice(_CUTE_C)
        elif s == 2:
            en = r.choice(_EN)
            out[i] = r.choice([en + "_" + sp[i].capitalize(), en + sur[i], en + str(r.randint(10, 99))])
        elif s == 3:
            out[i] = r.choice(_PHRASES) + r.choice(["", "", "_" + str(r.randint(1, 999)), "丶"])
        else:
            out[i] = r.choice([full[i], full[i] + "_" + str(year[i])[2:], sur[i] + "小" + full[i][-1]])
    return out


def _bios(p: pd.DataFrame, interests: list[list[str]], masked_src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(p)
    r = random.Random(int(rng.integers(0, 2**31)))
    qq = p["qq"].to_numpy()
    email = p["email"].to_numpy()
    school = p["school"].to_numpy()
    elite = p["elite_school"].to_numpy()
    inc = p["income_band"].to_numpy()
    creator = (p["participation"] == "creator").to_numpy()
    wed = pd.notna(p["event_wedding"]).to_numpy()
    baby = pd.notna(p["event_baby"]).to_numpy()
    out = np.empty(n, dtype=object)
    for i in range(n):
        if r.random() < 0.3:
            out[i] = ""
            continue
        parts = []
        if interests[i]:
            parts.append("｜".join(vocab.INTEREST_ZH[x] for x in interests[i][:3]))
        if r.random() < (0.5 if elite[i] else 0.15):
            parts.append(school[i] + r.choice(["毕业", "在读", "校友"]))
        if inc[i] in ("high", "very_high") and r.random() < 0.3:
            parts.append(r.choice(vocab.JOBS_HIGH))
        elif r.random() < 0.15:
            parts.append(r.choice(vocab.JOBS_MID))
        if baby[i] and r.random() < 0.5:
            parts.append("新手宝妈" if p["gender"].iat[i] == "f" else "新手奶爸")
        elif wed[i] and r.random() < 0.4:
            parts.append("已婚")
        leak = r.random()
        if leak < (0.12 if creator[i] else 0.03) and qq[i] is not None:
            parts.append(r.choice(["QQ:", "扣扣", "企鹅号 "]) + qq[i])
        elif leak < (0.22 if creator[i] else 0.05):
            parts.append(r.choice(["合作请联系 ", "商务：", "邮箱 "]) + email[i])
        elif leak < (0.235 if creator[i] else 0.056):
            parts.append("vx同号 " + masked_src[i])
        r.shuffle(parts)
        out[i] = r.choice([" ", "｜", "，", " · "]).join(parts)[:70]
    return out


def make_users(p: pd.DataFrame, world: World, start: np.datetime64, days: int, seed: int, chunk: int,
               posts_per_day: pd.Series | None = None) -> pd.DataFrame:
    """Weibo profiles of the persons of ``p`` who have an account (one row per drop they appear in)."""
    return user_snapshots(user_profiles(p, world, start, days, seed, chunk), start, days, seed, chunk, posts_per_day)


def user_profiles(p: pd.DataFrame, world: World, start: np.datetime64, days: int, seed: int,
                  chunk: int) -> pd.DataFrame:
    """One profile per person with a Weibo account (``_created`` holds the creation time)."""
    rng = np.random.default_rng([seed, 4, chunk])
    u = p[p["on_weibo"]].reset_index(drop=True)
    n = len(u)
    if n == 0:
        return pd.DataFrame(columns=list(USER_COLUMNS) + ["_idx", "_created"])
    from .persons import interest_names, tables

    t = tables()
    kind = u["kind"].to_numpy()
    kol = kind == "kol"
    official = kind == "brand_account"
    interests = interest_names(u["interest_bits"].to_numpy())
    uid = weibo_uid(u["idx"].to_numpy())
    screen = nicknames(u, rng)
    screen = np.where(official, u["full_name"].to_numpy(), screen)
    dupe = pd.Series(screen).duplicated().to_numpy()
    screen = np.where(dupe, screen + pd.Series(uid).str[-4:].to_numpy(dtype=object), screen)
    gender = np.where(rng.random(n) < 0.95, u["gender"].to_numpy(), "n")
    gender = np.where(official, "n", gender)
    other = rng.choice(t.n_main, n, p=t.city_p)
    r = rng.random(n)
    prov = np.where(r < 0.75, u["province"].to_numpy(), np.where(r < 0.95, t.prov[other], ""))
    city = np.where(r < 0.75, u["city"].to_numpy(), np.where(r < 0.95, t.city[other], ""))
    loc = np.where(prov == city, prov, prov + " " + city)
    bd = pd.Series(np.datetime_as_string(u["birth_date"].to_numpy().astype("datetime64[D]"), unit="D"))
    fmt = rng.choice(4, n, p=[0.2, 0.15, 0.25, 0.4])
    birthday = np.select([fmt == 0, fmt == 1, fmt == 2], [bd.to_numpy(dtype=object), bd.str[:4].to_numpy(dtype=object),
                                                          bd.str[5:].to_numpy(dtype=object)], "")
    phone = np.where(pd.notna(u["old_phone"]) & (rng.random(n) < 0.3), u["old_phone"], u["phone"]).astype(object)
    masked_src = pd.Series(phone).str[:3] + "****" + pd.Series(phone).str[-4:]
    mainland = ~pd.Series(phone).str.startswith("+").to_numpy()
    masked = np.where((rng.random(n) < 0.12) & mainland, masked_src.to_numpy(dtype=object), None)
    desc = _bios(u, interests, masked_src.to_numpy(dtype=object), rng)
    r0 = random.Random(int(rng.integers(0, 2**31)))
    for i in np.flatnonzero(kol | official):
        if official[i]:
            desc[i] = f"{u['full_name'].iat[i]}：新品资讯、会员福利、护肤知识，欢迎关注"
        else:
            desc[i] = r0.choice(["美妆博主", "护肤成分党", "生活方式博主", "时尚博主", "旅行美食博主"]) + " | " + r0.choice(
                ["合作请联系 ", "商务合作 ", "工作邮箱 "]) + u["email"].iat[i]
    prov = np.where(official, "上海", prov)
    city = np.where(official, "上海", city)
    loc = np.where(official, "上海", loc)
    r = random.Random(int(rng.integers(0, 2**31)))
    tags = [r.sample([vocab.INTEREST_ZH[x] for x in it], min(len(it), r.randint(0, 3))) for it in interests]
    for i in np.flatnonzero(official):
        tags[i] = ["美妆", "护肤"]
    creator = (u["participation"] == "creator").to_numpy()
    followers = np.exp(rng.normal(np.where(creator, 6.5, 4.3), 1.1)).astype(np.int64)
    followers = np.where(kol, np.exp(rng.normal(12.5, 0.9, n)).astype(np.int64) + 100_000, followers)
    followers = np.where(official, np.exp(rng.normal(12.0, 0.8, n)).astype(np.int64) + 50_000, followers)
    friends = np.exp(rng.normal(5.0, 0.8, n)).astype(np.int64)
    statuses = np.exp(rng.normal(np.where(creator, 7.5, 4.5), 1.0)).astype(np.int64)
    verified = kol | official | (rng.random(n) < 0.02)
    vtype = np.where(official, 2, np.where(verified, 0, -1))
    first = np.datetime64("2010-09-01")
    created = clock.random_times(rng, np.full(n, first), np.full(n, start))
    new = (rng.random(n) < 0.001 * max(days - 1, 0)) & ~kol & ~official
    created = np.where(new, clock.random_times(rng, np.full(n, start + 1), np.full(n, start + days)), created)
    base = pd.DataFrame({
        "uid": uid, "screen_name": screen, "gender": gender, "province": prov, "city": city, "location": loc,
        "birthday": np.where(official, "", birthday), "description": desc, "tags": tags, "verified": verified,
        "verified_type": vtype, "followers_count": followers, "friends_count": friends,
        "statuses_count": statuses, "masked_phone": masked, "_idx": u["idx"].to_numpy(), "_created": created,
    })
    base["created_at"] = clock.iso(created)
    return base


def user_snapshots(base: pd.DataFrame, start: np.datetime64, days: int, seed: int, chunk: int,
                   posts_per_day: pd.Series | None = None) -> pd.DataFrame:
    """Profile rows per drop: everyone in the history drop, then new accounts and those
    refreshed that day (most often because they posted)."""
    rng = np.random.default_rng([seed, 11, chunk])
    n = len(base)
    if n == 0:
        return base.assign(_drop=pd.Series(dtype=np.int64), updated_at=pd.Series(dtype=object))
    created = base["_created"].to_numpy()
    cdrop = clock.drop_index(created, start)
    frames = []
    for d in range(days):
        if d == 0:
            rows = np.flatnonzero(cdrop == 0)
            t_upd = created[rows] + (rng.random(len(rows)) * np.maximum(
                (start.astype("datetime64[s]") - created[rows]).astype(np.int64), 1)).astype("timedelta64[s]")
        else:
            active = np.zeros(n, bool)
            if posts_per_day is not None:
                act = posts_per_day.get(d)
                if act is not None:
                    active[np.isin(base["_idx"].to_numpy(), act)] = True
            rows = np.flatnonzero((cdrop == d) | ((cdrop < d) & ((active & (rng.random(n) < 0.3))
                                                                  | (rng.random(n) < 0.002))))
            t_upd = (start + d).astype("datetime64[s]") + clock.time_of_day(rng, len(rows))
        f = base.iloc[rows].copy()
        f["statuses_count"] = f["statuses_count"].to_numpy() + d * 1
        f["followers_count"] = f["followers_count"].to_numpy() + d * (f["followers_count"].to_numpy() // 2000)
        f["updated_at"] = clock.iso(np.maximum(t_upd, f["_created"].to_numpy()))
        f["_drop"] = d
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def mid_of(idx: np.ndarray, seq: np.ndarray) -> np.ndarray:
    v = (np.asarray(idx, dtype=np.uint64) * np.uint64(4096) + np.asarray(seq, dtype=np.uint64))
    v = (v * np.uint64(_MID_A) + np.uint64(_MID_B)) % np.uint64(2**44)
    return (v.astype(np.int64) + 4_800_000_000_000_000).astype(str).astype(object)


def make_posts(p: pd.DataFrame, users: pd.DataFrame, world: World, cal: Calendar, start: np.datetime64, days: int,
               seed: int, chunk: int, pool: pd.DataFrame | None, mention_names: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posts of the last 90 days and of each drop day, and their true labels.

    ``pool`` holds KOL posts that regular users repost (None while generating the KOLs)."""
    rng = np.random.default_rng([seed, 5, chunk])
    r = random.Random(int(rng.integers(0, 2**31)))
    comp = Composer(r)
    u = p[p["on_weibo"]].reset_index(drop=True)
    n = len(u)
    lo = start - HISTORY_DAYS
    hi = start + days
    part = u["participation"].to_numpy()
    kind = u["kind"].to_numpy()
    rate = np.select([kind == "brand_account", kind == "kol", part == "creator", part == "occasional"],
                     [0.5, 1.0, 0.4, 0.04], 0.0)
    created = users.drop_duplicates("_idx").set_index("_idx")["_created"].reindex(u["idx"]).to_numpy()
    start_i = np.maximum(created.astype("datetime64[D]"), lo)
    span = np.maximum((hi - start_i).astype(np.int64), 0)
    k = np.minimum(rng.poisson(rate * span), 4000)
    owner = np.repeat(np.arange(n), k)
    t = clock.random_times(rng, start_i[owner], np.full(len(owner), hi))
    order = np.lexsort((t, owner))
    owner, t = owner[order], t[order]
    seq = np.arange(len(owner)) - np.searchsorted(owner, owner)
    idx = u["idx"].to_numpy()
    mids = mid_of(idx[owner], seq)
    uids = weibo_uid(idx[owner])
    screen = users.drop_duplicates("_idx").set_index("_idx")["screen_name"].reindex(idx).to_numpy()

    aff = u["brand_affinity"].to_numpy()
    bits = u["interest_bits"].to_numpy()
    beauty = (bits >> vocab.INTERESTS.index("beauty")) & 1
    p_brand = np.clip(0.08 + 0.22 * beauty + 0.15 * np.abs(aff), 0, 0.6)
    p_brand = np.where(kind == "brand_account", 0.0, np.where(kind == "kol", 0.3, p_brand))
    p_repost = np.where(kind == "person", 0.25, 0.0) if pool is not None and len(pool) else np.zeros(n)
    attitude = u["brand_attitude"].to_numpy()
    trad = (u["script"] == "traditional").to_numpy()
    cities = u["city"].to_numpy()
    schools = u["school"].to_numpy()
    ev_cols = ["event_" + e for e in vocab.LIFE_EVENTS]
    ev = u[ev_cols].to_numpy().astype("datetime64[D]")
    shop_active = cal.active["shop"]
    camp_names = cal.campaigns["name"].to_numpy()
    official = vocab.brands()["own"]["official_weibo"]
    conv = vocab.to_traditional()
    day0 = cal.first

    tday = t.astype("datetime64[D]")
    evd = (tday[:, None] - ev[owner]).astype(np.int64)
    near = (evd >= 0) & (evd <= 2)
    ev_hit = np.where(near.any(axis=1), near.argmax(axis=1), -1).tolist()
    di = (tday - day0).astype(np.int64)
    camp_i = np.where(di >= 0, shop_active[np.clip(di, 0, len(shop_active) - 1)], -1).tolist()
    discount = cal.campaigns["discount"].to_numpy()
    texts, labels, brands, topics, rt = [], [], [], [], []
    times = t.copy()
    reposts = np.zeros(len(owner), dtype=np.int64)
    draws = rng.random((len(owner), 4)).tolist()
    has_pool = pool is not None and len(pool) > 0
    pool_mid = pool["mid"].tolist() if has_pool else []
    pool_t = pool["_t"].to_numpy() if has_pool else None
    pool_brand = pool["_brand"].tolist() if has_pool else []
    kind_l, att_l, trad_l = kind.tolist(), attitude.tolist(), trad.tolist()
    p_rep_l, p_brand_l, bits_l = p_repost.tolist(), p_brand.tolist(), bits.tolist()
    own_name = vocab.brands()["own"]["name"]
    n_mention = len(mention_names)
    owner_l = owner.tolist()
    for j, o in enumerate(owner_l):
        a, b_, c_, d_ = draws[j]
        rt_mid = None
        brand_list: list[str] = []
        ko = kind_l[o]
        ci = camp_i[j]
        if ko == "brand_account":
            own_acc = screen[o] == official
            if ci >= 0 and own_acc:
                text = (f"#{camp_names[ci]}# 全场{int(discount[ci] * 100) // 10}折起，转发抽三位送"
                        f"{comp.own['products'][0]['name']}[鼓掌]")
            else:
                text = r.choice(["新品上市，评论区聊聊你的护肤心得", "今天的护肤小课堂：换季如何保湿",
                                 "会员日福利来啦，点击领取优惠券"]) + r.choice(["[心]", "[爱你]", ""])
            label, topic = ("pos" if ci >= 0 else "neu"), "brand_official"
            brand_list = [own_name] if own_acc else []
        elif ev_hit[j] >= 0 and a < 0.6 and ko == "person":
            ename = vocab.LIFE_EVENTS[ev_hit[j]]
            text, label = comp.event_post(ename, cities[o], schools[o])
            topic = "life_event:" + ename
        elif has_pool and a < p_rep_l[o]:
            pj = int(b_ * len(pool_mid))
            rt_mid = pool_mid[pj]
            times[j] = max(t[j], pool_t[pj] + np.timedelta64(int(c_ * 36000) + 60, "s"))
            label = _label(att_l[o], r) if pool_brand[pj] else r.choice(["pos", "neu", "neu"])
            text = comp.repost_comment(label)
            if d_ < 0.3 and n_mention:
                text += "//@" + mention_names[int(d_ * 1e6) % n_mention] + ":" + comp.repost_comment(
                    r.choice(["pos", "neu", "neg"]))
            topic = "repost"
        elif a < p_rep_l[o] + p_brand_l[o] * (1 - p_rep_l[o]):
            own = b_ < 0.8
            label = _label(att_l[o] if own else "neutral", r)
            text, brand_list = comp.brand_post(label, own, "#" + camp_names[ci] + "#" if ci >= 0 else None)
            topic = "brand" if own else "competitor"
        elif c_ < 0.7:
            ints = [vocab.INTERESTS[x] for x in range(len(vocab.INTERESTS)) if bits_l[o] >> x & 1]
            interest = ints[int(d_ * len(ints))]
            label = r.choice(["pos", "pos", "neg", "neu"])
            text = comp.topic_post(interest, label, cities[o], schools[o])
            topic = "interest:" + interest
        else:
            text, label = comp.chatter()
            topic = "chatter"
        if ko == "person" and d_ > 0.9 and rt_mid is None and n_mention:
            text += " @" + mention_names[int(c_ * 1e6) % n_mention]
        if trad_l[o]:
            text = conv.convert(text)
        texts.append(text[:140] if rt_mid is None else text)
        labels.append(label)
        brands.append(brand_list)
        topics.append(topic)
        rt.append(rt_mid)
        if ko != "person":
            reposts[j] = int(np.exp(r.gauss(6, 1.2)))
    scale = np.where(kind[owner] == "person", 1.0, 50.0)
    posts = pd.DataFrame({
        "mid": mids, "uid": uids, "created_at": clock.iso(times), "text": texts, "retweeted_mid": rt,
        "reposts_count": np.where(kind[owner] == "person", rng.poisson(0.4, len(owner)), reposts),
        "comments_count": (rng.poisson(0.8, len(owner)) * scale).astype(np.int64),
        "attitudes_count": (rng.poisson(2.0, len(owner)) * scale).astype(np.int64),
        "source": np.array(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), len(owner))],
        "_t": times, "_drop": clock.drop_index(times, start), "_idx": idx[owner],
        "_brand": [bool(b) for b in brands],
    })
    posts = posts[posts["_t"] < hi.astype("datetime64[s]")].reset_index(drop=True)
    keep = set(posts["mid"])
    labels_df = pd.DataFrame({"mid": mids, "uid": uids, "person_id": u["person_id"].to_numpy()[owner],
                              "sentiment": labels, "brands": brands, "topic": topics,
                              "is_repost": [m is not None for m in rt]})
    labels_df = labels_df[labels_df["mid"].isin(keep)].reset_index(drop=True)
    return posts, labels_df


def _label(attitude: str, r: random.Random) -> str:
    p = {"fan": (0.64, 0.28), "neutral": (0.36, 0.42), "detractor": (0.08, 0.30)}[attitude]
    x = r.random()
    return "pos" if x < p[0] else "neu" if x < p[0] + p[1] else "neg"


def make_follows(u: pd.DataFrame, world: World, start: np.datetime64, days: int, seed: int, chunk: int) -> pd.DataFrame:
    """Follow edges: KOLs and brand accounts (by interest and affinity) and other users."""
    rng = np.random.default_rng([seed, 6, chunk])
    users = u.drop_duplicates("_idx")
    users = users[users["_idx"] < world.n]
    n = len(users)
    fidx = users["_idx"].to_numpy()
    created = users["_created"].to_numpy()
    kols = world.kol_indices()
    aff = world.affinity[fidx]
    # about six influencers per user, however many KOLs the population has
    p_kol = np.full((n, len(kols)), min(0.12, 6.0 / max(len(kols) - world.n_official, 1)))
    p_kol[:, 0] = 0.05 + 0.35 * np.maximum(aff, 0)  # own brand account
    p_kol[:, 1:world.n_official] = 0.04
    hit = rng.random((n, len(kols))) < p_kol
    fr, kc = np.nonzero(hit)
    k = rng.poisson(4, n)
    fr2 = np.repeat(np.arange(n), k)
    tgt = world.weibo_people[rng.integers(0, len(world.weibo_people), len(fr2))]
    ok = tgt != fidx[fr2]
    src = np.concatenate([fr, fr2[ok]])
    dst = np.concatenate([kols[kc], tgt[ok]])
    t = clock.random_times(rng, created[src].astype("datetime64[D]"), np.full(len(src), start + days))
    t = np.maximum(t, created[src])
    df = pd.DataFrame({"follower_uid": weibo_uid(fidx[src]), "followee_uid": weibo_uid(dst),
                       "created_at": clock.iso(t), "_drop": clock.drop_index(t, start)})
    return df.drop_duplicates(["follower_uid", "followee_uid"]).reset_index(drop=True)
