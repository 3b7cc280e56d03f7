"""The people of the generated world (the truth every source is derived from).

Generation has two levels so that a million persons fit in bounded memory:

* :func:`make_world` draws, for everyone at once, the few numbers that cross chunk
  boundaries (gender, age, participation, which sources a person is on, brand affinity):
  a handful of small numeric arrays;
* :func:`person_chunk` draws the full attributes (names, contacts, id number, interests,
  life events ...) of one contiguous range of persons, from its own random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import vocab

PARTICIPATION = np.array(["creator", "occasional", "silent"], dtype=object)
PARTICIPATION_P = [0.05, 0.75, 0.20]
ORIGIN = np.array(["mainland", "hk", "tw"], dtype=object)
# Weibo uid = 1e9 + (i * A + B) mod 2^33: a bijection, so uids are unique and look random.
_UID_A, _UID_B, _UID_M = 2_654_435_761, 1_234_567_891, 2**33


@dataclass
class World:
    """Cross-chunk facts for persons ``0..n+k-1`` (the last ``k`` are KOL / brand accounts)."""

    n: int
    k: int
    n_official: int
    gender: np.ndarray  # 0 female, 1 male
    age: np.ndarray
    participation: np.ndarray  # 0 creator, 1 occasional, 2 silent
    origin: np.ndarray  # 0 mainland, 1 Hong Kong, 2 Taiwan
    in_crm: np.ndarray
    crm_dup: np.ndarray
    on_weibo: np.ndarray
    on_wechat: np.ndarray
    affinity: np.ndarray  # -1 .. 1 towards the own brand
    weibo_people: np.ndarray  # indices of persons with a Weibo account (incl. KOLs)

    @property
    def total(self) -> int:
        return self.n + self.k

    def kol_indices(self) -> np.ndarray:
        return np.arange(self.n, self.n + self.k)


def person_id(idx: np.ndarray) -> np.ndarray:
    return pd.Series(np.asarray(idx) + 1).map("P{:08d}".format).to_numpy(dtype=object)


def weibo_uid(idx: np.ndarray) -> np.ndarray:
    v = (np.asarray(idx, dtype=np.uint64) * np.uint64(_UID_A) + np.uint64(_UID_B)) % np.uint64(_UID_M)
    return (v.astype(np.int64) + 1_000_000_000).astype(str).astype(object)


def make_world(n: int, seed: int) -> World:
    """Draw the cross-chunk facts of ``n`` persons plus their KOL and brand accounts."""
    rng = np.random.default_rng([seed, 1])
    n_official = 1 + len(vocab.brands()["competitors"])
    k = n_official + max(6, n // 2000)
    total = n + k
    gender = (rng.random(total) < 0.48).astype(np.int8)
    band = rng.choice(4, size=total, p=[0.70, 0.20, 0.06, 0.04])
    lo = np.array([18, 36, 56, 65])[band]
    hi = np.array([36, 56, 65, 82])[band]
    age = (lo + rng.random(total) * (hi - lo)).astype(np.int16)
    participation = rng.choice(3, size=total, p=PARTICIPATION_P).astype(np.int8)
    origin = rng.choice(3, size=total, p=[0.92, 0.045, 0.035]).astype(np.int8)
    in_crm = rng.random(total) < np.where(gender == 0, 0.78, 0.60)
    crm_dup = in_crm & (rng.random(total) < 0.047)
    p_weibo = np.select([age < 25, age < 36, age < 51], [0.55, 0.46, 0.30], 0.12)
    on_weibo = rng.random(total) < p_weibo
    on_wechat = rng.random(total) < np.where(in_crm, 0.60, 0.28)
    affinity = np.clip(rng.normal(np.where(in_crm, 0.2, -0.05), 0.45), -1, 1).astype(np.float32)
    # KOL and brand accounts: Weibo only, always posting
    kol = np.arange(n, total)
    in_crm[kol] = crm_dup[kol] = on_wechat[kol] = False
    on_weibo[kol] = True
    participation[kol] = 0
    age[kol] = np.clip(age[kol], 20, 45)
    affinity[n:n + n_official] = 0
    return World(n, k, n_official, gender, age, participation, origin, in_crm, crm_dup, on_weibo, on_wechat,
                 affinity, np.flatnonzero(on_weibo))


# -- tables prepared once ---------------------------------------------------------------------
class _Tables:
    def __init__(self) -> None:
        t2 = vocab.to_traditional()
        s = vocab.SURNAMES
        self.sur = np.array([x[0] for x in s], dtype=object)
        self.sur_t = np.array([t2.convert(x[0]) for x in s], dtype=object)
        self.sur_py = np.array([x[1] for x in s], dtype=object)
        self.sur_p = vocab.weights([x[2] for x in s])
        self.sur_p_hktw = vocab.weights([vocab.HKTW_BOOST.get(x[0], x[2]) for x in s])
        py = vocab.char_pinyin()
        self.given = {}
        for key, chars in (("f", vocab.GIVEN_F), ("m", vocab.GIVEN_M), ("x", vocab.GIVEN_X)):
            self.given[key] = (np.array(chars, dtype=object), np.array([t2.convert(c) for c in chars], dtype=object),
                               np.array([py[c] for c in chars], dtype=object))
        cities = vocab.CITIES + vocab.HK_CITIES + vocab.TW_CITIES
        self.prov = np.array([c[0] for c in cities], dtype=object)
        self.city = np.array([c[1] for c in cities], dtype=object)
        self.code = np.array([int(c[2]) for c in cities], dtype=np.int64)
        self.postcode = np.array([c[3] for c in cities], dtype=object)
        self.city_p = vocab.weights([c[4] for c in vocab.CITIES])
        self.n_main = len(vocab.CITIES)
        self.hk = self.n_main
        self.tw = np.arange(self.n_main + 1, len(cities))
        self.fav = np.array([i for i, c in enumerate(vocab.CITIES) if c[1] in vocab.HKTW_MAINLAND])
        self.prefix = np.array([int(p) for p, _ in vocab.MOBILE_PREFIXES], dtype=np.int64)
        self.prefix_p = vocab.weights([w for _, w in vocab.MOBILE_PREFIXES])


_TABLES: _Tables | None = None


def tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mainland mobile numbers over every prefix in use (11 digits, object strings)."""
    t = tables()
    pre = rng.choice(t.prefix, size=n, p=t.prefix_p)
    return (pre * 100_000_000 + rng.integers(0, 100_000_000, n)).astype(str).astype(object)


_ID_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def id_check_digit(body17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check characters of 17-digit id bodies (int64 array)."""
    digits = np.empty((len(body17), 17), dtype=np.int64)
    v = np.asarray(body17, dtype=np.int64).copy()
    for pos in range(16, -1, -1):
        digits[:, pos] = v % 10
        v //= 10
    r = (digits * _ID_W).sum(axis=1) % 11
    return np.array(list("10X98765432"), dtype=object)[r]


def person_chunk(world: World, lo: int, hi: int, start: np.datetime64, days: int, seed: int) -> pd.DataFrame:
    """Full true attributes of persons ``lo..hi-1``: one row each, deterministic for the seed."""
    rng = np.random.default_rng([seed, 2, lo])
    t = tables()
    idx = np.arange(lo, hi)
    n = len(idx)
    gender = world.gender[idx]
    female = gender == 0
    age = world.age[idx].astype(np.int64)
    origin = world.origin[idx]
    hktw = origin > 0
    traditional = hktw & (rng.random(n) < 0.97)

    # names
    s_idx = np.where(hktw, rng.choice(len(t.sur), n, p=t.sur_p_hktw), rng.choice(len(t.sur), n, p=t.sur_p))
    two = rng.random(n) < 0.78
    fx = rng.random(n) < 0.25
    parts = []
    for first in (True, False):
        chars_f, chars_m = t.given["f"], t.given["m"]
        i_f = rng.integers(0, len(chars_f[0]), n)
        i_m = rng.integers(0, len(chars_m[0]), n)
        i_x = rng.integers(0, len(t.given["x"][0]), n)
        use_x = fx if first else np.zeros(n, bool)
        cols = []
        for k in range(3):
            cols.append(np.where(use_x, t.given["x"][k][i_x], np.where(female, chars_f[k][i_f], chars_m[k][i_m])))
        parts.append(cols)
    empty = np.full(n, "", dtype=object)
    given = parts[0][0] + np.where(two, parts[1][0], empty)
    given_t = parts[0][1] + np.where(two, parts[1][1], empty)
    given_py = parts[0][2] + np.where(two, parts[1][2], empty)
    surname = t.sur[s_idx]
    full_name = surname + given
    written = np.where(traditional, t.sur_t[s_idx] + given_t, full_name)

    # birth and home
    birth = (start - (age * 365.25 + rng.random(n) * 365).astype(np.int64) * np.timedelta64(1, "D"))
    city = rng.choice(t.n_main, n, p=t.city_p)
    at_home = rng.random(n) < 0.5
    city = np.where((origin == 1) & at_home, t.hk, city)
    city = np.where((origin == 2) & at_home, rng.choice(t.tw, n), city)
    city = np.where(hktw & ~at_home, rng.choice(t.fav, n), city)

    # phones (HK/TW writers living at home keep their home number half of the time)
    phone = mobile_numbers(rng, n)
    foreign = hktw & at_home & (rng.random(n) < 0.5)
    hk_no = (np.array([5, 6, 9])[rng.integers(0, 3, n)] * 10_000_000 + rng.integers(0, 10_000_000, n)).astype(str)
    tw_no = (900_000_000 + rng.integers(0, 100_000_000, n)).astype(str)
    phone = np.where(foreign & (origin == 1), "+852" + hk_no.astype(object), phone)
    phone = np.where(foreign & (origin == 2), "+886" + tw_no.astype(object), phone)
    old_phone = np.where(rng.random(n) < 0.15, mobile_numbers(rng, n), None)

    # QQ and e-mail
    qq_len = rng.choice([6, 7, 8, 9, 10, 11], n, p=[0.02, 0.05, 0.18, 0.40, 0.33, 0.02])
    qq = (10 ** (qq_len - 1) + (rng.random(n) * 9 * 10 ** (qq_len - 1)).astype(np.int64)).astype(str).astype(object)
    has_qq = rng.random(n) < np.where(hktw, 0.2, 0.8)
    qq = np.where(has_qq, qq, None)
    py = t.sur_py[s_idx] + given_py
    digits = rng.integers(0, 4, n)
    suffix = np.select([digits == 0, digits == 1, digits == 2],
                       [empty, pd.Series(birth.astype("datetime64[Y]").astype(int) + 1970).astype(str).str[-2:]
                        .to_numpy(dtype=object), rng.integers(1, 999, n).astype(str).astype(object)],
                       pd.Series(birth.astype("datetime64[Y]").astype(int) + 1970).astype(str).to_numpy(dtype=object))
    domains = np.array(["qq.com", "163.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "hotmail.com",
                        "outlook.com", "yahoo.com.hk"], dtype=object)
    dp = np.where(hktw[:, None], [0.02, 0.03, 0.02, 0.02, 0.35, 0.01, 0.25, 0.15, 0.15],
                  [0.45, 0.25, 0.10, 0.05, 0.04, 0.04, 0.03, 0.04, 0.0])
    dom = domains[(rng.random(n)[:, None] > np.cumsum(dp, axis=1)).sum(axis=1).clip(0, len(domains) - 1)]
    dom = np.where((dom == "qq.com") & ~has_qq, "163.com", dom)
    sep = np.where(rng.random(n) < 0.15, "_", "").astype(object)
    local = np.where(dom == "qq.com", qq, np.where(rng.random(n) < 0.2, given_py + sep + t.sur_py[s_idx],
                                                    t.sur_py[s_idx] + sep + given_py) + suffix)
    email = local.astype(object) + "@" + dom

    # national id (mainland) or residence permit (810000 HK, 830000 TW), 18 chars, valid check
    region = np.where(origin == 1, 810000, np.where(origin == 2, 830000, t.code[city] * 100 + rng.integers(1, 9, n)))
    bstr = pd.Series(np.datetime_as_string(birth, unit="D")).str.replace("-", "", regex=False)
    seq = rng.integers(0, 500, n) * 2 + gender  # odd for men
    body = region.astype(np.int64) * 10**11 + bstr.astype(np.int64).to_numpy() * 1000 + seq
    id_number = pd.Series(body).astype(str).to_numpy(dtype=object) + id_check_digit(body)

    # interests, life events, education, income
    base = np.where(female[:, None], vocab.INTEREST_BASE_F, vocab.INTEREST_BASE_M)
    ii = {name: i for i, name in enumerate(vocab.INTERESTS)}
    base[:, ii["mother_baby"]] *= np.where((age >= 25) & (age <= 40), 2.2, 0.4)
    base[:, ii["games"]] *= np.where(age < 30, 1.6, 0.5)
    base[:, ii["health"]] *= np.where(age > 50, 2.0, 1.0)
    base[:, ii["beauty"]] *= np.where(world.affinity[idx] > 0.3, 1.4, 1.0)
    imask = rng.random((n, len(vocab.INTERESTS))) < np.clip(base, 0, 0.95)
    none = ~imask.any(axis=1)
    imask[none, rng.integers(0, len(vocab.INTERESTS), none.sum())] = True
    interest_bits = (imask * (1 << np.arange(len(vocab.INTERESTS)))).sum(axis=1).astype(np.int64)

    ev_p = np.stack([
        np.where((age >= 24) & (age <= 36), 0.08, 0.005),
        np.where((age >= 25) & (age <= 40), 0.07, 0.003),
        np.where((age >= 21) & (age <= 25), 0.20, 0.0),
        np.full(n, 0.06),
        np.where((age >= 22) & (age <= 50), 0.09, 0.01),
    ], axis=1)
    ev = rng.random((n, len(vocab.LIFE_EVENTS))) < ev_p
    ev_day = start - 365 + (rng.random((n, len(vocab.LIFE_EVENTS))) * (365 + days)).astype(np.int64)

    edu_p = np.where((age < 23)[:, None], [0.45, 0.30, 0.23, 0.02],
                     np.where((age > 55)[:, None], [0.55, 0.25, 0.17, 0.03], [0.22, 0.30, 0.36, 0.12]))
    edu = (rng.random(n)[:, None] > np.cumsum(edu_p, axis=1)).sum(axis=1).clip(0, 3)
    elite = (edu >= 2) & (rng.random(n) < 0.18)
    school = np.where(elite, np.array(vocab.ELITE_SCHOOLS, dtype=object)[rng.integers(0, len(vocab.ELITE_SCHOOLS), n)],
                      np.array(vocab.OTHER_SCHOOLS, dtype=object)[rng.integers(0, len(vocab.OTHER_SCHOOLS), n)])
    inc_score = edu * 0.7 + elite * 0.8 + np.clip((age - 22) / 15, 0, 1.2) + rng.normal(0, 0.6, n)
    income = np.digitize(inc_score, [1.0, 2.1, 3.1])
    aff = world.affinity[idx]

    df = pd.DataFrame({
        "idx": idx,
        "person_id": person_id(idx),
        "kind": "person",
        "full_name": written,
        "full_name_simplified": full_name,
        "surname": np.where(traditional, t.sur_t[s_idx], surname),
        "name_pinyin": py,
        "surname_pinyin": t.sur_py[s_idx],
        "given_pinyin": given_py,
        "script": np.where(traditional, "traditional", "simplified"),
        "origin": ORIGIN[origin],
        "gender": np.where(female, "f", "m"),
        "birth_date": birth.astype("datetime64[D]"),
        "age": age,
        "province": t.prov[city],
        "city": t.city[city],
        "city_code": t.code[city],
        "postcode": t.postcode[city],
        "phone": phone,
        "old_phone": old_phone,
        "email": email,
        "qq": qq,
        "id_number": id_number,
        "interest_bits": interest_bits,
        "education": np.array(vocab.EDUCATION, dtype=object)[edu],
        "elite_school": elite,
        "school": school,
        "income_band": np.array(vocab.INCOME, dtype=object)[income],
        "brand_affinity": aff,
        "brand_attitude": np.where(aff >= 0.35, "fan", np.where(aff <= -0.35, "detractor", "neutral")),
        "participation": PARTICIPATION[world.participation[idx]],
        "in_crm": world.in_crm[idx],
        "crm_dup": world.crm_dup[idx],
        "on_weibo": world.on_weibo[idx],
        "on_wechat": world.on_wechat[idx],
    })
    for j, name in enumerate(vocab.LIFE_EVENTS):
        df["event_" + name] = np.where(ev[:, j], ev_day[:, j], np.datetime64("NaT", "D"))
    _mark_accounts(df, world)
    return df


def _mark_accounts(df: pd.DataFrame, world: World) -> None:
    """KOL and brand accounts: organisations and influencers, not customers."""
    kol = df["idx"].to_numpy() >= world.n
    if not kol.any():
        return
    off = (df["idx"].to_numpy() - world.n)
    b = vocab.brands()
    names = [b["own"]["official_weibo"]] + [c["official_weibo"] for c in b["competitors"]]
    official = kol & (off < world.n_official)
    df.loc[kol, "kind"] = "kol"
    df.loc[official, "kind"] = "brand_account"
    df.loc[official, "full_name"] = [names[i] for i in off[official]]
    df.loc[kol, "in_crm"] = False
    df.loc[kol, "on_wechat"] = False


def interest_names(bits: np.ndarray) -> list[list[str]]:
    names = vocab.INTERESTS
    return [[names[j] for j in range(len(names)) if b >> j & 1] for b in bits]
