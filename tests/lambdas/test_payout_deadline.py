"""The deadline schedule (03:00 UTC on the 1st) asks the payout function whether the month is paid.

It reads the run record and emits PayoutDeadlineMissed (the alarm's metric); it never pays.
"""

import json
from decimal import Decimal

import pytest

from tests.lambdas.aws_calls import recorded_calls
from tests.lambdas.test_payout_support import FakeContext, SeededReward, all_items, run_record, seed

DEADLINE_EVENT = {
    "source": "aws.scheduler",
    "scheduledTime": "2025-07-01T03:00:00Z",
    "executionId": "deadline-1",
    "check": "completed",
}
PAYOUT_EVENT = {"payoutMonth": "2025-06"}
JUNE_REWARD = SeededReward("new-a", 1_749_000_000_000, "ref-a", Decimal("10"))  # 2025-06-04


@pytest.fixture
def handler(aws):
    from payout_processor.handler import handler

    return handler


def _deadline_metric(output: str) -> float:
    emf = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    [metric] = [line for line in emf if "PayoutDeadlineMissed" in line]
    return metric["PayoutDeadlineMissed"][0]


def test_a_month_that_was_never_paid_misses_its_deadline_and_nothing_is_paid(aws, handler, capsys):
    seed(aws.referral_table, [JUNE_REWARD], paid=[])
    before = all_items(aws.referral_table)
    capsys.readouterr()
    with recorded_calls() as log:
        result = handler(DEADLINE_EVENT, FakeContext())
    assert result == {"payoutId": "payout-2025-06", "status": "not_started", "deadlineMissed": True}
    assert _deadline_metric(capsys.readouterr().out) == 1.0
    assert log.calls == ["dynamodb:GetItem"]
    assert all_items(aws.referral_table) == before
    assert run_record(aws.idempotency_table, "payout-2025-06") is None


def test_a_completed_month_meets_its_deadline(aws, handler, capsys):
    seed(aws.referral_table, [JUNE_REWARD], paid=[])
    handler(PAYOUT_EVENT, FakeContext())
    capsys.readouterr()
    result = handler(DEADLINE_EVENT, FakeContext())
    assert result == {"payoutId": "payout-2025-06", "status": "completed", "deadlineMissed": False}
    assert _deadline_metric(capsys.readouterr().out) == 0.0
