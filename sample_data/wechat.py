"""WeChat official account: followers (openid, unionid, authorised phones) and their
interactions (push reads, menu clicks, service chats, coupon claims, (un)subscribes)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd

from . import clock, vocab
from .campaigns import Calendar
from .weibo import nicknames

FOLLOWER_COLUMNS = ("openid", "unionid", "nickname", "sex", "province", "city", "country", "subscribe",
                    "subscribe_time", "tagid_list", "remark", "phone", "language", "updated_at")
INTERACTION_COLUMNS = ("event_id", "openid", "event_type", "event_time", "article_id", "menu_key", "content",
                       "coupon_code", "campaign_id")
HISTORY_DAYS = 30
_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)
MENU_KEYS = np.array(["MENU_MEMBER_CARD", "MENU_SHOP", "MENU_POINTS", "MENU_SERVICE", "MENU_NEW_ARRIVALS",
                      "MENU_STORE_FINDER"], dtype=object)
CHAT = ["请问{p}适合敏感肌吗", "我的订单什么时候发货", "积分怎么兑换", "会员卡怎么绑定手机号", "收到的{p}漏液了，怎么退换",
        "{p}现在有活动吗", "门店营业时间是几点", "优惠券为什么用不了", "你们家{p}和{c}的比哪个好", "谢谢客服，问题解决了",
        "等了半天没人回复，太差了", "发票怎么开"]


def wechat_ids(n: int, rng: np.random.Generator, prefix: str) -> np.ndarray:
    """28-character ids in the openid / unionid style (``oLVPpjqs9BhvzwPj5A-vTYAX3GLc``)."""
    body = _ALPHABET[rng.integers(0, 64, (n, 27))]
    raw = np.ascontiguousarray(body).view("S27").ravel()
    return (prefix + pd.Series(raw).str.decode("ascii")).to_numpy(dtype=object)


def assign_ids(p: pd.DataFrame, seed: int, chunk: int) -> None:
    """Add ``openid`` / ``unionid`` columns (None for persons not following the account)."""
    rng = np.random.default_rng([seed, 8, chunk])
    n = len(p)
    on = p["on_wechat"].to_numpy()
    openid = wechat_ids(n, rng, "o")
    unionid = wechat_ids(n, rng, "o")
    p["openid"] = np.where(on, openid, None)
    p["unionid"] = np.where(on & (rng.random(n) < 0.86), unionid, None)


def make_followers(p: pd.DataFrame, weibo_names: pd.Series, start: np.datetime64, days: int, seed: int,
                   chunk: int) -> pd.DataFrame:
    """Followers of the official account: everyone in the first drop, changes later."""
    rng = np.random.default_rng([seed, 9, chunk])
    f = p[p["on_wechat"]].reset_index(drop=True)
    n = len(f)
    if n == 0:
        return pd.DataFrame(columns=list(FOLLOWER_COLUMNS) + ["_drop", "_idx"])
    nick = nicknames(f, rng)
    same = weibo_names.reindex(f["idx"]).to_numpy(dtype=object)
    use_same = pd.notna(same) & (rng.random(n) < 0.4)
    nick = np.where(use_same, same, nick)
    sex = np.where(rng.random(n) < 0.9, np.where(f["gender"] == "f", 2, 1), 0)
    r = rng.random(n)
    prov = np.where(r < 0.85, f["province"].to_numpy(dtype=object), "")
    city = np.where(r < 0.85, f["city"].to_numpy(dtype=object), "")
    country = np.where(r < 0.85, "中国", "")
    sub_t = clock.random_times(rng, np.full(n, np.datetime64("2016-01-01")), np.full(n, start))
    new = rng.random(n) < 0.0015 * max(days - 1, 0)
    sub_t = np.where(new, clock.random_times(rng, np.full(n, start + 1), np.full(n, start + days)), sub_t)
    unsub = rng.random(n) < 0.07
    bits = f["interest_bits"].to_numpy()
    tags = []
    r2 = random.Random(int(rng.integers(0, 2**31)))
    for i in range(n):
        tg = []
        if f["in_crm"].iat[i]:
            tg.append(100)
        if bits[i] >> vocab.INTERESTS.index("beauty") & 1 and r2.random() < 0.5:
            tg.append(101)
        if bits[i] >> vocab.INTERESTS.index("mother_baby") & 1 and r2.random() < 0.5:
            tg.append(102)
        if r2.random() < 0.05:
            tg.append(2)
        tags.append(sorted(tg))
    remark = np.where(rng.random(n) < 0.03, f["surname"].to_numpy(dtype=object)
                      + np.where(f["gender"] == "f", "女士", "先生").astype(object) + " VIP", "")
    phone_auth = rng.random(n) < 0.30
    phone = np.where(phone_auth, f["phone"].to_numpy(dtype=object), None)
    origin = f["origin"].to_numpy()
    lang = np.where(origin == "hk", "zh_HK", np.where(origin == "tw", "zh_TW", "zh_CN"))
    lang = np.where(rng.random(n) < 0.01, "en", lang)
    base = pd.DataFrame({"openid": f["openid"].to_numpy(), "unionid": f["unionid"].to_numpy(), "nickname": nick,
                         "sex": sex, "province": prov, "city": city, "country": country, "subscribe": 1,
                         "subscribe_time": clock.unix(sub_t), "tagid_list": tags, "remark": remark, "phone": phone,
                         "language": lang, "_idx": f["idx"].to_numpy(), "_sub": sub_t})
    sdrop = clock.drop_index(sub_t, start)
    # unsubscribes: most happened in the past, a few on a drop day
    unsub_drop = np.where(unsub, np.where(rng.random(n) < 0.97, 0, rng.integers(0, max(days, 1), n)), -1)
    unsub_drop = np.where(unsub, np.maximum(unsub_drop, sdrop), -1)
    frames = []
    for d in range(days):
        if d == 0:
            rows = np.flatnonzero(sdrop == 0)
        else:
            rows = np.flatnonzero((sdrop == d) | ((sdrop < d) & ((unsub_drop == d) | (rng.random(n) < 0.001))))
        fr = base.iloc[rows].copy()
        fr["subscribe"] = np.where((unsub_drop[rows] >= 0) & (unsub_drop[rows] <= d), 0, 1)
        if d == 0:
            t = fr["_sub"].to_numpy() + (rng.random(len(rows)) * np.maximum(
                (start.astype("datetime64[s]") - fr["_sub"].to_numpy()).astype(np.int64), 1)).astype("timedelta64[s]")
        else:
            t = np.maximum((start + d).astype("datetime64[s]") + clock.time_of_day(rng, len(rows)), fr["_sub"].to_numpy())
        fr["updated_at"] = clock.iso(t)
        fr["_drop"] = d
        fr["_unsub_drop"] = unsub_drop[rows]
        frames.append(fr)
    return pd.concat(frames, ignore_index=True)


def make_interactions(p: pd.DataFrame, followers: pd.DataFrame, cal: Calendar, start: np.datetime64, days: int,
                      seed: int, chunk: int) -> pd.DataFrame:
    """Events of the last 30 days (first drop) and of each drop day."""
    rng = np.random.default_rng([seed, 10, chunk])
    f = followers.drop_duplicates("_idx", keep="last").reset_index(drop=True)
    n = len(f)
    if n == 0:
        return pd.DataFrame(columns=list(INTERACTION_COLUMNS) + ["_drop"])
    part = p.set_index("idx")["participation"].reindex(f["_idx"]).to_numpy()
    rate = np.select([part == "creator", part == "occasional"], [0.5, 0.05], 0.008)
    lo = np.maximum(f["_sub"].to_numpy().astype("datetime64[D]"), start - HISTORY_DAYS)
    hi = start + days
    span = np.maximum((hi - lo).astype(np.int64), 0)
    k = rng.poisson(rate * span)
    ow = np.repeat(np.arange(n), k)
    t = clock.random_times(rng, lo[ow], np.full(len(ow), hi))
    m = len(ow)
    etype = rng.choice(4, m, p=[0.62, 0.2, 0.08, 0.10])
    di = (t.astype("datetime64[D]") - cal.first).astype(np.int64)
    act = np.maximum(cal.active["wechat"][di], cal.active["shop"][di])
    etype = np.where((etype == 3) & (act < 0), 0, etype)
    names = np.array(["push_read", "menu_click", "service_chat", "coupon_claim"], dtype=object)
    ev = pd.DataFrame({"_owner": ow, "_t": t, "event_type": names[etype], "_act": act})
    # subscribe / unsubscribe events on the drop days (and in the 30-day history)
    sub_t = f["_sub"].to_numpy()
    srows = np.flatnonzero(sub_t >= (start - HISTORY_DAYS).astype("datetime64[s]"))
    extra = [pd.DataFrame({"_owner": srows, "_t": sub_t[srows], "event_type": "subscribe", "_act": -1})]
    un = f["_unsub_drop"].to_numpy()
    urows = np.flatnonzero(un >= 1)
    ut = (start + un[urows]).astype("datetime64[s]") + clock.time_of_day(rng, len(urows))
    extra.append(pd.DataFrame({"_owner": urows, "_t": np.maximum(ut, sub_t[urows]), "event_type": "unsubscribe",
                               "_act": -1}))
    ev = pd.concat([ev] + extra, ignore_index=True).sort_values(["_owner", "_t"], kind="stable").reset_index(drop=True)
    m = len(ev)
    et = ev["event_type"].to_numpy()
    tt = ev["_t"].to_numpy()
    day = pd.Series(clock.date_str(tt)).str.replace("-", "", regex=False).to_numpy(dtype=object)
    article = np.where(et == "push_read", "ART" + day + rng.integers(1, 3, m).astype(str).astype(object), None)
    menu = np.where(et == "menu_click", MENU_KEYS[rng.integers(0, len(MENU_KEYS), m)], None)
    r = random.Random(int(rng.integers(0, 2**31)))
    prods = [x["short"] for x in vocab.brands()["own"]["products"]]
    comps = [x["name"] for x in vocab.brands()["competitors"]]
    content = [r.choice(CHAT).format(p=r.choice(prods), c=r.choice(comps)) if e == "service_chat" else None for e in et]
    a = ev["_act"].to_numpy()
    claim = et == "coupon_claim"
    coupon = np.where(claim, cal.campaigns["coupon_code"].to_numpy(dtype=object)[np.maximum(a, 0)], None)
    camp = np.where(claim, cal.campaigns["campaign_id"].to_numpy(dtype=object)[np.maximum(a, 0)], None)
    ow = ev["_owner"].to_numpy()
    seq = np.arange(m) - np.searchsorted(ow, ow)
    idx = f["_idx"].to_numpy()[ow]
    eid = "WX" + pd.Series(((idx.astype(np.int64) * 100_003 + seq) * 7_777 + 12_345) % 10**13 + 10**13).astype(str)
    out = pd.DataFrame({"event_id": eid.to_numpy(), "openid": f["openid"].to_numpy()[ow], "event_type": et,
                        "event_time": clock.iso(tt), "article_id": article, "menu_key": menu, "content": content,
                        "coupon_code": coupon, "campaign_id": camp, "_t": tt, "_drop": clock.drop_index(tt, start)})
    return out[tt < hi.astype("datetime64[s]")].reset_index(drop=True)
