"""The legacy CRM: customers (with re-registration duplicates), three years of orders,
points, communications.  Produces clean frames with a ``_drop`` column; the landing writer
adds the dirt."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import clock, vocab
from .campaigns import Calendar
from .persons import tables

CUSTOMER_COLUMNS = ("customer_id", "name", "gender", "mobile", "email", "birth_month", "province", "city", "address",
                    "postcode", "store_id", "member_tier", "points_balance", "register_date", "wechat_openid",
                    "marketing_consent", "updated_at")
ORDER_COLUMNS = ("order_id", "line_no", "customer_id", "order_time", "store_id", "channel", "payment_method",
                 "product_id", "product_name", "category", "quantity", "unit_price", "amount", "coupon_code",
                 "campaign_id")
POINTS_COLUMNS = ("txn_id", "customer_id", "txn_time", "points_delta", "reason")
COMM_COLUMNS = ("comm_id", "customer_id", "comm_time", "channel", "campaign_id", "direction", "outcome")
CAMPAIGN_COLUMNS = ("campaign_id", "name", "platform", "start_date", "end_date", "coupon_code", "discount")
TIERS = np.array(["普通", "银卡", "金卡", "钻石"], dtype=object)
TIER_LIMITS = [1000, 5000, 20000]
PAYMENTS = np.array(["微信支付", "支付宝", "银联卡", "现金", "储值卡"], dtype=object)


def _perm(x: np.ndarray, a: int, b: int, bits: int) -> np.ndarray:
    return ((np.asarray(x, dtype=np.uint64) * np.uint64(a) + np.uint64(b)) % np.uint64(2**bits)).astype(np.int64)


def customer_numbers(idx: np.ndarray, dup: bool) -> np.ndarray:
    """Customer ids: primary registrations 1xxxxxxx-7xxxxxxx, re-registrations 8xxxxxxx."""
    if dup:
        return 80_000_000 + _perm(idx, 40_503, 977, 24)
    return 10_000_000 + _perm(idx, 2_246_822_519, 3_266_489_917, 26)


def _stores(city_code: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = rng.integers(1, 7, len(city_code))
    return ("S" + pd.Series(city_code * 100 + k).astype(str)).to_numpy(dtype=object)


def _honorific_names(p: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    n = len(p)
    female = (p["gender"] == "f").to_numpy()
    young = p["age"].to_numpy() < 35
    hon = np.where(female, np.where(rng.random(n) < np.where(young, 0.6, 0.15), "小姐", "女士"), "先生")
    style = rng.choice(4, n, p=[0.78, 0.15, 0.04, 0.03])
    surname = p["surname"].to_numpy(dtype=object)
    return np.select([style == 0, style == 1, style == 2], [surname + hon.astype(object), p["full_name"].to_numpy(),
                                                            np.full(n, None)], surname)


def _addresses(p: pd.DataFrame, city: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(p)
    lists = [vocab.DISTRICTS.get(c) or vocab.GENERIC_DISTRICTS for c in city]
    dist = np.array([d[i % len(d)] for d, i in zip(lists, rng.integers(0, 1000, n))], dtype=object)
    road = np.array(vocab.ROADS, dtype=object)[rng.integers(0, len(vocab.ROADS), n)]
    estate = np.array(vocab.ESTATES, dtype=object)[rng.integers(0, len(vocab.ESTATES), n)]
    num = rng.integers(1, 999, n).astype(str).astype(object)
    bld = rng.integers(1, 30, n).astype(str).astype(object)
    room = (rng.integers(1, 33, n) * 100 + rng.integers(1, 6, n)).astype(str).astype(object)
    return dist + road + num + "号" + estate + bld + "栋" + room + "室"


def make_crm(p: pd.DataFrame, cal: Calendar, start: np.datetime64, days: int, seed: int, chunk: int) -> dict:
    """CRM frames for the persons of one chunk (``p`` from :func:`persons.person_chunk`)."""
    rng = np.random.default_rng([seed, 3, chunk])
    crm = p[p["in_crm"]].reset_index(drop=True)
    dup = crm[crm["crm_dup"]].reset_index(drop=True)
    cust = pd.concat([crm.assign(_dup=False), dup.assign(_dup=True)], ignore_index=True)
    n = len(cust)
    if n == 0:
        return {}
    idx = cust["idx"].to_numpy()
    is_dup = cust["_dup"].to_numpy()
    num = np.where(is_dup, customer_numbers(idx, True), customer_numbers(idx, False))
    cid = num.astype(str).astype(object)

    # registration: mostly history, a few during the drop days; duplicates re-register later
    end = start + np.timedelta64(days, "D")
    early = start - np.timedelta64(6 * 365, "D")
    reg = clock.random_times(rng, np.full(n, early), np.full(n, start))
    late = rng.random(n) < 0.0015 * max(days - 1, 0)
    reg = np.where(late, clock.random_times(rng, np.full(n, start + 1), np.full(n, end)), reg)
    prim_reg = pd.Series(reg[~is_dup], index=idx[~is_dup])
    base = prim_reg.reindex(idx).to_numpy()
    dup_lo = base.astype("datetime64[D]") + 30
    reg = np.where(is_dup, clock.random_times(rng, np.minimum(dup_lo, start), np.full(n, start)), reg)
    reg_day = reg.astype("datetime64[D]")

    home_city = cust["city"].to_numpy(dtype=object)
    stale = rng.random(n) < 0.08
    t = tables()
    other = rng.choice(t.n_main, n, p=t.city_p)
    prov = np.where(stale, t.prov[other], cust["province"].to_numpy(dtype=object))
    city = np.where(stale, t.city[other], home_city)
    code = np.where(stale, t.code[other], cust["city_code"].to_numpy())
    postcode = np.where(stale, t.postcode[other], cust["postcode"].to_numpy(dtype=object))
    store = _stores(code, rng)
    store = np.where(rng.random(n) < 0.12, "EC01", store)
    store = np.where(is_dup & (rng.random(n) < 0.7), _stores(code, rng), store)

    # the phone the CRM knows: the old one if it was never updated; re-registrations use the new one
    phone = cust["phone"].to_numpy(dtype=object)
    old = cust["old_phone"].to_numpy(dtype=object)
    mobile = np.where(pd.notna(old) & ~is_dup, old, phone)
    mobile = np.where(rng.random(n) < 0.03, None, mobile)
    email = np.where(rng.random(n) < 0.3, cust["email"].to_numpy(dtype=object), None)
    bm = pd.Series(cust["birth_date"].to_numpy().astype("datetime64[M]").astype(np.int64) % 12 + 1)
    birth_month = np.where(rng.random(n) < 0.8, bm.to_numpy(), None)
    gender = np.where(rng.random(n) < 0.9, np.where(cust["gender"] == "f", "女", "男"), None)
    openid = cust["openid"].to_numpy(dtype=object)
    bound = pd.notna(openid) & (rng.random(n) < np.where(is_dup, 0.10, 0.26))
    consent = np.where(rng.random(n) < 0.7, "Y", "N")

    customers = pd.DataFrame({
        "customer_id": cid, "name": _honorific_names(cust, rng), "gender": gender, "mobile": mobile,
        "email": email, "birth_month": birth_month, "province": prov, "city": city,
        "address": np.where(rng.random(n) < 0.9, _addresses(cust, city, rng), None), "postcode": postcode,
        "store_id": store, "register_date": clock.date_str(reg_day),
        "wechat_openid": np.where(bound, openid, None), "marketing_consent": consent,
    })
    orders, lines = _orders(cust, cid, num, reg, store, cal, start, days, rng)
    points = _points(orders, lines, rng, start, days)
    comms = _communications(cust, cid, num, reg, consent, cal, start, days, rng)
    customers = _snapshots(customers, reg, orders, points, start, days, rng)
    accounts = pd.DataFrame({"person_id": cust["person_id"].to_numpy(), "source": "crm", "record_id": cid,
                             "duplicate": is_dup})
    return {"customers.csv": customers, "orders.csv": lines, "points.csv": points,
            "communications.csv": comms, "_accounts": accounts}


def _orders(cust, cid, num, reg, store, cal: Calendar, start, days, rng):
    n = len(cust)
    first = cal.first
    lo = np.maximum(reg.astype("datetime64[D]"), first)
    hi = start + np.timedelta64(days - 1, "D")
    years = np.maximum((hi - lo).astype(np.int64), 0) / 365.0
    aff = cust["brand_affinity"].to_numpy()
    inc = cust["income_band"].map({"low": 0.8, "mid": 1.0, "high": 1.3, "very_high": 1.6}).to_numpy()
    rate = np.exp(rng.normal(-0.1 + 0.6 * aff, 0.6)) * inc * np.where(cust["_dup"], 0.6, 1.0)
    k = rng.poisson(rate * years)
    # social campaigns lift purchases of the followers of that platform
    social = cal.campaigns.index[cal.campaigns["platform"].isin(["weibo", "wechat"])].to_numpy()
    plat_ok = {"weibo": cust["on_weibo"].to_numpy(), "wechat": cust["openid"].notna().to_numpy()}
    extra_c, extra_o = [], []
    for ci in social:
        c = cal.campaigns.loc[ci]
        hit = plat_ok[c["platform"]] & (rng.random(n) < 0.05 * (1 + aff)) & (lo <= cal.ends[ci])
        extra_c.append(np.flatnonzero(hit))
        extra_o.append(np.full(hit.sum(), ci))
    owner = np.repeat(np.arange(n), k)
    cdf = cal.cdf()
    a = (lo - first).astype(np.int64)
    b = int((hi - first).astype(np.int64)) + 1
    u = cdf[a[owner]] + rng.random(len(owner)) * (cdf[b] - cdf[a[owner]])
    dayi = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, len(cal.day_weight) - 1)
    forced = np.full(len(owner), -1)
    if extra_c:
        ec = np.concatenate(extra_c)
        eo = np.concatenate(extra_o)
        cs = cal.starts[eo]
        ce = cal.ends[eo]
        s = np.maximum(cs, lo[ec])
        d = s + (rng.random(len(ec)) * ((ce - s).astype(np.int64) + 1)).astype(np.int64)
        keep = d <= hi
        owner = np.concatenate([owner, ec[keep]])
        dayi = np.concatenate([dayi, (d[keep] - first).astype(np.int64)])
        forced = np.concatenate([forced, eo[keep]])
    order_t = (first + dayi).astype("datetime64[s]") + clock.time_of_day(rng, len(owner))
    srt = np.lexsort((order_t, owner))
    owner, order_t, dayi, forced = owner[srt], order_t[srt], dayi[srt], forced[srt]
    m = len(owner)
    seq = np.arange(m) - np.searchsorted(owner, owner)
    oid = (_perm(num[owner] * 1000 + seq, 1_099_511_627_791 % (2**40) | 1, 7_919, 40) + 10**12).astype(str)

    chan = rng.choice(4, m, p=[0.55, 0.25, 0.15, 0.05])
    has_wx = cust["openid"].notna().to_numpy()[owner]
    chan = np.where((chan == 2) & ~has_wx, 1, chan)
    channel = np.array(["store", "online", "wechat_mall", "phone"], dtype=object)[chan]
    st = np.select([chan == 0, chan == 1, chan == 2], [store[owner], "EC01", "WX01"], "CC01")
    pay = PAYMENTS[np.where(chan == 0, rng.choice(5, m, p=[0.45, 0.3, 0.12, 0.08, 0.05]),
                            rng.choice(3, m, p=[0.55, 0.4, 0.05]))]
    # coupons: a shop campaign is used by some; a social campaign only by its platform's followers
    shop = cal.active["shop"][dayi]
    use_shop = (shop >= 0) & (rng.random(m) < 0.45)
    camp = np.where(forced >= 0, forced, np.where(use_shop, shop, -1))
    for g, ok in (("wechat", has_wx), ("weibo", cust["on_weibo"].to_numpy()[owner])):
        act = cal.active[g][dayi]
        take = (camp < 0) & (act >= 0) & ok & (rng.random(m) < 0.3)
        camp = np.where(take, act, camp)
    orders = pd.DataFrame({"_owner": owner, "order_id": oid, "customer_id": cid[owner],
                           "_t": order_t, "store_id": st, "channel": channel, "payment_method": pay, "_camp": camp})

    # order lines
    nl = np.minimum(1 + rng.poisson(0.5, m), 4)
    li = np.repeat(np.arange(m), nl)
    line_no = np.arange(len(li)) - np.searchsorted(li, li) + 1
    prods = vocab.brands()["own"]["products"]
    pw = np.array([3 if p["category"] in ("skincare", "makeup") else 1.5 for p in prods], dtype=float)
    pidx = rng.choice(len(prods), len(li), p=pw / pw.sum())
    baby = (cust["interest_bits"].to_numpy()[owner[li]] >> vocab.INTERESTS.index("mother_baby")) & 1
    pidx = np.where((baby == 1) & (rng.random(len(li)) < 0.2), len(prods) - 1, pidx)
    price = np.array([p["price"] for p in prods])[pidx]
    qty = rng.choice([1, 2, 3], len(li), p=[0.85, 0.12, 0.03])
    c = camp[li]
    disc = np.where(c >= 0, cal.campaigns["discount"].to_numpy()[np.maximum(c, 0)], 1.0)
    amount = np.round(price * qty * disc, 2)
    lines = pd.DataFrame({
        "order_id": oid[li], "line_no": line_no, "customer_id": cid[owner[li]],
        "order_time": clock.local(order_t[li]), "store_id": st[li], "channel": channel[li],
        "payment_method": pay[li], "product_id": np.array([p["id"] for p in prods], dtype=object)[pidx],
        "product_name": np.array([p["name"] for p in prods], dtype=object)[pidx],
        "category": np.array([p["category"] for p in prods], dtype=object)[pidx], "quantity": qty,
        "unit_price": pd.Series(price).map("{:.2f}".format).to_numpy(),
        "amount": pd.Series(amount).map("{:.2f}".format).to_numpy(),
        "coupon_code": np.where(c >= 0, cal.campaigns["coupon_code"].to_numpy(dtype=object)[np.maximum(c, 0)], None),
        "campaign_id": np.where(c >= 0, cal.campaigns["campaign_id"].to_numpy(dtype=object)[np.maximum(c, 0)], None),
        "_amount": amount, "_owner": owner[li], "_t": order_t[li],
        "_drop": clock.drop_index(order_t[li], start),
    })
    lines["updated_at"] = lines["order_time"]
    return orders, lines


def _points(orders: pd.DataFrame, lines: pd.DataFrame, rng, start, days) -> pd.DataFrame:
    if lines.empty:
        return pd.DataFrame(columns=list(POINTS_COLUMNS) + ["_owner", "_t", "_drop", "updated_at"])
    amt = lines.groupby("order_id", sort=False)["_amount"].sum()
    o = orders.set_index("order_id").loc[amt.index]
    earn = np.floor(amt.to_numpy()).astype(np.int64)
    m = len(o)
    t = o["_t"].to_numpy()
    redeem = rng.random(m) < 0.08
    r_t = t + (rng.integers(1, 120, m) * 86400 + rng.integers(0, 36000, m)).astype("timedelta64[s]")
    r_pts = -(np.floor(earn * 0.5 / 100) * 100).astype(np.int64)
    redeem &= r_pts < 0
    owner = np.concatenate([o["_owner"].to_numpy(), o["_owner"].to_numpy()[redeem]])
    tt = np.concatenate([t, r_t[redeem]])
    delta = np.concatenate([earn, r_pts[redeem]])
    reason = np.concatenate([np.full(m, "消费积分", dtype=object), np.full(redeem.sum(), "积分兑换", dtype=object)])
    cust = np.concatenate([o["customer_id"].to_numpy(), o["customer_id"].to_numpy()[redeem]])
    base = np.concatenate([amt.index.to_numpy(dtype=object), amt.index.to_numpy(dtype=object)[redeem]])
    kind = np.concatenate([np.full(m, "E", dtype=object), np.full(redeem.sum(), "R", dtype=object)])
    pts = pd.DataFrame({"txn_id": "PT" + base + kind, "customer_id": cust, "txn_time": clock.local(tt),
                        "points_delta": delta, "reason": reason, "_owner": owner, "_t": tt,
                        "_drop": clock.drop_index(tt, start)})
    end = (start + np.timedelta64(days, "D")).astype("datetime64[s]")  # redemptions after the last drop: not yet
    pts = pts[pts["_t"] < end].reset_index(drop=True)
    pts["updated_at"] = pts["txn_time"]
    return pts


def _communications(cust, cid, num, reg, consent, cal: Calendar, start, days, rng) -> pd.DataFrame:
    n = len(cust)
    hi = start + np.timedelta64(days, "D")
    lo = np.maximum(reg.astype("datetime64[D]"), cal.first)
    shop = cal.campaigns[cal.campaigns["platform"].isin(["all", "crm"])]
    out = []
    for ci, c in shop.iterrows():  # campaign outreach by SMS / e-mail / WeChat template message
        cs = cal.starts[ci]
        hit = (consent == "Y") & (rng.random(n) < 0.06) & (lo <= cs)
        w = np.flatnonzero(hit)
        t = clock.random_times(rng, np.full(len(w), cs - 3), np.full(len(w), cs + 1))
        ch = rng.choice(["sms", "email", "wechat"], len(w), p=[0.7, 0.1, 0.2])
        oc = rng.choice(["delivered", "clicked", "failed", "unsubscribed"], len(w), p=[0.7, 0.18, 0.1, 0.02])
        out.append(pd.DataFrame({"_owner": w, "_t": t, "channel": ch, "campaign_id": c["campaign_id"],
                                 "direction": "out", "outcome": oc}))
    k = rng.poisson(0.25 * np.maximum((hi - lo).astype(np.int64), 0) / 365)  # service calls
    w = np.repeat(np.arange(n), k)
    t = clock.random_times(rng, lo[w], np.full(len(w), hi))
    out.append(pd.DataFrame({"_owner": w, "_t": t, "channel": rng.choice(["call", "wechat"], len(w), p=[0.7, 0.3]),
                             "campaign_id": None, "direction": "in",
                             "outcome": rng.choice(["咨询", "投诉", "退换货", "会员权益"], len(w),
                                                   p=[0.55, 0.15, 0.2, 0.1])}))
    comms = pd.concat(out, ignore_index=True)
    comms = comms[comms["_t"] < hi.astype("datetime64[s]")]
    comms = comms.sort_values(["_owner", "_t"], kind="stable").reset_index(drop=True)
    ow = comms["_owner"].to_numpy()
    seq = np.arange(len(ow)) - np.searchsorted(ow, ow)
    comms["comm_id"] = ("M" + pd.Series(num[ow] * 1000 + seq).astype(str)).to_numpy()
    comms["customer_id"] = cid[ow]
    comms["comm_time"] = clock.local(comms["_t"].to_numpy())
    comms["_drop"] = clock.drop_index(comms["_t"].to_numpy(), start)
    comms["updated_at"] = comms["comm_time"]
    return comms


def _snapshots(customers, reg, orders, points, start, days, rng) -> pd.DataFrame:
    """Customer rows per drop: everyone in the history drop, then those who changed that day
    (new points after an order, a rare phone update), with a newer ``updated_at``."""
    n = len(customers)
    reg_drop = clock.drop_index(reg, start)
    pdrop = points["_drop"].to_numpy()
    pown = points["_owner"].to_numpy()
    bal = np.zeros((n, days), dtype=np.int64)
    np.add.at(bal, (pown, pdrop), points["points_delta"].to_numpy())
    bal = np.cumsum(bal, axis=1)
    spend = np.zeros((n, days))
    earn = points["reason"].to_numpy() == "消费积分"
    np.add.at(spend, (pown[earn], pdrop[earn]), points["points_delta"].to_numpy()[earn])
    spend = np.cumsum(spend, axis=1)
    last_t = np.full(n, np.datetime64("NaT", "s"))
    hist = points[pdrop == 0]
    lt = hist.groupby("_owner")["_t"].max()
    last_t[lt.index.to_numpy()] = lt.to_numpy()
    changed = np.zeros((n, days), dtype=bool)
    changed[pown, pdrop] = True
    changed[np.arange(n), reg_drop] = True
    changed[:, 0] = True
    frames = []
    for d in range(days):
        rows = np.flatnonzero(changed[:, d] & (reg_drop <= d))
        if d > 0:  # rare profile edits: an updated phone or address
            rows = np.union1d(rows, np.flatnonzero((rng.random(n) < 0.0005) & (reg_drop < d)))
        f = customers.iloc[rows].copy()
        f["points_balance"] = bal[rows, d]
        f["member_tier"] = TIERS[np.digitize(spend[rows, d], TIER_LIMITS)]
        if d == 0:
            t = np.where(np.isnat(last_t[rows]) | (last_t[rows] < reg[rows]), reg[rows], last_t[rows])
        else:
            t = (start + np.timedelta64(d, "D")).astype("datetime64[s]") + clock.time_of_day(rng, len(rows))
        f["updated_at"] = clock.local(t)
        f["_drop"] = d
        f["_owner"] = rows
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
