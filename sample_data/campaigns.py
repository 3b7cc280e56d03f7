"""The marketing calendar: campaigns with dates, platforms and coupon codes, and the
seasonality of purchases (618, 双十一, Spring Festival ...) that they drive."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .clock import SPRING_FESTIVAL

PLATFORM_CODE = {"all": 0, "crm": 1, "wechat": 2, "weibo": 3}


@dataclass
class Calendar:
    """Campaigns over ``[first, last]`` and a purchase weight per day."""

    first: np.datetime64
    last: np.datetime64
    campaigns: pd.DataFrame
    day_weight: np.ndarray  # weight of each day first..last
    active: dict[str, np.ndarray]  # platform group -> campaign index per day (-1 none)
    starts: np.ndarray  # datetime64[D] per campaign
    ends: np.ndarray

    def cdf(self) -> np.ndarray:
        c = np.cumsum(self.day_weight)
        return np.concatenate([[0.0], c])


def make_calendar(start: np.datetime64, days: int) -> Calendar:
    """Campaigns from three years before ``start`` to the last drop day."""
    first = start - np.timedelta64(3 * 365 + 1, "D")
    last = start + np.timedelta64(days - 1, "D")
    rows = []
    y0 = int(str(first)[:4])
    y1 = int(str(last)[:4])
    for y in range(y0, y1 + 1):
        yy = str(y)[2:]
        sf = np.datetime64(SPRING_FESTIVAL.get(y, f"{y}-02-01"))
        rows += [
            (f"{y}0301", "38女王节", "all", f"{y}-03-01", f"{y}-03-08", f"HY38-{yy}", 0.85, 1.8, 2.5),
            (f"{y}0601", "618年中大促", "all", f"{y}-06-01", f"{y}-06-18", f"HY618-{yy}", 0.80, 2.2, 6.0),
            (f"{y}0801", "七夕微博转发抽奖", "weibo", f"{y}-08-01", f"{y}-08-10", f"WBQX-{yy}", 0.90, 1.2, 1.5),
            (f"{y}1020", "双十一狂欢", "all", f"{y}-10-20", f"{y}-11-11", f"HY1111-{yy}", 0.75, 2.4, 10.0),
            (f"{y}1201", "双十二会员专享", "wechat", f"{y}-12-01", f"{y}-12-12", f"WX1212-{yy}", 0.85, 1.5, 2.0),
            (f"{y}SF", "年货节", "crm", str(sf - 21), str(sf - 1), f"HYNH-{yy}", 0.88, 1.8, 1.8),
        ]
        for m in range(1, 13):
            rows.append((f"{y}{m:02d}15", f"公众号会员日{m}月", "wechat", f"{y}-{m:02d}-15", f"{y}-{m:02d}-17",
                         f"WXVIP-{yy}{m:02d}", 0.90, 1.25, 1.25))
        for q, m in enumerate((4, 9), start=1):
            rows.append((f"{y}W{q}", f"微博话题挑战赛{q}", "weibo", f"{y}-{m:02d}-05", f"{y}-{m:02d}-14",
                         f"WBHT{q}-{yy}", 0.88, 1.2, 1.2))
    df = pd.DataFrame(rows, columns=["campaign_id", "name", "platform", "start_date", "end_date", "coupon_code",
                                     "discount", "_lift", "_peak"])
    df["campaign_id"] = "CMP" + df["campaign_id"]
    s = df["start_date"].to_numpy(dtype="datetime64[D]")
    e = df["end_date"].to_numpy(dtype="datetime64[D]")
    keep = (e >= first) & (s <= last)
    df = df[keep].reset_index(drop=True)
    df["_start"] = s[keep]
    df["_end"] = e[keep]

    n = int((last - first).astype(int)) + 1
    dates = first + np.arange(n)
    dow = (dates.astype("datetime64[D]").astype(np.int64) + 4) % 7  # 0 Monday
    weight = np.where(dow >= 5, 1.2, 1.0)
    active = {g: np.full(n, -1) for g in ("shop", "wechat", "weibo")}
    cs, ce = s[keep], e[keep]
    for i in range(len(df)):
        a = max(0, int((cs[i] - first).astype(int)))
        b = min(n - 1, int((ce[i] - first).astype(int)))
        if b < a:
            continue
        lift, peak, platform = df["_lift"].iat[i], df["_peak"].iat[i], df["platform"].iat[i]
        weight[a:b + 1] *= lift
        weight[b] *= peak / lift if peak > lift else 1.0
        group = "shop" if platform in ("all", "crm") else platform
        active[group][a:b + 1] = i
    for sf in SPRING_FESTIVAL.values():  # shops closed / quiet over the holiday week
        a = int((np.datetime64(sf) - first).astype(int))
        if 0 <= a < n:
            weight[a:min(n, a + 7)] *= 0.45
    return Calendar(first, last, df, weight, active, cs, ce)


def campaigns_frame(cal: Calendar, start: np.datetime64) -> pd.DataFrame:
    """The CRM's campaigns.csv rows; each appears in the drop of the day it was created."""
    df = cal.campaigns.copy()
    created = cal.starts - np.timedelta64(14, "D")
    df["discount"] = df["discount"].map("{:.2f}".format)
    df["updated_at"] = (pd.Series(np.datetime_as_string(created, unit="D")) + " 10:00:00").to_numpy()
    df["_drop"] = np.maximum((created - start).astype(np.int64), 0)
    return df
