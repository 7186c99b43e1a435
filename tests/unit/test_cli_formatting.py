"""What `referrals` prints: Rich tables for people, JSON with exact two-place amounts for scripts."""

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from referrals_cli import formatting
from referrals_cli.payouts import PayoutResult, Report, RunRecord
from referrals_cli.referrers import Referral
from referrals_cli.status import Alarm, QueueDepth, Status

REPORT_CSV = (
    b'Referrer ID,Total Amount,Referral Count,Payment Status\r\n"acme, ""the"" best",1.00,1,paid\r\n'
    b"ref-a,0.30,2,paid\r\nref-b,35.10,2,paid\r\n"
)
SUMMARY = {
    "payoutId": "payout-2026-11",
    "payoutMonth": "2026-11",
    "totalReferrers": 3,
    "totalAmount": Decimal("36.4"),  # DynamoDB drops the trailing zero
    "rewardsPaid": 5,
    "reportLocation": "s3://payout-reports-dev-x/payouts/2026-11/payout-report.csv",
}
RECORD = RunRecord("payout-2026-11", "completed", 1796090400, 1796090405, 1796090400000, None, None, SUMMARY)


def rendered(draw: object, *args: object) -> str:
    out = Console(file=io.StringIO(), width=120, color_system=None)
    draw(out, *args)  # type: ignore[operator]
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def test_amounts_keep_two_places_whatever_their_type() -> None:
    assert [formatting.money(v) for v in (Decimal("36.4"), 10, "0.3", Decimal("1E+1"))] == [
        "36.40",
        "10.00",
        "0.30",
        "10.00",
    ]


def test_the_report_is_a_table_of_its_csv_rows_quoted_fields_included() -> None:
    report = Report(SUMMARY["reportLocation"], REPORT_CSV)  # type: ignore[arg-type]
    text = rendered(formatting.render_report, report)

    assert 'acme, "the" best' in text
    assert "│ ref-b            │        35.10 │              2 │ paid           │" in text
    assert "3 referrers, 36.40 in all; s3://payout-reports-dev-x/payouts/2026-11/payout-report.csv" in text
    assert formatting.report_json(report) == {
        "reportLocation": SUMMARY["reportLocation"],
        "rows": [
            {
                "Referrer ID": 'acme, "the" best',
                "Total Amount": "1.00",
                "Referral Count": "1",
                "Payment Status": "paid",
            },
            {"Referrer ID": "ref-a", "Total Amount": "0.30", "Referral Count": "2", "Payment Status": "paid"},
            {"Referrer ID": "ref-b", "Total Amount": "35.10", "Referral Count": "2", "Payment Status": "paid"},
        ],
        "totalAmount": "36.40",
    }


def test_a_header_only_report_has_no_rows() -> None:
    report = Report("s3://b/k", b"Referrer ID,Total Amount,Referral Count,Payment Status\r\n")
    assert formatting.report_json(report)["rows"] == []
    assert "0 referrers, 0.00 in all" in rendered(formatting.render_report, report)


def test_a_run_record_in_json_has_iso_times_and_the_summary_with_exact_amounts() -> None:
    assert formatting.run_record_json(RECORD) == {
        "payoutId": "payout-2026-11",
        "payoutMonth": "2026-11",
        "status": "completed",
        "startedAt": "2026-12-01T02:00:00Z",
        "completedAt": "2026-12-01T02:00:05Z",
        "cutoff": "2026-12-01T02:00:00Z",
        "leaseOwner": None,
        "leaseExpiresAt": None,
        "summary": {**SUMMARY, "totalAmount": "36.40"},
    }


def test_a_stored_run_record_reads_back_with_int_counts_and_an_exact_amount() -> None:
    """As the payout writes it (lambdas/referrals/payout_store.py): numbers are DynamoDB's N."""
    item = {
        "idempotency_key": {"S": "payout-2026-11"},
        "status": {"S": "completed"},
        "started_at": {"N": "1796090400"},
        "completed_at": {"N": "1796090405"},
        "cutoff_ms": {"N": "1796090400000"},
        "summary": {
            "M": {
                "payoutId": {"S": "payout-2026-11"},
                "payoutMonth": {"S": "2026-11"},
                "totalReferrers": {"N": "3"},
                "totalAmount": {"N": "36.4"},
                "rewardsPaid": {"N": "5"},
                "reportLocation": {"S": SUMMARY["reportLocation"]},
            }
        },
    }

    record = RunRecord.from_item(item)

    assert record == RECORD
    assert formatting.run_record_json(record)["summary"] == {
        **SUMMARY,
        "totalReferrers": 3,
        "rewardsPaid": 5,
        "totalAmount": "36.40",
    }


def test_a_run_in_progress_shows_its_lease_and_what_it_claimed_so_far() -> None:
    running = RunRecord("payout-2026-11", "in_progress", 1796090400, None, 1796090400000, "req-1/ab", 1796090730, None)
    text = rendered(formatting.render_run_record, running, "Payout run", 250)

    assert "lease owner     req-1/ab" in text
    assert "lease expires   2026-12-01 02:05:30 UTC" in text
    assert "claimed so far  250" in text
    assert "completed" not in text
    assert formatting.run_record_json(running, 250)["rewardsClaimedSoFar"] == 250


def test_status_lists_alarms_queues_and_the_last_run() -> None:
    since = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    status = Status(
        outputs={"payout-lambda-name": "payout-processing-dev"},
        region="eu-west-1",
        alarms=[Alarm("payout-deadline-missed-dev", "Threshold Crossed: 1 datapoint", since)],
        queues=[QueueDepth("relay-dlq-url", "https://sqs/q", "stream batches", 2, 1)],
        last_run=RECORD,
    )
    text = rendered(formatting.render_status, status)

    assert "Deployment (eu-west-1)" in text
    assert "payout-deadline-missed-dev │ 2026-12-01 03:00:00 UTC │ Threshold Crossed" in text
    assert "│ relay-dlq-url │        2 │         1 │ stream batches" in text
    assert "total amount  36.40" in text
    document = formatting.status_json(status)
    assert document["alarmsInAlarm"] == [
        {
            "name": "payout-deadline-missed-dev",
            "reason": "Threshold Crossed: 1 datapoint",
            "since": "2026-12-01T03:00:00Z",
        }
    ]
    assert document["deadLetterQueues"][0]["approximateMessagesInFlight"] == 1
    json.dumps(document)  # plain JSON throughout


def test_status_with_nothing_wrong_says_so() -> None:
    calm = Status({}, "eu-west-1", [], [], None)
    text = rendered(formatting.render_status, calm)
    assert "Alarms in ALARM: none" in text
    assert "Last payout run: none in the last 12 months" in text


def test_a_referrer_in_json_has_string_amounts_and_the_latest_referrals() -> None:
    stats = {
        "referralCode": "alice",
        "referralCount": 1,
        "totalRewards": Decimal(10),
        "pendingAmount": Decimal("10.00"),
        "paidAmount": 0,
    }
    referral = Referral("bob", 1796090400123, "2026-12-01T02:00:00.123Z", Decimal("10"), "pending", None)

    assert formatting.referrer_json(stats, [referral]) == {
        "referralCode": "alice",
        "referralCount": 1,
        "totalRewards": "10.00",
        "pendingAmount": "10.00",
        "paidAmount": "0.00",
        "recentReferrals": [
            {
                "userId": "bob",
                "referralTimestamp": 1796090400123,
                "signupDate": "2026-12-01T02:00:00.123Z",
                "rewardAmount": "10.00",
                "status": "pending",
                "payoutId": None,
            }
        ],
    }
    assert "│ bob  │ 2026-12-01 02:00:00 │  10.00 │ pending │ -" in rendered(
        formatting.render_referrer, stats, [referral]
    )


def test_a_payout_result_keeps_the_functions_answer_and_counts_the_invocations() -> None:
    answer = {"message": "Payout payout-2026-11 completed", "status": "completed", **SUMMARY, "totalAmount": "36.40"}
    result = PayoutResult(answer, invocations=2)

    assert formatting.payout_result_json(result) == {**answer, "invocations": 2}
    text = rendered(formatting.render_payout_result, result)
    assert text.startswith("Payout payout-2026-11 completed")
    assert "invocations   2" in text


def test_the_lifecycle_amounts_are_shown_when_the_api_has_them() -> None:
    stats = {
        "referralCode": "alice",
        "referralCount": 4,
        "totalRewards": Decimal("40"),
        "pendingAmount": Decimal("20"),
        "paidAmount": Decimal("10"),
        "waitingAmount": Decimal("5"),
        "flaggedAmount": Decimal("10"),
        "payableAmount": Decimal("5"),
        "reversedAmount": Decimal("10"),
        "openClawbackAmount": Decimal("2.5"),
    }
    held = Referral("dave", 1796090400123, "2026-12-01T02:00:00.123Z", Decimal("5"), "payable", None, 1796695200000)
    clawed = Referral("bob", 1796090400000, "2026-12-01T02:00:00.000Z", Decimal("10"), "clawed_back", "payout-2026-11")

    document = formatting.referrer_json(stats, [held, clawed])
    text = rendered(formatting.render_referrer, stats, [held, clawed])

    assert {name: document[name] for name in ("waitingAmount", "reversedAmount", "openClawbackAmount")} == {
        "waitingAmount": "5.00",
        "reversedAmount": "10.00",
        "openClawbackAmount": "2.50",
    }
    assert document["recentReferrals"][0]["payableAt"] == "2026-12-08T02:00:00.000Z"
    assert "payableAt" not in document["recentReferrals"][1]
    for line in ("waiting         5.00", "flagged         10.00", "reversed        10.00", "clawbacks open  2.50"):
        assert line in text
    assert "│ clawed_back │ payout-2026-11 │" in text


def test_without_the_lifecycle_amounts_the_referrer_shows_the_three_of_before() -> None:
    stats = {"referralCode": "alice", "referralCount": 0, "totalRewards": 0, "pendingAmount": 0, "paidAmount": 0}
    text = rendered(formatting.render_referrer, stats, [])
    assert "waiting" not in text
    assert "clawbacks" not in text


def test_a_netted_run_keeps_every_amount_exact_and_shows_the_netting() -> None:
    """A payout since the lifecycle stores its netting: amounts stay exact, clawbacksSettled a count."""
    netting = {"grossAmount": {"N": "40.4"}, "clawedBackAmount": {"N": "4"}, "carriedForwardAmount": {"N": "0.5"}}
    item = {
        "idempotency_key": {"S": "payout-2026-12"},
        "status": {"S": "completed"},
        "summary": {"M": {"totalAmount": {"N": "36.4"}, "clawbacksSettled": {"N": "2"}, **netting}},
    }
    record = RunRecord.from_item(item)

    assert formatting.run_record_json(record)["summary"] == {
        "totalAmount": "36.40",
        "grossAmount": "40.40",
        "clawedBackAmount": "4.00",
        "carriedForwardAmount": "0.50",
        "clawbacksSettled": 2,
    }
    text = rendered(formatting.render_run_record, record, "Payout run", None)
    netting_lines = ("gross amount       40.40", "clawed back        4.00", "carried forward    0.50")
    for line in (*netting_lines, "clawbacks settled  2"):
        assert line in text
