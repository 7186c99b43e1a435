from decimal import Decimal

from referrals import exact_json
from referrals.payout_summary import (
    PayoutOutcome,
    PayoutStatus,
    PayoutSummary,
    completed_message,
    response,
    summary_from_record,
    summary_record,
)

SUMMARY = PayoutSummary(
    payout_id="payout-2026-11",
    month="2026-11",
    total_referrers=3,
    total_amount=Decimal("1234.50"),
    rewards_paid=9,
    report_location="s3://reports/payouts/2026-11/payout-report.csv",
    clawed_back_amount=Decimal("65.50"),
    carried_forward_amount=Decimal("4.25"),
    clawbacks_settled=2,
)


def test_the_notification_is_exact_json() -> None:
    assert exact_json.dumps(completed_message(SUMMARY)) == (
        '{"type":"payout.completed","payoutId":"payout-2026-11","payoutMonth":"2026-11",'
        '"totalReferrers":3,"totalAmount":1234.50,'
        '"reportLocation":"s3://reports/payouts/2026-11/payout-report.csv",'
        '"grossAmount":1300.00,"clawedBackAmount":65.50,"carriedForwardAmount":4.25,"clawbacksSettled":2}'
    )


def test_the_stored_summary_holds_every_field_of_the_notification_and_reads_back() -> None:
    record = summary_record(SUMMARY)
    assert set(completed_message(SUMMARY)) - {"type"} <= set(record)
    assert summary_from_record(record) == SUMMARY
    # DynamoDB drops trailing zeros: the summary read back still has two places.
    assert summary_from_record(record | {"totalAmount": Decimal("1234.5")}).total_amount.as_tuple().exponent == -2
    clawed_back = summary_from_record(record | {"clawedBackAmount": Decimal("65.5")}).clawed_back_amount
    assert clawed_back.as_tuple().exponent == -2


def test_a_summary_stored_before_the_lifecycle_reads_as_netting_nothing() -> None:
    record = {
        name: value
        for name, value in summary_record(SUMMARY).items()
        if name not in ("grossAmount", "clawedBackAmount", "carriedForwardAmount", "clawbacksSettled")
    }
    old = summary_from_record(record)
    assert (old.clawed_back_amount, old.carried_forward_amount, old.clawbacks_settled) == (Decimal("0.00"), 0, 0)
    assert old.gross_amount == old.total_amount == Decimal("1234.50")


def test_the_response_carries_the_amount_as_a_two_place_string() -> None:
    outcome = PayoutOutcome(PayoutStatus.COMPLETED, "payout-2026-11", "2026-11", SUMMARY)
    assert response(outcome) == {
        "message": "Payout payout-2026-11 completed",
        "totalReferrers": 3,
        "totalAmount": "1234.50",
        "reportLocation": "s3://reports/payouts/2026-11/payout-report.csv",
        "rewardsPaid": 9,
        "grossAmount": "1300.00",
        "clawedBackAmount": "65.50",
        "carriedForwardAmount": "4.25",
        "clawbacksSettled": 2,
        "payoutId": "payout-2026-11",
        "payoutMonth": "2026-11",
        "status": "completed",
    }


def test_a_run_elsewhere_reports_no_totals() -> None:
    outcome = PayoutOutcome(PayoutStatus.IN_PROGRESS_ELSEWHERE, "payout-2026-11", "2026-11")
    assert response(outcome) == {
        "message": "Payout payout-2026-11 is in progress in another invocation; nothing was paid here",
        "payoutId": "payout-2026-11",
        "payoutMonth": "2026-11",
        "status": "in_progress_elsewhere",
    }
