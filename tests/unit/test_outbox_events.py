"""Which committed change becomes which message (referrals/outbox_events.py), no AWS."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals import contract as c
from referrals import exact_json
from referrals.money import MAX_AMOUNT
from referrals.outbox_events import INSERT, MODIFY, REMOVE, Change, Message, UnknownChange, message_for

SIGNED_UP_AT = Decimal(1_796_000_000_123)
REFERRAL = {
    c.USER_ID: "bob",
    c.REFERRAL_TIMESTAMP: SIGNED_UP_AT,
    c.REFERRER_ID: "alice",
    c.EMAIL: "bob@example.com",
    c.SIGNUP_DATE: "2026-11-30T10:00:00.123Z",
    c.REWARD_AMOUNT: Decimal("12.5"),  # as DynamoDB hands 12.50 back
    c.REFERRAL_NUMBER: Decimal(3),
    c.STATUS: c.STATUS_PENDING,
    c.PENDING_KEY: c.PENDING_KEY_VALUE,
}
REFERRAL_KEYS = {c.USER_ID: "bob", c.REFERRAL_TIMESTAMP: SIGNED_UP_AT}
PROFILE_KEYS = {c.USER_ID: "alice", c.REFERRAL_TIMESTAMP: Decimal(0)}
PROFILE = PROFILE_KEYS | {c.REFERRAL_COUNT: Decimal(2), c.TOTAL_REWARDS: Decimal(20), c.SIGNUP_TICKETS: Decimal(3)}
RUN_KEYS = {c.IDEMPOTENCY_KEY: "payout-2026-11"}
SUMMARY = {
    "payoutId": "payout-2026-11",
    "payoutMonth": "2026-11",
    "totalReferrers": Decimal(2),
    "totalAmount": Decimal("35.4"),
    "rewardsPaid": Decimal(4),
    "reportLocation": "s3://reports/payouts/2026-11/payout-report.csv",
}
RUNNING = RUN_KEYS | {c.STATUS: c.RUN_IN_PROGRESS, "lease_owner": "request-1/ab12", "cutoff_ms": Decimal(1)}
COMPLETED = RUN_KEYS | {c.STATUS: c.RUN_COMPLETED, c.RUN_SUMMARY: SUMMARY, "completed_by": "request-1/ab12"}


def test_a_created_referral_item_is_one_referral_rewarded_message() -> None:
    [message] = message_for(Change(INSERT, REFERRAL_KEYS, None, REFERRAL))
    assert message == Message(
        event_type="referral.rewarded",
        event_id="referral.rewarded:bob",
        body={
            "type": "referral.rewarded",
            "userId": "bob",
            "referrerId": "alice",
            "rewardAmount": Decimal("12.50"),
            "referralCount": 3,
            "status": "payable",  # a legacy pending item is payable
            "eventId": "referral.rewarded:bob",
        },
    )
    assert exact_json.dumps(message.body) == (
        '{"type":"referral.rewarded","userId":"bob","referrerId":"alice","rewardAmount":12.50,'
        '"referralCount":3,"status":"payable","eventId":"referral.rewarded:bob"}'
    )


def test_a_completed_run_record_is_one_payout_completed_message() -> None:
    [message] = message_for(Change(MODIFY, RUN_KEYS, RUNNING, COMPLETED))
    assert (message.event_type, message.event_id) == ("payout.completed", "payout.completed:payout-2026-11")
    assert exact_json.dumps(message.body) == (
        '{"type":"payout.completed","payoutId":"payout-2026-11","payoutMonth":"2026-11","totalReferrers":2,'
        '"totalAmount":35.40,"reportLocation":"s3://reports/payouts/2026-11/payout-report.csv",'
        # A summary stored before the lifecycle netted nothing: gross is what was paid.
        '"grossAmount":35.40,"clawedBackAmount":0.00,"carriedForwardAmount":0.00,"clawbacksSettled":0,'
        '"eventId":"payout.completed:payout-2026-11"}'
    )


def test_a_run_record_created_completed_publishes_too() -> None:
    assert message_for(Change(INSERT, RUN_KEYS, None, COMPLETED)) == message_for(
        Change(MODIFY, RUN_KEYS, RUNNING, COMPLETED)
    )


def test_a_record_left_failed_by_the_old_implementation_then_completed_publishes() -> None:
    failed = RUN_KEYS | {c.STATUS: "failed"}
    assert len(message_for(Change(MODIFY, RUN_KEYS, failed, COMPLETED))) == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(Change(INSERT, PROFILE_KEYS, None, PROFILE), id="enrolment: a profile created"),
        pytest.param(Change(MODIFY, PROFILE_KEYS, PROFILE, PROFILE | {c.SIGNUP_TICKETS: 4}), id="queue ticket"),
        pytest.param(
            Change(MODIFY, PROFILE_KEYS, PROFILE, PROFILE | {c.REFERRAL_COUNT: 3, c.TOTAL_REWARDS: 30}),
            id="referrer counters",
        ),
        pytest.param(
            Change(INSERT, {c.USER_ID: "bob", c.REFERRAL_TIMESTAMP: 0}, None, {c.REFERRED_BY: "alice"}),
            id="the referred user's profile",
        ),
        pytest.param(
            Change(MODIFY, REFERRAL_KEYS, REFERRAL, REFERRAL | {c.STATUS: c.STATUS_PAID, c.PAYOUT_ID: "p"}),
            id="a payout's claim",
        ),
        pytest.param(Change(REMOVE, REFERRAL_KEYS, REFERRAL, None), id="a referral item deleted"),
        pytest.param(Change(INSERT, RUN_KEYS, None, RUNNING), id="lease taken"),
        pytest.param(Change(MODIFY, RUN_KEYS, RUNNING, RUNNING | {"lease_owner": "request-2/cd34"}), id="takeover"),
        pytest.param(Change(MODIFY, RUN_KEYS, COMPLETED, COMPLETED | {"updated_at": 2}), id="completion resent"),
        pytest.param(Change(REMOVE, RUN_KEYS, COMPLETED, None), id="TTL deletion"),
    ],
)
def test_other_changes_publish_nothing(change: Change) -> None:
    assert message_for(change) == ()


def test_a_change_from_an_unknown_table_fails_loudly() -> None:
    with pytest.raises(UnknownChange, match="no table the relay knows"):
        message_for(Change(INSERT, {"order_id": "o-1"}, None, {"order_id": "o-1"}))


def test_a_referral_item_without_its_amount_fails_rather_than_publishing_a_wrong_body() -> None:
    item = {k: v for k, v in REFERRAL.items() if k != c.REWARD_AMOUNT}
    with pytest.raises(ValueError, match="lacks 'reward_amount'"):
        message_for(Change(INSERT, REFERRAL_KEYS, None, item))


def test_a_completed_run_record_without_its_summary_fails() -> None:
    bare = RUN_KEYS | {c.STATUS: c.RUN_COMPLETED}
    with pytest.raises(ValueError, match="has no summary"):
        message_for(Change(MODIFY, RUN_KEYS, RUNNING, bare))


USER_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)
CENTS = st.integers(min_value=0, max_value=int(MAX_AMOUNT * 100)).map(lambda n: Decimal(n).scaleb(-2))


@given(user=USER_IDS, referrer=USER_IDS, amount=CENTS, count=st.integers(1, 10**6), trailing=st.booleans())
def test_any_referral_body_is_exact_and_its_event_id_names_the_user(
    user: str, referrer: str, amount: Decimal, count: int, trailing: bool
) -> None:
    stored = amount.normalize() if trailing else amount  # DynamoDB may drop trailing zeros
    item = REFERRAL | {c.USER_ID: user, c.REFERRER_ID: referrer, c.REWARD_AMOUNT: stored, c.REFERRAL_NUMBER: count}
    [message] = message_for(Change(INSERT, {c.USER_ID: user, c.REFERRAL_TIMESTAMP: SIGNED_UP_AT}, None, item))
    parsed = exact_json.loads(exact_json.dumps(message.body))
    assert parsed["rewardAmount"] == amount
    assert exact_json.dumps(message.body).count(f'"rewardAmount":{amount:.2f},') == 1
    assert (parsed["userId"], parsed["referrerId"], parsed["referralCount"]) == (user, referrer, count)
    assert parsed["eventId"] == message.event_id == f"referral.rewarded:{user}"
    assert list(parsed) == ["type", "userId", "referrerId", "rewardAmount", "referralCount", "status", "eventId"]


STATUSES = st.sampled_from([None, c.RUN_IN_PROGRESS, c.RUN_COMPLETED, "failed"])


def _run(status: str | None) -> dict | None:
    if status is None:
        return None
    return RUN_KEYS | {c.STATUS: status} | ({c.RUN_SUMMARY: SUMMARY} if status == c.RUN_COMPLETED else {})


@given(before=STATUSES, after=STATUSES)
def test_a_run_record_publishes_exactly_when_it_becomes_completed(before: str | None, after: str | None) -> None:
    old, new = _run(before), _run(after)
    event_name = INSERT if old is None else REMOVE if new is None else MODIFY
    messages = message_for(Change(event_name, RUN_KEYS, old, new))
    becomes_completed = after == c.RUN_COMPLETED and before != c.RUN_COMPLETED
    assert len(messages) == (1 if becomes_completed else 0)
    for message in messages:
        assert message.body["eventId"] == message.event_id == "payout.completed:payout-2026-11"


@given(amount=CENTS, owner=st.text(min_size=1, max_size=20))
def test_the_event_id_is_the_same_for_every_delivery_of_one_change(amount: Decimal, owner: str) -> None:
    completed = COMPLETED | {c.RUN_SUMMARY: SUMMARY | {"totalAmount": amount}, "completed_by": owner}
    first = message_for(Change(MODIFY, RUN_KEYS, RUNNING, completed))
    again = message_for(Change(MODIFY, RUN_KEYS, RUNNING, completed))
    assert first == again
    assert [message.body["totalAmount"] for message in first] == [amount]
