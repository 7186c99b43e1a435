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
)


def test_the_notification_is_exact_json() -> None:
    assert exact_json.dumps(completed_message(SUMMARY)) == (
        '{"type":"payout.completed","payoutId":"payout-2026-11","payoutMonth":"2026-11",'
        '"totalReferrers":3,"totalAmount":1234.50,'
        '"reportLocation":"s3://reports/payouts/2026-11/payout-report.csv"}'
    )


def test_the_stored_summary_holds_every_field_of_the_notification_and_reads_back() -> None:
    record = summary_record(SUMMARY)
    assert set(completed_message(SUMMARY)) - {"type"} <= set(record)
    assert summary_from_record(record) == SUMMARY
    # DynamoDB drops trailing zeros: the summary read back still has two places.
    assert summary_from_record(record | {"totalAmount": Decimal("1234.5")}).total_amount.as_tuple().exponent == -2


def test_the_response_carries_the_amount_as_a_two_place_string() -> None:
    outcome = PayoutOutcome(PayoutStatus.COMPLETED, "payout-2026-11", "2026-11", SUMMARY)
    assert response(outcome) == {
        "message": "Payout payout-2026-11 completed",
        "totalReferrers": 3,
        "totalAmount": "1234.50",
        "reportLocation": "s3://reports/payouts/2026-11/payout-report.csv",
        "rewardsPaid": 9,
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
