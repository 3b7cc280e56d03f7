"""Marketing consent of a person: the one rule used by gold/dim_customer and the feature tables.

Policy (docs/privacy.md, *Consent*):

* **CRM consent** — true only when the person has CRM records and every one of them says
  yes (``marketing_consent`` Y); a "no" anywhere, an unknown value, or no CRM record at all
  counts as no consent.
* **WeChat unsubscribe** — unsubscribing from the brand's official account is a withdrawal
  of marketing consent. A WeChat account's state is its *latest* known state: the
  follower record (``subscribed`` as of its ``updated_at``) or a later ``subscribe`` /
  ``unsubscribe`` event, whichever is newer (on a tie the unsubscribe wins; a value
  without a time counts as older than any dated one). A person is ``wechat_unsubscribed``
  when any of their linked WeChat accounts is, by that rule, unsubscribed — as with the
  CRM, a "no" anywhere wins.
* ``marketing_consent`` = CRM consent and not ``wechat_unsubscribed``.

The state is the latest known one, also when a past day is rebuilt: a withdrawal is never
undone by a backfill.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

#: WeChat event types that change the subscription state (silver/interactions.event_type).
SUBSCRIPTION_EVENTS = ("subscribe", "unsubscribe")
# Stand-in time of a state whose time is unknown: older than any dated state.
_NO_TIME = "0001-01-01 00:00:00"


def _require(df: DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing} (it has {df.columns})")


def wechat_subscription_state(accounts: DataFrame, events: DataFrame, *, event_account: str = "wechat_openid_hash",
                              event_time: str = "event_time") -> DataFrame:
    """Per WeChat account: ``account_id``, ``subscribed`` (its latest known state), ``state_time``.

    ``accounts``: silver/social_accounts columns ``platform``, ``account_id``, ``subscribed``
    (bool), ``updated_at`` (only ``platform = 'wechat'`` rows are used). ``events``: the
    WeChat interactions with ``event_type`` and the account / time columns named by
    ``event_account`` (the openid HMAC, as ``account_id``) and ``event_time`` (UTC).
    Every account with a follower record or a (un)subscribe event gets one row;
    ``state_time`` is null when the deciding value had no time.
    """
    _require(accounts, ["platform", "account_id", "subscribed", "updated_at"], "wechat_subscription_state(accounts)")
    _require(events, [event_account, "event_type", event_time], "wechat_subscription_state(events)")
    followers = accounts.where((F.col("platform") == "wechat") & F.col("subscribed").isNotNull()).select(
        "account_id", F.col("updated_at").cast("timestamp").alias("_t"), F.col("subscribed").cast("boolean").alias("_sub"))
    moves = events.where(F.col("event_type").isin(*SUBSCRIPTION_EVENTS) & F.col(event_account).isNotNull()).select(
        F.col(event_account).alias("account_id"), F.col(event_time).cast("timestamp").alias("_t"),
        (F.col("event_type") == "subscribe").alias("_sub"))
    # latest first; on a tie the unsubscribe (not _sub) wins
    latest = F.max(F.struct(F.coalesce(F.col("_t"), F.lit(_NO_TIME).cast("timestamp")).alias("t"), (~F.col("_sub")).alias("unsub"),
                            F.col("_t").alias("time")))
    return (followers.unionByName(moves).groupBy("account_id").agg(latest.alias("_s"))
            .select("account_id", (~F.col("_s.unsub")).alias("subscribed"), F.col("_s.time").alias("state_time")))


def person_consent(keys: DataFrame, crm_customers: DataFrame, wechat_state: DataFrame) -> DataFrame:
    """Per ``customer_key`` of ``keys``: ``crm_consent``, ``wechat_unsubscribed``, ``marketing_consent``.

    ``keys``: source (crm/weibo/wechat), record_id, customer_key — a WeChat ``record_id``
    is the openid HMAC (``account_id`` of ``wechat_state``); ``crm_customers``:
    customer_id, marketing_consent (bool); ``wechat_state``: the output of
    :func:`wechat_subscription_state`. All three output flags are non-null booleans
    (see the module doc for the rule).
    """
    _require(keys, ["source", "record_id", "customer_key"], "person_consent(keys)")
    _require(crm_customers, ["customer_id", "marketing_consent"], "person_consent(crm_customers)")
    _require(wechat_state, ["account_id", "subscribed"], "person_consent(wechat_state)")
    k = keys.where(F.col("customer_key").isNotNull()).select("source", "record_id", "customer_key").distinct()
    people = k.select("customer_key").distinct()
    crm = (k.where(F.col("source") == "crm").select(F.col("record_id").alias("customer_id"), "customer_key")
           .join(crm_customers.select("customer_id", "marketing_consent"), "customer_id")
           .groupBy("customer_key")
           .agg(F.bool_and(F.coalesce(F.col("marketing_consent"), F.lit(False))).alias("_crm")))
    wx = (k.where(F.col("source") == "wechat").select(F.col("record_id").alias("account_id"), "customer_key")
          .join(wechat_state.select("account_id", "subscribed"), "account_id")
          .groupBy("customer_key")
          .agg(F.bool_or(~F.col("subscribed")).alias("_unsub")))
    out = people.join(crm, "customer_key", "left").join(wx, "customer_key", "left")
    crm_ok = F.coalesce(F.col("_crm"), F.lit(False))
    unsub = F.coalesce(F.col("_unsub"), F.lit(False))
    return out.select("customer_key", crm_ok.alias("crm_consent"), unsub.alias("wechat_unsubscribed"),
                      (crm_ok & ~unsub).alias("marketing_consent"))
