"""The one consent rule (transforms/consent.py) on hand-made rows: WeChat state per account, consent per person."""

from __future__ import annotations

import datetime as dt

import pytest

from transforms.consent import person_consent, wechat_subscription_state

UTC = dt.timezone.utc


def t(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, tzinfo=UTC)


ACCOUNTS = "platform string, account_id string, subscribed boolean, updated_at timestamp"
EVENTS = "wechat_openid_hash string, event_type string, event_time timestamp"


def test_latest_wechat_state_per_account(spark):
    accounts = spark.createDataFrame([
        ("wechat", "a1", True, t(1)),     # unsubscribe event on the 20th is newer -> unsubscribed
        ("wechat", "a2", False, t(1)),    # subscribe event on the 5th is newer -> subscribed again
        ("wechat", "a3", True, t(10)),    # the unsubscribe of the 5th is older than the record -> subscribed
        ("wechat", "a4", True, t(10)),    # unsubscribe at the very same time: the unsubscribe wins
        ("wechat", "a5", True, None),     # record without time, undated unsubscribe: a tie, unsubscribe wins
        ("wechat", "a8", True, t(2)),     # no event: the follower record decides
        ("wechat", "a9", None, t(2)),     # unknown state, no event: no row
        ("weibo", "a1w", True, t(1)),     # not WeChat: ignored
    ], ACCOUNTS)
    events = spark.createDataFrame([
        ("a1", "unsubscribe", t(20)), ("a1", "push_read", t(25)),  # a read is not a state change
        ("a2", "subscribe", t(5)), ("a3", "unsubscribe", t(5)), ("a4", "unsubscribe", t(10)),
        ("a5", "unsubscribe", None),
        ("a7", "subscribe", t(1)), ("a7", "unsubscribe", t(3)),     # events only: the later one
        (None, "unsubscribe", t(3)),
    ], EVENTS)
    got = {r.account_id: (r.subscribed, r.state_time) for r in wechat_subscription_state(accounts, events).collect()}
    naive = {k: (v[0], v[1] and v[1].replace(tzinfo=None)) for k, v in {
        "a1": (False, t(20)), "a2": (True, t(5)), "a3": (True, t(10)), "a4": (False, t(10)), "a5": (False, None),
        "a7": (False, t(3)), "a8": (True, t(2))}.items()}
    assert got == naive  # collected timestamps are naive UTC (session time zone UTC)


def test_person_consent_crm_and_wechat(spark):
    keys = spark.createDataFrame([
        ("crm", "c1", "P1"), ("wechat", "w_unsub", "P1"),                      # CRM yes, WeChat unsubscribed
        ("crm", "c2", "P2"), ("wechat", "w_sub", "P2"),                        # CRM yes, subscribed
        ("crm", "c3", "P3"), ("crm", "c4", "P3"),                              # a CRM "no" wins
        ("wechat", "w_sub2", "P4"),                                            # social only: never consent
        ("crm", "c5", "P5"), ("wechat", "w_sub3", "P5"), ("wechat", "w_unsub2", "P5"),  # any unsubscribe wins
        ("crm", "c6", "P6"),                                                   # CRM record not in silver
        ("crm", "c7", "P7"), ("wechat", "w_unknown", "P7"),                    # consent unknown; WeChat state unknown
        ("weibo", "u1", None),
    ], "source string, record_id string, customer_key string")
    crm = spark.createDataFrame([("c1", True), ("c2", True), ("c3", True), ("c4", False), ("c5", True), ("c7", None)],
                                "customer_id string, marketing_consent boolean")
    state = spark.createDataFrame([("w_unsub", False), ("w_sub", True), ("w_sub2", True), ("w_sub3", True),
                                   ("w_unsub2", False)], "account_id string, subscribed boolean")
    got = {r.customer_key: (r.crm_consent, r.wechat_unsubscribed, r.marketing_consent)
           for r in person_consent(keys, crm, state).collect()}
    assert got == {
        "P1": (True, True, False), "P2": (True, False, True), "P3": (False, False, False),
        "P4": (False, False, False), "P5": (True, True, False), "P6": (False, False, False),
        "P7": (False, False, False),
    }


def test_inputs_are_checked(spark):
    accounts = spark.createDataFrame([], "platform string, account_id string, subscribed boolean")
    events = spark.createDataFrame([], EVENTS)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['updated_at'\]"):
        wechat_subscription_state(accounts, events)
