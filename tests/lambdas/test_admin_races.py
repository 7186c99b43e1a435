"""An admin write races the payout's claim or another admin call (docs/lifecycle-design.md, "A
reversal racing the payout's claim"): the other write lands between the admin call's read and its
conditional write. The condition refuses, hands back the reward as it now is, and the decision is
made again from there, so exactly one outcome exists: voided and never paid, or paid and clawed
back. A transaction holding the item is waited out a few times, then answered 503, nothing written."""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError

from referral_admin import handler as admin
from referral_admin.responses import BUSY
from referrals import contract as c
from referrals.admin_actions import Change, Stale, StoreBusy, Written
from referrals.admin_store import CONFLICT_ATTEMPTS, DynamoAdminStore
from tests.lambdas.admin_api import PAYOUT_ID, act, claim, seed
from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.fake_aws import FakeAws
from tests.lambdas.reward_api import all_items, referral_of


def write_between_read_and_write(monkeypatch: pytest.MonkeyPatch, other_write: Callable[[], None]) -> None:
    """The admin handler's store runs `other_write` once, after its read and before its first write."""
    pending = [other_write]

    @dataclass(frozen=True)
    class RacedStore(DynamoAdminStore):
        def write(self, change: Change) -> Written | Stale | StoreBusy:
            while pending:
                pending.pop()()
            return super().write(change)

    monkeypatch.setattr(admin, "DynamoAdminStore", RacedStore)


def clawbacks(aws: FakeAws) -> list[dict]:
    return [i for i in all_items(aws) if i[c.USER_ID].endswith(c.CLAWBACK_SUFFIX)]


@pytest.mark.parametrize("position", ["legacy_pending", "payable"])
def test_the_claim_lands_first_so_the_reversal_claws_the_paid_reward_back(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch, position: str
) -> None:
    timestamp = int(seed(aws, position)[c.REFERRAL_TIMESTAMP])
    claimed: list[bool] = []
    write_between_read_and_write(monkeypatch, lambda: claimed.append(claim(aws, "bob", timestamp)))
    with recorded_calls() as log:
        status, body = act("bob", "reverse", "chargeback")
    assert claimed == [True]
    # Read, the payout's claim, the refused void (it hands back the paid item), the clawback transaction.
    assert log.calls == [
        "dynamodb:Query",
        "dynamodb:TransactWriteItems",
        "dynamodb:UpdateItem",
        "dynamodb:TransactWriteItems",
    ]
    assert (status, body["status"]) == (200, "clawed_back")
    stored = referral_of(aws, "bob")
    assert (stored[c.STATUS], stored[c.PAYOUT_ID]) == (c.STATUS_PAID, PAYOUT_ID)
    assert c.REVERSED_AT not in stored  # never voided
    assert [i[c.REWARD_AMOUNT] for i in clawbacks(aws)] == [10]


@pytest.mark.parametrize("position", ["legacy_pending", "payable"])
def test_the_reversal_lands_first_so_the_claim_is_refused_and_the_reward_never_paid(
    aws: FakeAws, position: str
) -> None:
    timestamp = int(seed(aws, position)[c.REFERRAL_TIMESTAMP])
    assert act("bob", "reverse")[1]["status"] == "reversed"
    assert claim(aws, "bob", timestamp) is False
    stored = referral_of(aws, "bob")
    assert stored[c.STATUS] == c.STATUS_REVERSED
    assert c.PAYOUT_ID not in stored
    assert clawbacks(aws) == []


def test_a_qualify_between_an_approvals_read_and_write_makes_the_approval_payable(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(aws, "flagged")
    # Read flagged and unqualified, the approval would make it waiting; qualified meanwhile, payable.
    write_between_read_and_write(monkeypatch, _qualify)
    status, body = act("bob", "approve")
    assert (status, body["status"], body["qualified"]) == (200, "payable", True)
    stored = referral_of(aws, "bob")
    assert stored[c.STATUS] == c.STATUS_PAYABLE
    assert (c.PAYABLE_KEY in stored, c.FLAGGED_KEY in stored) == (True, False)


def _qualify() -> None:
    assert act("bob", "qualify")[1]["status"] == "flagged"  # the raced store runs no second race


def test_an_approval_between_a_reversals_read_and_write_is_reversed_from_where_it_went(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(aws, "flagged_qualified")

    def approve() -> None:
        assert act("bob", "approve")[1]["status"] == "payable"

    write_between_read_and_write(monkeypatch, approve)
    assert act("bob", "reverse")[1]["status"] == "reversed"
    stored = referral_of(aws, "bob")
    assert (stored[c.STATUS], c.APPROVED_AT in stored, c.PAYABLE_KEY in stored) == (c.STATUS_REVERSED, True, False)


def conflicting_store(monkeypatch: pytest.MonkeyPatch, conflicts: int, pauses: list[float]) -> None:
    """The admin handler's store meets a transaction holding the item `conflicts` times."""
    left = [conflicts]

    def no_pause(seconds: float) -> None:
        pauses.append(seconds)

    @dataclass(frozen=True)
    class ConflictingStore(DynamoAdminStore):
        pause: Callable[[float], None] = field(default=no_pause)

        def _update(self, change: Change) -> Written | Stale:
            if left[0]:
                left[0] -= 1
                raise ClientError({"Error": {"Code": "TransactionConflictException"}}, "UpdateItem")
            return super()._update(change)

    monkeypatch.setattr(admin, "DynamoAdminStore", ConflictingStore)


def test_a_transaction_conflict_is_waited_out(aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(aws, "waiting")
    pauses: list[float] = []
    conflicting_store(monkeypatch, CONFLICT_ATTEMPTS - 1, pauses)
    assert act("bob", "qualify")[1]["status"] == "payable"
    assert len(pauses) == CONFLICT_ATTEMPTS - 1


def test_a_conflict_that_outlasts_the_attempts_is_a_503_with_nothing_written(
    aws: FakeAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(aws, "waiting")
    before = all_items(aws)
    pauses: list[float] = []
    conflicting_store(monkeypatch, CONFLICT_ATTEMPTS, pauses)
    status, body = act("bob", "qualify")
    assert (status, body["error"]) == (503, BUSY)
    assert len(pauses) == CONFLICT_ATTEMPTS - 1
    assert all_items(aws) == before
