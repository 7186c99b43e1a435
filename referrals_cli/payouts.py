"""A month's payout: run it through the payout function, read its run record, fetch its report.

The function does the work and guarantees exactly-once (docs/design.md, Exactly-once payout).
Invoked with {"payoutMonth": "YYYY-MM"}, it answers `completed`, `already_completed` (the stored
summary) or `in_progress_elsewhere`, or raises PayoutIncomplete when its time ran low, having
released its lease. Either way the run carries on when invoked again once the lease has lapsed,
which is what `run_payout` does until the payout is complete.
"""

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from referrals_cli.deployed_code import InvokeFunction
from referrals_cli.errors import CliError
from referrals_cli.months import payout_id

FINISHED = ("completed", "already_completed")
HELD_ELSEWHERE = "in_progress_elsewhere"
INCOMPLETE_ERROR = "PayoutIncomplete"
MAX_INVOCATIONS = 20  # each one claims what it can in ~5 minutes; more means something is wrong
POLL_SECONDS = 5.0
LEASE_MARGIN_SECONDS = 1  # invoke a moment after the lease lapses: the function compares its own clock
PAYOUT_INDEX = "payout-index"  # rewards by payout_id (lambdas/referrals/contract.py)
REPORT_KEY = "payouts/{month}/payout-report.csv"


@dataclass(frozen=True)
class RunRecord:
    """The run record `payout-YYYY-MM` in the idempotency table."""

    payout_id: str
    status: str  # in_progress, completed (or a legacy failed)
    started_at: int | None  # epoch seconds
    completed_at: int | None
    cutoff_ms: int | None  # rewards created before this instant belong to the payout
    lease_owner: str | None
    lease_expires_at: int | None  # epoch seconds
    summary: dict[str, Any] | None  # payoutId, payoutMonth, totalReferrers, totalAmount, rewardsPaid, reportLocation

    @property
    def month(self) -> str:
        return self.payout_id.removeprefix("payout-")

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> "RunRecord":
        deserialize = TypeDeserializer().deserialize
        plain = {name: deserialize(value) for name, value in item.items()}

        def number(name: str) -> int | None:
            return None if plain.get(name) is None else int(plain[name])

        summary = plain.get("summary")
        return cls(
            payout_id=str(plain["idempotency_key"]),
            status=str(plain.get("status", "unknown")),
            started_at=number("started_at"),
            completed_at=number("completed_at"),
            cutoff_ms=number("cutoff_ms"),
            lease_owner=plain.get("lease_owner"),
            lease_expires_at=number("lease_expires_at"),
            summary=_summary(summary) if isinstance(summary, dict) else None,
        )


# The summary's amounts (the rest of its numbers are counts).
SUMMARY_AMOUNTS = frozenset({"totalAmount", "grossAmount", "clawedBackAmount", "carriedForwardAmount"})


def _summary(stored: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB gives every number back as a Decimal: the counts become ints, the amounts stay exact."""
    return {
        name: int(value) if isinstance(value, Decimal) and name not in SUMMARY_AMOUNTS else value
        for name, value in stored.items()
    }


def read_run(dynamodb: Any, table: str, month: str) -> RunRecord | None:
    item = dynamodb.get_item(
        TableName=table, Key={"idempotency_key": {"S": payout_id(month)}}, ConsistentRead=True
    ).get("Item")
    return None if item is None else RunRecord.from_item(item)


def latest_run(dynamodb: Any, table: str, months: list[str]) -> RunRecord | None:
    """The run record of the newest of `months` (newest first) that has one. One GetItem per month
    looked at, usually one: the table has no index by date, and GetItem is what the operators'
    role may call (stacks/policies.py, operator_statements)."""
    for month in months:
        record = read_run(dynamodb, table, month)
        if record is not None:
            return record
    return None


def claimed_count(dynamodb: Any, referral_table: str, month: str) -> int:
    """Rewards claimed so far by the month's payout (payout-index; eventually consistent). The
    clawbacks it settled are on that index too; their keys hold a '#', which no user id does."""
    count, start = 0, None
    while True:
        page = dynamodb.query(
            TableName=referral_table,
            IndexName=PAYOUT_INDEX,
            KeyConditionExpression="payout_id = :payout",
            FilterExpression="NOT contains(user_id, :ledger)",
            ExpressionAttributeValues={":payout": {"S": payout_id(month)}, ":ledger": {"S": "#"}},
            Select="COUNT",
            **({"ExclusiveStartKey": start} if start else {}),
        )
        count += int(page["Count"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return count


@dataclass(frozen=True)
class PayoutWatch:
    """What run_payout reads and how it waits between invocations."""

    read_record: Callable[[], RunRecord | None]
    claimed: Callable[[], int]
    say: Callable[[str], None]  # a line of progress
    waiting: Callable[[str], None]  # the current wait, replaced by the next (a spinner's text)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class PayoutResult:
    answer: dict[str, Any]  # the function's last answer: status completed or already_completed
    invocations: int


def run_payout(month: str, function: str, invoke: InvokeFunction, watch: PayoutWatch) -> PayoutResult:
    """Invokes the payout function until the month's payout is complete."""
    event = {"payoutMonth": month}
    for invocation in range(1, MAX_INVOCATIONS + 1):
        watch.say(f"invocation {invocation}: {function} with {json.dumps(event)}")
        answer = invoke(function, event)
        if answer.error is None and isinstance(answer.payload, dict):
            status = answer.payload.get("status")
            if status in FINISHED:
                return PayoutResult(answer.payload, invocation)
            if status == HELD_ELSEWHERE:
                watch.say("another invocation holds the payout's lease: waiting for it to finish or lapse")
                wait_for_lease(watch)
                continue
        if answer.error is not None and answer.error_type == INCOMPLETE_ERROR:
            watch.say(f"time ran low, stopped cleanly ({answer.error_message}); resuming")
            wait_for_lease(watch)
            continue
        raise CliError(f"{function} failed: {_failure(answer.payload, answer.error)}")
    raise CliError(
        f"{payout_id(month)} is still incomplete after {MAX_INVOCATIONS} invocations; "
        f"run `referrals payout run --month {month}` again to carry on"
    )


def wait_for_lease(watch: PayoutWatch) -> None:
    """Until the run is completed or its lease has lapsed, showing how far it got."""
    while True:
        record = watch.read_record()
        if record is None or record.status == "completed" or record.lease_expires_at is None:
            return
        left = record.lease_expires_at + LEASE_MARGIN_SECONDS - watch.clock()
        if left <= 0:
            return
        watch.waiting(f"{watch.claimed()} rewards claimed so far; the lease lapses in {left:.0f} s")
        watch.sleep(min(POLL_SECONDS, left))


def _failure(payload: Any, error: str | None) -> str:
    if isinstance(payload, dict) and "errorType" in payload:
        return f"{payload['errorType']}: {payload.get('errorMessage', '')}".strip()
    return f"{error or 'unexpected answer'}: {payload!r}"[:500]


# The report ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    location: str  # s3://bucket/key
    body: bytes

    def rows(self) -> list[list[str]]:
        """The CSV's rows, header first."""
        return list(csv.reader(io.StringIO(self.body.decode("utf-8"))))

    def total(self) -> Decimal:
        return sum((Decimal(row[1]) for row in self.rows()[1:]), Decimal(0))


def download_report(s3: Any, bucket: str, month: str) -> Report:
    key = REPORT_KEY.format(month=month)
    location = f"s3://{bucket}/{key}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise CliError(
                f"no report at {location}: the payout of {month} has not completed "
                f"(see `referrals payout show --month {month}`)"
            ) from error
        raise
    return Report(location, body)
