"""The payout handler against moto: what a payout pays, reports, returns and records (its
completion is the notification, which the stream relay publishes)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest

from referrals import contract as c
from referrals.payout_event import InvalidPayoutEvent
from tests.lambdas.aws_calls import recorded_calls, transaction_tokens
from tests.lambdas.fake_aws import REGION
from tests.lambdas.relay_api import relay_for
from tests.lambdas.test_payout_support import (
    FakeContext,
    SeededReward,
    all_items,
    completed_messages,
    expected_totals,
    paid_totals,
    referral_state,
    report_bytes,
    run_record,
    seed,
)

# The handler runs on the real clock: pay a month that has long ended.
MONTH = "2025-06"
EVENT = {"payoutMonth": MONTH}
JUNE_MS = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp()) * 1000
JULY_MS = int(datetime(2025, 7, 1, tzinfo=UTC).timestamp()) * 1000

JUNE_REWARDS = [
    SeededReward("new-a", JUNE_MS + 1, "ref-b", Decimal("10.10")),
    SeededReward("new-b", JUNE_MS + 2, "ref-a", Decimal("0.10")),
    SeededReward("new-c", JUNE_MS + 3, "ref-a", Decimal("0.20")),
    SeededReward("new-d", JULY_MS - 1, "ref-b", Decimal("25")),
]
JULY_REWARD = SeededReward("new-e", JULY_MS, "ref-a", Decimal("5.00"))  # after the cutoff
MAY_PAID = SeededReward("old-a", JUNE_MS - 10, "ref-a", Decimal("7.00"))


@pytest.fixture
def handler(aws):
    # Imported once the function environment is set: Powertools reads its namespace at import,
    # as it does in Lambda, where the environment exists before the module loads.
    from payout_processor.handler import handler

    return handler


def seed_june(aws) -> None:
    seed(
        aws.referral_table,
        payable=[*JUNE_REWARDS, JULY_REWARD],
        paid=[MAY_PAID],
        paid_payout_id="payout-2025-05",
        profiles=["ref-a", "ref-b"],
    )


def test_pays_the_month_reports_it_and_returns_the_summary(aws, handler):
    seed_june(aws)

    result = handler(EVENT, FakeContext())

    assert result == {
        "message": "Payout payout-2025-06 completed",
        "payoutId": "payout-2025-06",
        "payoutMonth": MONTH,
        "status": "completed",
        "totalReferrers": 2,
        "totalAmount": "35.40",
        "rewardsPaid": 4,
        "grossAmount": "35.40",
        "clawedBackAmount": "0.00",
        "carriedForwardAmount": "0.00",
        "clawbacksSettled": 0,
        "reportLocation": f"s3://{aws.bucket}/payouts/2025-06/payout-report.csv",
    }
    assert report_bytes(aws.bucket, MONTH) == (
        b"Referrer ID,Total Amount,Referral Count,Payment Status,Gross Amount,Clawed Back,Carried Forward\r\n"
        b"ref-a,0.30,2,paid,0.30,0.00,0.00\r\nref-b,35.10,2,paid,35.10,0.00,0.00\r\n"
    )
    state = referral_state(all_items(aws.referral_table))
    for reward in JUNE_REWARDS:
        assert state[reward.key] == {"status": "paid", "payout_id": "payout-2025-06", "pending_key": False}
    assert state[JULY_REWARD.key] == {"status": "payable", "payout_id": None, "pending_key": True}
    assert state[MAY_PAID.key] == {"status": "paid", "payout_id": "payout-2025-05", "pending_key": False}
    assert paid_totals(all_items(aws.referral_table)) == {
        "ref-a": (Decimal("0.30"), ["payout-2025-06"]),
        "ref-b": (Decimal("35.10"), ["payout-2025-06"]),
    }
    assert expected_totals(JUNE_REWARDS) == {"ref-a": Decimal("0.30"), "ref-b": Decimal("35.10")}


def test_report_object_is_csv_with_the_bucket_encryption(aws, handler):
    seed_june(aws)
    handler(EVENT, FakeContext())

    head = boto3.client("s3", region_name=REGION).head_object(
        Bucket=aws.bucket, Key="payouts/2025-06/payout-report.csv"
    )
    assert head["ContentType"] == "text/csv"
    assert head["ServerSideEncryption"] == "AES256"


def test_report_uses_the_kms_key_when_one_is_configured(aws, handler, monkeypatch):
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("REPORTS_KMS_KEY_ARN", key_arn)
    seed_june(aws)
    handler(EVENT, FakeContext())

    head = boto3.client("s3", region_name=REGION).head_object(
        Bucket=aws.bucket, Key="payouts/2025-06/payout-report.csv"
    )
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn


def test_its_completion_is_one_exact_json_notification(aws, handler):
    seed_june(aws)
    with recorded_calls() as log:
        handler(EVENT, FakeContext())
    assert not [call for call in log.calls if call.startswith("sns:")]  # the payout publishes nothing itself

    [message] = relay_for(aws, aws.idempotency_table).messages()
    assert message.text == (
        '{"type":"payout.completed","payoutId":"payout-2025-06","payoutMonth":"2025-06",'
        '"totalReferrers":2,"totalAmount":35.40,'
        f'"reportLocation":"s3://{aws.bucket}/payouts/2025-06/payout-report.csv",'
        '"grossAmount":35.40,"clawedBackAmount":0.00,"carriedForwardAmount":0.00,"clawbacksSettled":0,'
        '"eventId":"payout.completed:payout-2025-06"}'
    )
    assert json.loads(message.text, parse_float=Decimal)["totalAmount"] == Decimal("35.40")
    assert (message.event_type, message.attribute_type) == ("payout.completed", "String")


def test_the_payout_needs_no_topic(aws, handler, monkeypatch):
    monkeypatch.delenv("SNS_TOPIC_ARN")
    seed_june(aws)
    assert handler(EVENT, FakeContext())["status"] == "completed"


def test_records_the_completed_run_with_its_summary(aws, handler):
    seed_june(aws)
    handler(EVENT, FakeContext(aws_request_id="request-42"))

    record = run_record(aws.idempotency_table, "payout-2025-06")
    assert record is not None
    assert record["status"] == {"S": "completed"}
    assert record["cutoff_ms"] == {"N": str(JULY_MS)}
    assert record["completed_by"]["S"].startswith("request-42/")  # request id / invocation token
    assert "lease_owner" not in record
    assert "lease_expires_at" not in record
    assert int(record[c.TTL]["N"]) > datetime.now(UTC).timestamp() + 700 * 86_400
    assert Decimal(record["summary"]["M"]["totalAmount"]["N"]) == Decimal("35.40")


def test_an_empty_month_completes_with_a_header_only_report(aws, handler):
    seed(aws.referral_table, payable=[JULY_REWARD], paid=[MAY_PAID], profiles=["ref-a"])

    result = handler(EVENT, FakeContext())

    assert result["status"] == "completed"
    assert (result["totalReferrers"], result["totalAmount"], result["rewardsPaid"]) == (0, "0.00", 0)
    assert report_bytes(aws.bucket, MONTH) == (
        b"Referrer ID,Total Amount,Referral Count,Payment Status,Gross Amount,Clawed Back,Carried Forward\r\n"
    )
    record = run_record(aws.idempotency_table, "payout-2025-06")
    assert record is not None
    assert record["status"] == {"S": "completed"}
    [message] = completed_messages(aws, aws.idempotency_table)
    assert '"totalReferrers":0,"totalAmount":0.00' in message


def test_a_completed_month_returns_its_stored_summary_and_writes_nothing(aws, handler):
    seed_june(aws)
    first = handler(EVENT, FakeContext(aws_request_id="first"))
    runs = relay_for(aws, aws.idempotency_table)
    assert len(runs.messages()) == 1
    record_before = run_record(aws.idempotency_table, "payout-2025-06")
    # A reward that appeared since must wait: the month's payout is done.
    late = SeededReward("new-late", JUNE_MS + 99, "ref-a", Decimal("1.00"))
    seed(aws.referral_table, payable=[late])

    with recorded_calls() as log:
        second = handler(EVENT, FakeContext(aws_request_id="second"))

    # One conditional UpdateItem, refused: it carries the stored record back and changes nothing.
    assert log.calls == ["dynamodb:UpdateItem"]
    assert second == first | {
        "status": "already_completed",
        "message": "Payout payout-2025-06 was already completed; returning its stored summary",
    }
    assert run_record(aws.idempotency_table, "payout-2025-06") == record_before
    assert referral_state(all_items(aws.referral_table))[late.key]["status"] == "payable"
    assert runs.messages() == []


# The parser's cases are in tests/unit/test_payout_event.py; these prove the handler stops first.
@pytest.mark.filterwarnings("ignore:No application metrics")  # nothing to count for a refused event
@pytest.mark.parametrize("event", [{"payoutMonth": "2025-13"}, {"source": "aws.scheduler", "scheduledTime": "x"}])
def test_an_invalid_event_raises_and_makes_no_aws_call(aws, handler, event):
    with recorded_calls() as log, pytest.raises(InvalidPayoutEvent):
        handler(event, FakeContext())
    assert log.calls == []
    assert run_record(aws.idempotency_table, "payout-2025-06") is None


def test_the_scheduler_event_pays_the_month_before_its_scheduled_time(aws, handler):
    seed_june(aws)
    event = {"source": "aws.scheduler", "scheduledTime": "2025-07-01T02:00:00Z", "executionId": "x"}

    result = handler(event, FakeContext())

    assert (result["payoutId"], result["totalAmount"]) == ("payout-2025-06", "40.40")
    record = run_record(aws.idempotency_table, "payout-2025-06")
    assert record is not None
    assert record["cutoff_ms"] == {"N": str(JULY_MS + 2 * 3_600_000)}
    # JULY_REWARD was created before the scheduled time, so this run pays it.
    assert referral_state(all_items(aws.referral_table))[JULY_REWARD.key]["payout_id"] == "payout-2025-06"


def test_emits_payout_metrics(aws, handler, capsys):
    seed_june(aws)
    capsys.readouterr()
    handler(EVENT, FakeContext())

    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metrics] = [line for line in emf if "PayoutsCompleted" in line]
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ReferralProgram"
    assert metrics["service"] == "payout-processor"
    assert (metrics["PayoutsCompleted"], metrics["RewardsPaid"], metrics["PayoutAmount"]) == ([1.0], [4.0], [35.4])


def test_every_transaction_carries_its_own_idempotency_token(aws, handler):
    """botocore retries a request whose answer was lost; the token makes DynamoDB answer that retry
    with success instead of refusing every claim as already claimed (and leaving it out of the run)."""
    seed_june(aws)
    with transaction_tokens() as tokens:
        handler(EVENT, FakeContext())
    assert len(tokens) >= 2  # the claims and the profile credits
    assert None not in tokens
    assert len(set(tokens)) == len(tokens)
