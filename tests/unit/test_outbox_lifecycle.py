"""One message per transition of a reward (referrals/outbox_events.py, docs/lifecycle-design.md#events),
from the images of the referral item and the clawback ledger, no AWS."""

from decimal import Decimal

import pytest

from referrals import contract as c
from referrals import exact_json
from referrals.lifecycle import AdminAction, Moved, Reward, RewardState, all_rewards, decide
from referrals.outbox_events import INSERT, MODIFY, REMOVE, Change, message_for

SIGNED_UP_AT = Decimal(1_796_000_000_123)
ACTED_AT = SIGNED_UP_AT + 86_400_000
KEYS = {c.USER_ID: "bob", c.REFERRAL_TIMESTAMP: SIGNED_UP_AT}
CREATED = {
    **KEYS,
    c.REFERRER_ID: "alice",
    c.EMAIL: "bob@example.com",
    c.SIGNUP_DATE: "2026-11-30T10:00:00.123Z",
    c.REWARD_AMOUNT: Decimal(10),  # as DynamoDB hands 10.00 back
    c.REFERRAL_NUMBER: Decimal(1),
}
PAYABLE = {c.STATUS: c.STATUS_PAYABLE, c.QUALIFIED_AT: SIGNED_UP_AT, c.PAYABLE_KEY: c.PAYABLE_KEY_VALUE}
FLAGGED = {c.STATUS: c.STATUS_FLAGGED, c.FLAGGED_KEY: c.FLAGGED_KEY_VALUE, c.REVIEW_SIGNALS: {"email_of_referrer"}}
CLAWBACK_KEYS = {c.USER_ID: "bob#clawback", c.REFERRAL_TIMESTAMP: SIGNED_UP_AT}
CLAWBACK = {
    **CLAWBACK_KEYS,
    c.REFERRER_ID: "alice",
    c.REWARD_AMOUNT: Decimal(10),
    c.STATUS: c.CLAWBACK_OPEN,
    c.OPEN_CLAWBACK_KEY: c.OPEN_CLAWBACK_KEY_VALUE,
    c.CLAWBACK_AT: ACTED_AT,
    c.REVERSAL_REASON: "chargeback",
    c.REVERSED_BY: "arn:aws:iam::123456789012:user/admin",
}
SETTLED = {k: v for k, v in CLAWBACK.items() if k != c.OPEN_CLAWBACK_KEY} | {
    c.STATUS: c.CLAWBACK_SETTLED,
    c.PAYOUT_ID: "payout-2026-12",
    c.SETTLED_AT: ACTED_AT + 1,
}
CARRY_KEYS = {c.USER_ID: "alice#carry", c.REFERRAL_TIMESTAMP: Decimal(1_798_761_600_000)}
CARRY = {
    **CARRY_KEYS,
    c.REFERRER_ID: "alice",
    c.REWARD_AMOUNT: Decimal("2.5"),
    c.STATUS: c.CLAWBACK_OPEN,
    c.OPEN_CLAWBACK_KEY: c.OPEN_CLAWBACK_KEY_VALUE,
    c.CLAWBACK_AT: CARRY_KEYS[c.REFERRAL_TIMESTAMP],
    "carried_by_payout": "payout-2026-12",
}
EMAIL_KEYS = {c.USER_ID: "9f86d081884c7d65#email", c.REFERRAL_TIMESTAMP: Decimal(0)}


def texts(change: Change) -> list[str]:
    return [exact_json.dumps(message.body) for message in message_for(change)]


def modified(old: dict, new: dict) -> Change:
    return Change(MODIFY, KEYS, CREATED | old, CREATED | new)


# The design's examples, byte for byte ----------------------------------------------------------


def test_a_payable_signup_is_referral_rewarded_with_its_status() -> None:
    assert texts(Change(INSERT, KEYS, None, CREATED | PAYABLE)) == [
        '{"type":"referral.rewarded","userId":"bob","referrerId":"alice","rewardAmount":10.00,"referralCount":1,'
        '"status":"payable","eventId":"referral.rewarded:bob"}'
    ]


@pytest.mark.parametrize(
    ("stored", "announced"),
    [(c.STATUS_PAYABLE, "payable"), (c.STATUS_WAITING, "waiting"), (c.STATUS_PENDING, "payable")],
)
def test_the_status_a_signup_announces(stored: str, announced: str) -> None:
    [message] = message_for(Change(INSERT, KEYS, None, CREATED | {c.STATUS: stored}))
    assert message.body["status"] == announced


def test_a_flagged_signup_is_two_messages_rewarded_then_flagged() -> None:
    signals = {"referral_burst", "email_of_referrer"}
    messages = message_for(Change(INSERT, KEYS, None, CREATED | FLAGGED | {c.REVIEW_SIGNALS: signals}))
    assert [(m.event_type, m.event_id) for m in messages] == [
        ("referral.rewarded", "referral.rewarded:bob"),
        ("reward.flagged", "reward.flagged:bob"),
    ]
    assert [exact_json.dumps(m.body) for m in messages] == [
        '{"type":"referral.rewarded","userId":"bob","referrerId":"alice","rewardAmount":10.00,"referralCount":1,'
        '"status":"flagged","eventId":"referral.rewarded:bob"}',
        '{"type":"reward.flagged","userId":"bob","referrerId":"alice","rewardAmount":10.00,'
        '"signals":["email_of_referrer","referral_burst"],"eventId":"reward.flagged:bob"}',
    ]


def test_qualify_of_a_waiting_reward() -> None:
    change = modified({c.STATUS: c.STATUS_WAITING}, PAYABLE | {c.QUALIFIED_AT: ACTED_AT})
    assert texts(change) == [
        '{"type":"reward.qualified","userId":"bob","referrerId":"alice","rewardAmount":10.00,"status":"payable",'
        '"eventId":"reward.qualified:bob"}'
    ]


def test_qualify_of_a_flagged_reward_says_it_is_still_flagged() -> None:
    [message] = message_for(modified(FLAGGED, FLAGGED | {c.QUALIFIED_AT: ACTED_AT}))
    assert (message.event_type, message.body["status"]) == ("reward.qualified", "flagged")


def test_approve_of_a_flagged_qualified_reward() -> None:
    qualified = FLAGGED | {c.QUALIFIED_AT: ACTED_AT}
    change = modified(qualified, PAYABLE | {c.QUALIFIED_AT: ACTED_AT, c.APPROVED_AT: ACTED_AT + 1})
    assert texts(change) == [
        '{"type":"reward.approved","userId":"bob","referrerId":"alice","rewardAmount":10.00,"status":"payable",'
        '"eventId":"reward.approved:bob"}'
    ]


def test_approve_of_a_flagged_unqualified_reward_leaves_it_waiting() -> None:
    [message] = message_for(modified(FLAGGED, {c.STATUS: c.STATUS_WAITING, c.APPROVED_AT: ACTED_AT}))
    assert (message.event_type, message.body["status"]) == ("reward.approved", "waiting")


@pytest.mark.parametrize(
    "before", [PAYABLE, FLAGGED, {c.STATUS: c.STATUS_WAITING}], ids=["payable", "flagged", "waiting"]
)
def test_reverse_before_payment(before: dict) -> None:
    after = {c.STATUS: c.STATUS_REVERSED, c.REVERSED_AT: ACTED_AT, c.REVERSAL_REASON: "refunded order 4411"}
    if c.QUALIFIED_AT in before:
        after[c.QUALIFIED_AT] = before[c.QUALIFIED_AT]
    assert texts(modified(before, after)) == [
        '{"type":"reward.reversed","userId":"bob","referrerId":"alice","rewardAmount":10.00,'
        '"reason":"refunded order 4411","eventId":"reward.reversed:bob"}'
    ]


def test_reversing_a_legacy_item_sets_qualified_at_too_and_is_only_reversed() -> None:
    legacy = {c.STATUS: c.STATUS_PENDING, c.PENDING_KEY: c.PENDING_KEY_VALUE}
    after = {c.STATUS: c.STATUS_REVERSED, c.QUALIFIED_AT: SIGNED_UP_AT, c.REVERSAL_REASON: "fraud"}
    assert [m.event_type for m in message_for(modified(legacy, after))] == ["reward.reversed"]


def test_a_clawback_created_is_reward_clawed_back_of_the_referee() -> None:
    assert texts(Change(INSERT, CLAWBACK_KEYS, None, CLAWBACK)) == [
        '{"type":"reward.clawed_back","userId":"bob","referrerId":"alice","rewardAmount":10.00,'
        '"reason":"chargeback","eventId":"reward.clawed_back:bob"}'
    ]


def test_a_paid_reward_of_nothing_reversed_is_reward_clawed_back_from_its_mark() -> None:
    """A 0.00 reward owes nothing, so its reversal records no clawback item (admin_store.py): the
    paid item's clawed_back_at is then the transition's one event."""
    paid_nothing = PAID | {c.REWARD_AMOUNT: Decimal(0)}
    marked = paid_nothing | {c.CLAWED_BACK_AT: ACTED_AT, c.REVERSAL_REASON: "chargeback"}
    assert texts(modified(paid_nothing, marked)) == [
        '{"type":"reward.clawed_back","userId":"bob","referrerId":"alice","rewardAmount":0.00,'
        '"reason":"chargeback","eventId":"reward.clawed_back:bob"}'
    ]
    assert texts(modified(marked, marked | {"note": "x"})) == []  # a later change of it: nothing


def test_no_message_holds_an_email_address() -> None:
    changes = [
        Change(INSERT, KEYS, None, CREATED | FLAGGED),
        modified(FLAGGED, FLAGGED | {c.QUALIFIED_AT: ACTED_AT}),
        modified(FLAGGED, {c.STATUS: c.STATUS_REVERSED, c.REVERSAL_REASON: "fraud"}),
    ]
    published = [text for change in changes for text in texts(change)]
    assert len(published) == 4
    assert not any("example.com" in text for text in published)


# What publishes nothing ----------------------------------------------------------------------------

PAID = {c.STATUS: c.STATUS_PAID, c.QUALIFIED_AT: SIGNED_UP_AT, c.PAYOUT_ID: "payout-2026-11"}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(modified(PAYABLE, PAID), id="the payout's claim of a payable reward"),
        pytest.param(modified({c.STATUS: c.STATUS_PENDING}, PAID), id="the payout's claim of a legacy reward"),
        pytest.param(modified(PAID, PAID | {c.CLAWED_BACK_AT: ACTED_AT, c.REVERSAL_REASON: "x"}), id="clawed back"),
        pytest.param(modified(PAYABLE, PAYABLE | {c.PAYABLE_AT: ACTED_AT}), id="no transition"),
        pytest.param(
            modified({c.STATUS: c.STATUS_REVERSED, c.REVERSAL_REASON: "a"}, {c.STATUS: c.STATUS_REVERSED}),
            id="a reversed item touched again",
        ),
        pytest.param(Change(MODIFY, CLAWBACK_KEYS, CLAWBACK, SETTLED), id="a clawback settled"),
        pytest.param(Change(REMOVE, CLAWBACK_KEYS, SETTLED, None), id="a clawback deleted"),
        pytest.param(Change(INSERT, CARRY_KEYS, None, CARRY), id="a carry created"),
        pytest.param(Change(MODIFY, CARRY_KEYS, CARRY, CARRY | {c.STATUS: c.CLAWBACK_SETTLED}), id="a carry settled"),
        pytest.param(Change(REMOVE, CARRY_KEYS, CARRY, None), id="a carry deleted"),
        pytest.param(Change(INSERT, EMAIL_KEYS, None, EMAIL_KEYS | {"owner": "bob"}), id="an e-mail key"),
        pytest.param(Change(REMOVE, EMAIL_KEYS, EMAIL_KEYS | {"owner": "bob"}, None), id="an e-mail key deleted"),
        pytest.param(
            Change(INSERT, CARRY_KEYS | {c.USER_ID: "x#email"}, None, {c.REFERRER_ID: "alice"}),
            id="any other '#' item, even with a referrer",
        ),
    ],
)
def test_ledger_items_claims_and_settlements_publish_nothing(change: Change) -> None:
    assert message_for(change) == ()


# Refusals rather than wrong bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (Change(INSERT, KEYS, None, CREATED | {c.STATUS: "paid"}), "has status 'paid'"),
        (Change(INSERT, KEYS, None, CREATED), "has status None"),
        (Change(INSERT, KEYS, None, CREATED | FLAGGED | {c.REVIEW_SIGNALS: set()}), "lacks 'review_signals'"),
        (modified(PAYABLE, {c.STATUS: c.STATUS_REVERSED}), "lacks 'reversal_reason'"),
        (Change(INSERT, CLAWBACK_KEYS, None, {**CLAWBACK_KEYS, c.REFERRER_ID: "alice"}), "lacks 'reversal_reason'"),
        (Change(INSERT, CLAWBACK_KEYS, None, CLAWBACK | {c.REWARD_AMOUNT: Decimal("0.001")}), "two decimal places"),
        (Change(MODIFY, KEYS, None, CREATED | PAYABLE), "lacks its old or new image"),
    ],
)
def test_an_item_that_cannot_make_its_message_fails_the_record(change: Change, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        message_for(change)


# Every admin transition, as admin_store writes it: one message of its kind --------------------


def image_of(reward: Reward, *, legacy: bool = False) -> dict:
    """The referral item in a lifecycle position, with the attributes admin_store keeps."""
    status = {
        RewardState.CLAWED_BACK: c.STATUS_PAID,
        RewardState.PAYABLE: c.STATUS_PENDING if legacy else c.STATUS_PAYABLE,
    }.get(reward.state, reward.state.value)
    item = CREATED | {c.STATUS: status}
    if reward.qualified and not legacy:
        item[c.QUALIFIED_AT] = SIGNED_UP_AT
    if reward.state is RewardState.FLAGGED:
        item |= {c.FLAGGED_KEY: c.FLAGGED_KEY_VALUE, c.REVIEW_SIGNALS: {"referral_burst"}}
    if reward.state in (RewardState.REVERSED, RewardState.CLAWED_BACK):
        item[c.REVERSAL_REASON] = "fraud"
    if reward.state is RewardState.CLAWED_BACK:
        item[c.CLAWED_BACK_AT] = ACTED_AT
    return item


EXPECTED_TYPE = {
    AdminAction.QUALIFY: "reward.qualified",
    AdminAction.APPROVE: "reward.approved",
    AdminAction.REVERSE: "reward.reversed",
}
MOVES = [
    (reward, action, decision.after)
    for reward in all_rewards()
    for action in AdminAction
    if isinstance(decision := decide(reward, action), Moved)
]


@pytest.mark.parametrize(("before", "action", "after"), MOVES, ids=lambda v: str(getattr(v, "state", v)))
def test_every_move_of_the_lifecycle_is_one_message_of_its_action(
    before: Reward, action: AdminAction, after: Reward
) -> None:
    messages = message_for(Change(MODIFY, KEYS, image_of(before), image_of(after)))
    if after.state is RewardState.CLAWED_BACK:
        assert messages == ()  # the clawback item's INSERT is the event
        return
    assert [(m.event_type, m.event_id) for m in messages] == [(EXPECTED_TYPE[action], f"{EXPECTED_TYPE[action]}:bob")]


def test_the_moves_cover_every_kind_of_transition() -> None:
    assert len(MOVES) == 9  # qualify 2, approve 2, reverse 5 (waiting, flagged twice, payable, paid)
    assert {action for _, action, _ in MOVES} == set(AdminAction)


def test_a_legacy_reward_reversed_as_admin_store_writes_it() -> None:
    legacy = Reward(RewardState.PAYABLE, qualified=True)
    after = image_of(Reward(RewardState.REVERSED, qualified=True)) | {c.QUALIFIED_AT: SIGNED_UP_AT}
    [message] = message_for(Change(MODIFY, KEYS, image_of(legacy, legacy=True), after))
    assert message.event_type == "reward.reversed"
