"""Shared helpers of the payout tests (seeding, a controllable clock, a fake Lambda context).

Named test_payout_* so it sits with the payout tests; it holds no tests itself.
"""

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest

from referrals import contract as c
from referrals.aws_clients import client
from referrals.payout_event import PayoutRequest, parse_payout_event
from referrals.payout_run import Invocation, LedgerItem, Reward
from referrals.payout_store import DynamoPayoutStore, PayoutResources
from tests.lambdas.fake_aws import REGION, FakeAws, _create_idempotency_table, _create_referral_table
from tests.lambdas.relay_api import relay_for

# The November 2026 payout, as the schedule starts it: 02:00 UTC on 1 December.
SCHEDULED_TIME = "2026-12-01T02:00:00Z"
SCHEDULED_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SCHEDULER_EVENT = {"source": "aws.scheduler", "scheduledTime": SCHEDULED_TIME, "executionId": "exec-1"}
PAYOUT_ID = "payout-2026-11"
CUTOFF_MS = int(SCHEDULED_AT.timestamp()) * 1000
NOVEMBER_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 1000
TIMEOUT_MS = 300_000


@dataclass(frozen=True)
class SeededReward:
    user_id: str
    timestamp_ms: int
    referrer_id: str
    amount: Decimal
    payable_at_ms: int | None = None  # a payable reward's payable_at; None: its signup time (no hold)

    @property
    def key(self) -> tuple[str, int]:
        return (self.user_id, self.timestamp_ms)


@dataclass(frozen=True)
class SeededClawback:
    """A clawback (`<referee>#clawback`, the reward's time) or a carry (`<referrer>#carry`, a cutoff)."""

    user_id: str
    timestamp_ms: int
    referrer_id: str
    amount: Decimal
    clawback_at_ms: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.user_id, self.timestamp_ms)


def clawback_of(reward: SeededReward, clawback_at_ms: int, amount: Decimal | None = None) -> SeededClawback:
    """The clawback that reversing the paid `reward` records (admin_store's shape)."""
    amount = reward.amount if amount is None else amount
    user_id = f"{reward.user_id}{c.CLAWBACK_SUFFIX}"
    return SeededClawback(user_id, reward.timestamp_ms, reward.referrer_id, amount, clawback_at_ms)


class FakeClock:
    """Epoch seconds that move only when a test moves them."""

    def __init__(self, start: datetime = SCHEDULED_AT) -> None:
        self.now = start.timestamp() + 5

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeContext:
    """The part of Lambda's context the payout uses; remaining time can be made to run out."""

    aws_request_id: str = "request-1"
    remaining_ms: int = TIMEOUT_MS
    low_after_checks: int | None = None  # after this many reads, report almost no time left
    checks: int = 0
    function_name: str = "payout-processing-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:payout-processing-test"

    def get_remaining_time_in_millis(self) -> int:
        self.checks += 1
        if self.low_after_checks is not None and self.checks > self.low_after_checks:
            return 1_000
        return self.remaining_ms


def invocation(clock: FakeClock, context: FakeContext | None = None) -> Invocation:
    context = context or FakeContext()
    return Invocation(request_id=context.aws_request_id, remaining_ms=context.get_remaining_time_in_millis, clock=clock)


def november_request(clock: FakeClock) -> PayoutRequest:
    return parse_payout_event(SCHEDULER_EVENT, datetime.fromtimestamp(clock(), UTC))


def resources(aws: FakeAws) -> PayoutResources:
    return PayoutResources(
        referral_table=aws.referral_table,
        idempotency_table=aws.idempotency_table,
        reports_bucket=aws.bucket,
    )


def fresh_resources(aws: FakeAws, suffix: str, monkeypatch: pytest.MonkeyPatch) -> PayoutResources:
    """New, empty tables (with their streams) in the same emulator; the bucket (report removed) is shared.

    The function environment names the new tables too, as the stack would.
    """
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    names = PayoutResources(
        referral_table=f"{aws.referral_table}-{suffix}",
        idempotency_table=f"{aws.idempotency_table}-{suffix}",
        reports_bucket=aws.bucket,
    )
    _create_referral_table(dynamodb, names.referral_table)
    _create_idempotency_table(dynamodb, names.idempotency_table)
    monkeypatch.setenv("REFERRAL_TABLE_NAME", names.referral_table)
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", names.idempotency_table)
    s3 = boto3.client("s3", region_name=REGION)
    for listed in s3.list_objects_v2(Bucket=aws.bucket).get("Contents", []):
        s3.delete_object(Bucket=aws.bucket, Key=listed["Key"])
    return names


@pytest.fixture
def fast_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speeds up moto's TransactWriteItems without changing what it does.

    moto snapshots the whole table once per operation of a transaction, before applying any of
    them (its rollback state): 100 identical deep copies for a 100-update claim, about 2 s per
    call on these machines. Taking each table's snapshot once gives the same rollback state.
    """
    from moto.dynamodb import models

    transact_write_items = models.DynamoDBBackend.transact_write_items
    deepcopy = copy.deepcopy

    def snapshot_tables_once(backend: object, transact_items: list) -> None:
        snapshots: dict[int, object] = {}

        def copy_once(value: object, memo: dict | None = None) -> object:
            if not isinstance(value, models.Table):
                return deepcopy(value, memo)
            if id(value) not in snapshots:
                snapshots[id(value)] = deepcopy(value, memo)
            return snapshots[id(value)]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(models.copy, "deepcopy", copy_once)
            transact_write_items(backend, transact_items)  # type: ignore[arg-type]

    monkeypatch.setattr(models.DynamoDBBackend, "transact_write_items", snapshot_tables_once)


Claims = list[tuple[str, int]]  # keys of the rewards that claim calls reported as claimed


class RecordingStore(DynamoPayoutStore):
    """The real store (backoff without sleeping), remembering what its claim calls claimed and
    (when given a list) what its settle calls settled."""

    def __init__(
        self, names: PayoutResources, claimed: Claims, page_size: int | None = None, settled: Claims | None = None
    ) -> None:
        super().__init__(names, page_size=page_size, sleep=lambda _: None)
        self.claimed = claimed
        self.settled = Claims() if settled is None else settled

    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
        done = super().claim(rewards, payout_id, paid_at_ms)
        self.claimed.extend((reward.user_id, reward.referral_timestamp) for reward in done)
        return done

    def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> list[LedgerItem]:
        done = super().settle(items, payout_id, settled_at_ms)
        self.settled.extend((item.user_id, item.referral_timestamp) for item in done)
        return done


def november_rewards(count: int, referrers: int, start_ms: int = NOVEMBER_MS) -> list[SeededReward]:
    """Rewards spread over referrers, with amounts in cents that do not divide evenly."""
    return [
        SeededReward(
            user_id=f"new-user-{index:05d}",
            timestamp_ms=start_ms + index * 1_000,
            referrer_id=f"referrer-{index % referrers:03d}",
            amount=Decimal(f"{5 + index % 7}.{index % 100:02d}"),
        )
        for index in range(count)
    ]


def seed(
    table: str,
    pending: Iterable[SeededReward] = (),
    paid: Iterable[SeededReward] = (),
    paid_payout_id: str = "payout-2026-10",
    profiles: Iterable[str] = (),
    *,
    payable: Iterable[SeededReward] = (),
    unpaid: Iterable[tuple[str, SeededReward]] = (),
    clawbacks: Iterable[SeededClawback] = (),
) -> None:
    """Writes profiles, rewards and open clawbacks.

    `payable`: the lifecycle's payable items (in payable-rewards-index); `pending`: items from
    before the lifecycle (in pending-rewards-index); `paid`: history; `unpaid`: (status, reward)
    for the states no payout reads (waiting, flagged, reversed), as the admin actions leave them.
    """
    items = [_profile(user_id) for user_id in profiles]
    items += [_referral(reward) | {c.PENDING_KEY: {"S": c.PENDING_KEY_VALUE}} for reward in pending]
    items += [payable_item(reward) for reward in payable]
    items += [unpaid_item(status, reward) for status, reward in unpaid]
    items += [clawback_item(clawback) for clawback in clawbacks]
    items += [
        _referral(reward) | {c.STATUS: {"S": c.STATUS_PAID}, c.PAYOUT_ID: {"S": paid_payout_id}, "paid_at": {"N": "1"}}
        for reward in paid
    ]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: batch})


def put_pending(table: str, reward: SeededReward) -> None:
    item = _referral(reward) | {c.PENDING_KEY: {"S": c.PENDING_KEY_VALUE}}
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=table, Item=item)


def put_item(table: str, item: dict) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=table, Item=item)


def payable_item(reward: SeededReward) -> dict:
    payable_at = reward.timestamp_ms if reward.payable_at_ms is None else reward.payable_at_ms
    return _referral(reward) | {
        c.STATUS: {"S": c.STATUS_PAYABLE},
        c.QUALIFIED_AT: {"N": str(reward.timestamp_ms)},
        c.PAYABLE_KEY: {"S": c.PAYABLE_KEY_VALUE},
        c.PAYABLE_AT: {"N": str(payable_at)},
    }


def unpaid_item(status: str, reward: SeededReward) -> dict:
    """A reward no payout may pay, keyed as the lifecycle keys it (only the review queue's key)."""
    item = _referral(reward) | {c.STATUS: {"S": status}}
    if status == c.STATUS_FLAGGED:
        item[c.FLAGGED_KEY] = {"S": c.FLAGGED_KEY_VALUE}
        item[c.REVIEW_SIGNALS] = {"SS": ["email_of_referrer"]}
    if status == c.STATUS_REVERSED:
        item |= {c.REVERSED_AT: {"N": str(reward.timestamp_ms + 1)}, c.REVERSAL_REASON: {"S": "refund"}}
    return item


def clawback_item(clawback: SeededClawback) -> dict:
    item = {
        c.USER_ID: {"S": clawback.user_id},
        c.REFERRAL_TIMESTAMP: {"N": str(clawback.timestamp_ms)},
        c.REFERRER_ID: {"S": clawback.referrer_id},
        c.REWARD_AMOUNT: {"N": str(clawback.amount)},
        c.STATUS: {"S": c.CLAWBACK_OPEN},
        c.OPEN_CLAWBACK_KEY: {"S": c.OPEN_CLAWBACK_KEY_VALUE},
        c.CLAWBACK_AT: {"N": str(clawback.clawback_at_ms)},
    }
    if clawback.user_id.endswith(c.CLAWBACK_SUFFIX):
        item |= {c.REVERSAL_REASON: {"S": "chargeback"}, c.REVERSED_BY: {"S": "arn:aws:iam::123456789012:user/ops"}}
    else:
        item[c.CARRIED_BY_PAYOUT] = {"S": "payout-2026-09"}
    return item


def _profile(user_id: str) -> dict:
    return {
        c.USER_ID: {"S": user_id},
        c.REFERRAL_TIMESTAMP: {"N": str(c.PROFILE_TIMESTAMP)},
        c.REFERRAL_COUNT: {"N": "0"},
        c.TOTAL_REWARDS: {"N": "0"},
    }


def _referral(reward: SeededReward) -> dict:
    return {
        c.USER_ID: {"S": reward.user_id},
        c.REFERRAL_TIMESTAMP: {"N": str(reward.timestamp_ms)},
        c.REFERRER_ID: {"S": reward.referrer_id},
        c.REWARD_AMOUNT: {"N": str(reward.amount)},
        c.STATUS: {"S": c.STATUS_PENDING},
        "email": {"S": f"{reward.user_id}@example.com"},
        "signup_date": {"S": "2026-11-15T10:00:00Z"},
    }


def all_items(table: str) -> list[dict]:
    pages = boto3.client("dynamodb", region_name=REGION).get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def referral_state(items: list[dict]) -> dict[tuple[str, int], dict]:
    """Referral items by key: status, payout id, and whether a payout index's key (pending or
    payable) is still there. Ledger items are left out: ledger_state has them."""
    return {
        (item[c.USER_ID]["S"], int(item[c.REFERRAL_TIMESTAMP]["N"])): {
            "status": item[c.STATUS]["S"],
            "payout_id": item.get(c.PAYOUT_ID, {}).get("S"),
            "pending_key": c.PENDING_KEY in item or c.PAYABLE_KEY in item,
        }
        for item in items
        if int(item[c.REFERRAL_TIMESTAMP]["N"]) != c.PROFILE_TIMESTAMP and not _is_ledger(item)
    }


def ledger_state(items: list[dict]) -> dict[tuple[str, int], dict]:
    """Clawback and carry items by key: status, amount owed, payout id, and the open-index key."""
    return {
        (item[c.USER_ID]["S"], int(item[c.REFERRAL_TIMESTAMP]["N"])): {
            "status": item[c.STATUS]["S"],
            "amount": Decimal(item[c.REWARD_AMOUNT]["N"]),
            "payout_id": item.get(c.PAYOUT_ID, {}).get("S"),
            "open_key": c.OPEN_CLAWBACK_KEY in item,
        }
        for item in items
        if _is_ledger(item)
    }


def _is_ledger(item: dict) -> bool:
    return item[c.USER_ID]["S"].endswith((c.CLAWBACK_SUFFIX, c.CARRY_SUFFIX))


def paid_totals(items: list[dict]) -> dict[str, tuple[Decimal, list[str]]]:
    """Per profile: paid_total and the payouts that credited it."""
    return {
        item[c.USER_ID]["S"]: (
            Decimal(item.get(c.PAID_TOTAL, {}).get("N", "0")),
            sorted(item.get(c.PAID_PAYOUTS, {}).get("SS", [])),
        )
        for item in items
        if int(item[c.REFERRAL_TIMESTAMP]["N"]) == c.PROFILE_TIMESTAMP
    }


def run_record(table: str, payout_id: str = PAYOUT_ID) -> dict | None:
    response = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=table, Key={c.IDEMPOTENCY_KEY: {"S": payout_id}}
    )
    return response.get("Item")


def report_bytes(bucket: str, month: str = "2026-11") -> bytes:
    s3 = boto3.client("s3", region_name=REGION)
    return s3.get_object(Bucket=bucket, Key=f"payouts/{month}/payout-report.csv")["Body"].read()


def expected_totals(rewards: Iterable[SeededReward]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for reward in rewards:
        totals[reward.referrer_id] = totals.get(reward.referrer_id, Decimal(0)) + reward.amount
    return totals


@dataclass
class QueryTally:
    calls: list[dict] = field(default_factory=list)  # per Query: index, ScannedCount, Count

    @property
    def scanned(self) -> int:
        return sum(call["scanned"] for call in self.calls)


@contextmanager
def tallied_queries() -> Iterator[QueryTally]:
    """Counts what each Query of the Lambda code read, from the responses DynamoDB returned."""
    tally = QueryTally()

    def after_query(parsed: dict, model: object, **_: object) -> None:
        tally.calls.append({"scanned": parsed.get("ScannedCount", 0), "count": parsed.get("Count", 0)})

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("after-call.dynamodb.Query", after_query, unique_id="payout-query-tally")
    try:
        yield tally
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.Query", unique_id="payout-query-tally")


def as_rewards(seeded: Iterable[SeededReward]) -> list[Reward]:
    return [Reward(r.user_id, r.timestamp_ms, r.referrer_id, r.amount) for r in seeded]


def completed_messages(aws: FakeAws, idempotency_table: str) -> list[str]:
    """Every message that the run records' stream makes, from its start, relayed and read back.

    Only the idempotency table's stream: these tests seed referral items by hand, which are not
    signups (the relay of the referral table is in test_relay_*.py).
    """
    return [message.text for message in relay_for(aws, idempotency_table).messages()]
