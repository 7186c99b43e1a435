"""Every admin action from every position, through the handler on moto (docs/lifecycle-design.md,
"States and transitions"): a move writes the reward's new state and its index keys, a repeat
answers the same and writes nothing, a refusal is a 409 with the status and writes nothing."""

import pytest

from referrals import contract as c
from tests.lambdas.admin_api import CALLER, POSITIONS, act, rewrite, seed
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items, referral_of

SAME, REFUSED = "same", "refused"
# position -> action -> (status, qualified) after a move, SAME (already so) or REFUSED (409).
EXPECTED: dict[str, dict[str, tuple[str, bool] | str]] = {
    "legacy_pending": {"qualify": SAME, "approve": SAME, "reverse": ("reversed", True)},
    "waiting": {"qualify": ("payable", True), "approve": SAME, "reverse": ("reversed", False)},
    "flagged": {"qualify": ("flagged", True), "approve": ("waiting", False), "reverse": ("reversed", False)},
    "flagged_qualified": {"qualify": SAME, "approve": ("payable", True), "reverse": ("reversed", True)},
    "payable": {"qualify": SAME, "approve": SAME, "reverse": ("reversed", True)},
    "paid": {"qualify": REFUSED, "approve": REFUSED, "reverse": ("clawed_back", True)},
    "reversed": {"qualify": REFUSED, "approve": REFUSED, "reverse": SAME},
    "reversed_qualified": {"qualify": REFUSED, "approve": REFUSED, "reverse": SAME},
    "clawed_back": {"qualify": REFUSED, "approve": REFUSED, "reverse": SAME},
}
# The lifecycle state each seeded position reads as.
STATE_OF = {"legacy_pending": "payable", "flagged_qualified": "flagged", "reversed_qualified": "reversed"}
UNQUALIFIED = ("waiting", "flagged", "reversed")
# Index keys by stored status: only a payable reward is in the payable index, only a flagged one in the queue.
INDEX_KEYS = {"payable": {c.PAYABLE_KEY}, "flagged": {c.FLAGGED_KEY}}

CELLS = [(position, action) for position in POSITIONS for action in ("qualify", "approve", "reverse")]


def test_the_table_covers_every_position_and_action() -> None:
    assert {position for position, _ in CELLS} == set(EXPECTED)
    assert len(CELLS) == 27


@pytest.mark.parametrize(("position", "action"), CELLS)
def test_an_action_from_a_position(aws: FakeAws, position: str, action: str) -> None:
    seed(aws, position)
    before = all_items(aws)
    expected = EXPECTED[position][action]
    status, body = act("bob", action)
    if expected == REFUSED:
        assert status == 409, body
        assert body["status"] == STATE_OF.get(position, position)
        assert body["error"].startswith(f"cannot {action} a reward that has been ")
        assert all_items(aws) == before
        return
    assert status == 200, body
    assert (body["userId"], body["referrerId"], body["rewardAmount"]) == ("bob", "alice", 10)
    if expected == SAME:
        assert (body["status"], body["qualified"]) == (STATE_OF.get(position, position), position not in UNQUALIFIED)
        assert all_items(aws) == before
        return
    assert (body["status"], body["qualified"]) == expected
    stored = referral_of(aws, "bob")
    stored_status = "paid" if expected[0] == "clawed_back" else expected[0]
    assert stored[c.STATUS] == stored_status
    index_keys = {c.PAYABLE_KEY, c.FLAGGED_KEY, c.PENDING_KEY} & set(stored)
    assert index_keys == INDEX_KEYS.get(stored_status, set())
    # The repeat answers the same body, makes one call (the read) and writes nothing.
    after = all_items(aws)
    with recorded_calls() as log:
        assert act("bob", action, reason="another reason") == (200, body)
    assert log.calls == ["dynamodb:Query"]
    assert all_items(aws) == after


@pytest.mark.parametrize("action", ["qualify", "approve", "reverse"])
def test_a_move_records_who_and_when(aws: FakeAws, action: str) -> None:
    position = {"qualify": "waiting", "approve": "flagged", "reverse": "payable"}[action]
    seed(aws, position)
    with recorded_calls() as log:
        assert act("bob", action)[0] == 200
    assert log.calls == ["dynamodb:Query", "dynamodb:UpdateItem"]  # two calls per action
    stored = referral_of(aws, "bob")
    by, at = {"qualify": (c.QUALIFIED_BY, c.QUALIFIED_AT), "approve": (c.APPROVED_BY, c.APPROVED_AT)}.get(
        action, (c.REVERSED_BY, c.REVERSED_AT)
    )
    assert stored[by] == CALLER
    assert stored[at] >= stored[c.REFERRAL_TIMESTAMP]


def test_a_reversal_keeps_its_first_reason_and_leaves_every_index(aws: FakeAws) -> None:
    seed(aws, "payable")
    status, body = act("bob", "reverse", "chargeback")
    assert (status, body["reason"]) == (200, "chargeback")
    assert "payableAt" not in body
    assert act("bob", "reverse", "a second opinion")[1]["reason"] == "chargeback"
    stored = referral_of(aws, "bob")
    assert stored[c.REVERSAL_REASON] == "chargeback"
    assert not {c.PAYABLE_KEY, c.PAYABLE_AT, c.FLAGGED_KEY, c.PENDING_KEY} & set(stored)


def test_reversing_a_reward_from_before_the_lifecycle_records_it_qualified_at_signup(aws: FakeAws) -> None:
    seed(aws, "legacy_pending")
    assert act("bob", "reverse")[1]["qualified"] is True
    stored = referral_of(aws, "bob")
    assert stored[c.QUALIFIED_AT] == stored[c.REFERRAL_TIMESTAMP]


def test_reversing_a_paid_reward_records_a_clawback_and_leaves_the_paid_item_paid(aws: FakeAws) -> None:
    paid = seed(aws, "paid")
    with recorded_calls() as log:
        status, body = act("bob", "reverse", "chargeback")
    assert log.calls == ["dynamodb:Query", "dynamodb:TransactWriteItems"]
    assert (status, body["status"], body["reason"]) == (200, "clawed_back", "chargeback")
    stored = referral_of(aws, "bob")
    assert stored[c.STATUS] == c.STATUS_PAID
    assert stored[c.PAYOUT_ID] == paid[c.PAYOUT_ID]
    assert {k: v for k, v in stored.items() if k not in (c.CLAWED_BACK_AT, c.REVERSED_BY, c.REVERSAL_REASON)} == paid
    (clawback,) = [i for i in all_items(aws) if i[c.USER_ID] == f"bob{c.CLAWBACK_SUFFIX}"]
    assert clawback == {
        c.USER_ID: "bob#clawback",
        c.REFERRAL_TIMESTAMP: paid[c.REFERRAL_TIMESTAMP],
        c.REFERRER_ID: "alice",
        c.REWARD_AMOUNT: 10,
        c.STATUS: c.CLAWBACK_OPEN,
        c.OPEN_CLAWBACK_KEY: c.OPEN_CLAWBACK_KEY_VALUE,
        c.CLAWBACK_AT: stored[c.CLAWED_BACK_AT],
        c.REVERSAL_REASON: "chargeback",
        c.REVERSED_BY: CALLER,
    }


def test_a_paid_reward_of_nothing_is_marked_clawed_back_without_a_clawback(aws: FakeAws) -> None:
    paid = seed(aws, "paid")
    rewrite(aws, "bob", int(paid[c.REFERRAL_TIMESTAMP]), {c.REWARD_AMOUNT: 0})
    assert act("bob", "reverse")[1]["status"] == "clawed_back"
    assert not [i for i in all_items(aws) if i[c.USER_ID].endswith(c.CLAWBACK_SUFFIX)]
