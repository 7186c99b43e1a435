"""The payout's only contact with AWS: the run record, the reward and clawback indexes, the
profiles' credits with their carries, and the report bucket.

Implements payout_run.PayoutStore with DynamoDB and S3 clients from aws_clients. The payout
publishes nothing itself: completing the run record is its event, which the stream relay turns
into the payout.completed message (referrals/outbox_events.py).
"""

import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from botocore.exceptions import ClientError

from referrals import contract as c
from referrals import exact_json
from referrals.aws_clients import client
from referrals.payout_event import PayoutRequest
from referrals.payout_run import (
    Acquired,
    AlreadyCompleted,
    HeldElsewhere,
    Lease,
    LedgerItem,
    PayoutLeaseLost,
    Reward,
)
from referrals.payout_summary import PayoutSummary, summary_from_record, summary_record
from referrals.payout_totals import ReferrerTotal, payable_amount

logger = logging.getLogger(__name__)

Item = dict[str, Any]  # DynamoDB's attribute-value format, as the low-level client speaks it

RUN_IN_PROGRESS = c.RUN_IN_PROGRESS
RUN_COMPLETED = c.RUN_COMPLETED
# Taking a run over: no record yet, or one that is not completed and whose lease has lapsed. A
# record without a lease (say a "failed" one left by the old implementation) never blocks a run.
ACQUIRE_CONDITION = (
    "attribute_not_exists(idempotency_key) OR (#status <> :completed"
    " AND (attribute_not_exists(lease_expires_at) OR lease_expires_at < :now))"
)
REWARD_ATTRIBUTES = ", ".join((c.USER_ID, c.REFERRAL_TIMESTAMP, c.REFERRER_ID, c.REWARD_AMOUNT))
OPEN_CLAWBACK_ATTRIBUTES = f"{REWARD_ATTRIBUTES}, {c.CLAWBACK_AT}"
LEDGER_SUFFIXES = (c.CLAWBACK_SUFFIX, c.CARRY_SUFFIX)
RETRYABLE_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)
CHECK_FAILED = "ConditionalCheckFailed"
MAX_TRANSACTION_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 2.0


T = TypeVar("T")


class TransactionRetriesExhausted(RuntimeError):
    """Conflicts or throttling outlasted the retries; the run fails and its retry resumes it."""


@dataclass(frozen=True)
class PayoutResources:
    referral_table: str
    idempotency_table: str
    reports_bucket: str
    reports_kms_key_arn: str | None = None  # None: the bucket's SSE-S3 (AES256)

    @classmethod
    def from_environment(cls) -> "PayoutResources":
        return cls(
            referral_table=os.environ["REFERRAL_TABLE_NAME"],
            idempotency_table=os.environ["IDEMPOTENCY_TABLE_NAME"],
            reports_bucket=os.environ["REPORTS_BUCKET_NAME"],
            reports_kms_key_arn=os.environ.get("REPORTS_KMS_KEY_ARN") or None,
        )


class TransactResult(NamedTuple):
    applied: list[int]  # indexes of the operations that were written
    refused: dict[int, Item | None]  # condition failed: index -> the item as it was (None: absent)


class DynamoPayoutStore:
    def __init__(
        self,
        resources: PayoutResources,
        page_size: int | None = None,  # Query Limit; None lets DynamoDB fill 1 MB pages
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._resources = resources
        self._page_size = page_size
        self._sleep = sleep
        self._dynamodb = client("dynamodb")
        self._s3 = client("s3")

    # Run record -------------------------------------------------------------------------------

    def acquire_run(
        self, request: PayoutRequest, lease: Lease, ttl: int
    ) -> Acquired | AlreadyCompleted | HeldElsewhere:
        # One conditional write, never read-then-write: of two invocations only one gets the lease.
        try:
            attributes = self._dynamodb.update_item(
                TableName=self._resources.idempotency_table,
                Key=_run_key(request.payout_id),
                UpdateExpression=(
                    "SET #status = :in_progress, lease_owner = :owner, lease_expires_at = :expires,"
                    " payout_month = :month, updated_at = :now,"
                    " cutoff_ms = if_not_exists(cutoff_ms, :cutoff),"
                    " started_at = if_not_exists(started_at, :now), #ttl = if_not_exists(#ttl, :ttl)"
                    " ADD attempts :one"
                ),
                ConditionExpression=ACQUIRE_CONDITION,
                ExpressionAttributeNames={"#status": c.STATUS, "#ttl": c.TTL},
                ExpressionAttributeValues={
                    ":in_progress": _s(RUN_IN_PROGRESS),
                    ":completed": _s(RUN_COMPLETED),
                    ":owner": _s(lease.owner),
                    ":expires": _n(lease.expires_at),
                    ":month": _s(request.month),
                    ":now": _n(lease.now),
                    ":cutoff": _n(request.cutoff_ms),
                    ":ttl": _n(ttl),
                    ":one": _n(1),
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            return _refusal(error.response.get("Item"), lease)
        return Acquired(cutoff_ms=int(attributes["cutoff_ms"]["N"]), netted=c.RUN_NETTED_AT in attributes)

    def run_status(self, payout_id: str) -> str | None:
        """The run record's status (None: no run has started), read consistently."""
        item = self._dynamodb.get_item(
            TableName=self._resources.idempotency_table,
            Key=_run_key(payout_id),
            ConsistentRead=True,
            ProjectionExpression="#status",
            ExpressionAttributeNames={"#status": c.STATUS},
        ).get("Item")
        return None if item is None else item[c.STATUS]["S"]

    def release_run(self, payout_id: str, owner: str, expires_at: int) -> None:
        if not self._update_owned_run(
            payout_id, owner, "SET lease_expires_at = :expires", {":expires": _n(expires_at)}
        ):
            logger.warning("lease already taken over; nothing to release")

    def complete_run(self, summary: PayoutSummary, owner: str, now: int) -> None:
        completed = self._update_owned_run(
            summary.payout_id,
            owner,
            # The summary holds every field of the payout.completed message, so this one update
            # is the whole event the stream relay publishes.
            f"SET #status = :completed, {c.RUN_SUMMARY} = :summary, completed_at = :now, completed_by = :owner,"
            " updated_at = :now REMOVE lease_owner, lease_expires_at",
            {":completed": _s(RUN_COMPLETED), ":summary": {"M": _summary_item(summary)}, ":now": _n(now)},
            # botocore may resend this update after a lost answer; the resend finds the run
            # completed by this owner, and that is success, not a lost lease.
            also_if="#status = :completed AND completed_by = :owner",
        )
        if not completed:
            raise PayoutLeaseLost(f"{summary.payout_id}: the run record is no longer held by {owner}")

    def mark_netted(self, payout_id: str, owner: str, now: int) -> None:
        # Idempotent (a resend finds it set by the same owner, whose lease still holds).
        if not self._update_owned_run(payout_id, owner, f"SET {c.RUN_NETTED_AT} = :now", {":now": _n(now)}):
            raise PayoutLeaseLost(f"{payout_id}: the run record is no longer held by {owner}")

    def _update_owned_run(
        self, payout_id: str, owner: str, update: str, values: Item, also_if: str | None = None
    ) -> bool:
        """Applies the update only while `owner` holds the run's lease (or `also_if` holds); False otherwise."""
        condition = "#status = :in_progress AND lease_owner = :owner"
        try:
            self._dynamodb.update_item(
                TableName=self._resources.idempotency_table,
                Key=_run_key(payout_id),
                UpdateExpression=update,
                ConditionExpression=f"({condition}) OR ({also_if})" if also_if else condition,
                ExpressionAttributeNames={"#status": c.STATUS},
                ExpressionAttributeValues={**values, ":in_progress": _s(RUN_IN_PROGRESS), ":owner": _s(owner)},
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    # Rewards ----------------------------------------------------------------------------------

    def claimed_items(self, payout_id: str) -> Iterator[Reward | LedgerItem]:
        """What this payout claimed so far: rewards, and the clawbacks and carries it settled."""
        for page in self._query(c.PAYOUT_INDEX, f"{c.PAYOUT_ID} = :payout", {":payout": _s(payout_id)}, _claimed):
            yield from page

    def payable_pages(self, cutoff_ms: int) -> Iterator[list[Reward]]:
        # The hold is baked into payable_at, so "payable before the cutoff" is the whole rule.
        return self._query(
            c.PAYABLE_REWARDS_INDEX,
            f"{c.PAYABLE_KEY} = :payable AND {c.PAYABLE_AT} < :cutoff",
            {":payable": _s(c.PAYABLE_KEY_VALUE), ":cutoff": _n(cutoff_ms)},
            _reward,
        )

    def pending_pages(self, cutoff_ms: int) -> Iterator[list[Reward]]:
        """Items from before the lifecycle: qualified at signup, no hold."""
        return self._query(
            c.PENDING_REWARDS_INDEX,
            f"{c.PENDING_KEY} = :pending AND {c.REFERRAL_TIMESTAMP} < :cutoff",
            {":pending": _s(c.PENDING_KEY_VALUE), ":cutoff": _n(cutoff_ms)},
            _reward,
        )

    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> list[Reward]:
        """Marks the rewards paid by this payout; returns those this call claimed.

        A refused condition means the reward is no longer payable: an earlier invocation of this
        payout claimed it (and the index had not caught up), or it was reversed meanwhile (voided,
        never paid), so it is left out here (and counted from the payout index if it is ours).
        """
        operations = [
            {
                "Update": {
                    "TableName": self._resources.referral_table,
                    "Key": _key(reward.user_id, reward.referral_timestamp),
                    "UpdateExpression": (
                        f"SET #status = :paid, {c.PAYOUT_ID} = :payout, paid_at = :paid_at"
                        f" REMOVE {c.PAYABLE_KEY}, {c.PENDING_KEY}"
                    ),
                    "ConditionExpression": "#status IN (:payable, :pending)",
                    "ExpressionAttributeNames": {"#status": c.STATUS},
                    "ExpressionAttributeValues": {
                        ":paid": _s(c.STATUS_PAID),
                        ":payable": _s(c.STATUS_PAYABLE),
                        ":pending": _s(c.STATUS_PENDING),
                        ":payout": _s(payout_id),
                        ":paid_at": _n(paid_at_ms),
                    },
                }
            }
            for reward in rewards
        ]
        result = self._transact(operations)
        if result.refused:
            logger.info("rewards already claimed or reversed, skipped", extra={"skipped": len(result.refused)})
        return [rewards[index] for index in result.applied]

    # Clawbacks ------------------------------------------------------------------------------

    def open_clawback_pages(self, cutoff_ms: int) -> Iterator[list[LedgerItem]]:
        return self._query(
            c.OPEN_CLAWBACKS_INDEX,
            f"{c.OPEN_CLAWBACK_KEY} = :open AND {c.CLAWBACK_AT} < :cutoff",
            {":open": _s(c.OPEN_CLAWBACK_KEY_VALUE), ":cutoff": _n(cutoff_ms)},
            _open_ledger_item,
            OPEN_CLAWBACK_ATTRIBUTES,
        )

    def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> list[LedgerItem]:
        """Claims the clawbacks and carries for this payout; returns those this call settled.

        A refused condition means it is no longer open: another payout settled it, or an earlier
        invocation of this one did (the open index lagging), which the payout index then shows.
        """
        operations = [
            {
                "Update": {
                    "TableName": self._resources.referral_table,
                    "Key": _key(item.user_id, item.referral_timestamp),
                    "UpdateExpression": (
                        f"SET #status = :settled, {c.PAYOUT_ID} = :payout, {c.SETTLED_AT} = :settled_at"
                        f" REMOVE {c.OPEN_CLAWBACK_KEY}"
                    ),
                    "ConditionExpression": "#status = :open",
                    "ExpressionAttributeNames": {"#status": c.STATUS},
                    "ExpressionAttributeValues": {
                        ":settled": _s(c.CLAWBACK_SETTLED),
                        ":open": _s(c.CLAWBACK_OPEN),
                        ":payout": _s(payout_id),
                        ":settled_at": _n(settled_at_ms),
                    },
                }
            }
            for item in items
        ]
        result = self._transact(operations)
        if result.refused:
            logger.info("clawbacks no longer open, skipped", extra={"skipped": len(result.refused)})
        return [items[index] for index in result.applied]

    # Profiles ---------------------------------------------------------------------------------

    def credit_referrers(self, totals: Sequence[ReferrerTotal], payout_id: str, cutoff_ms: int) -> int:
        """Adds each referrer's payout (net) to their profile's paid_total, once per payout, and
        records what they still owe as a carry in the same transaction."""
        operations: list[Item] = []
        credits: dict[int, str] = {}  # operation index -> referrer of that profile credit
        for total in totals:
            credits[len(operations)] = total.referrer_id
            operations.append(self._credit(total, payout_id))
            if total.carried_forward > 0:
                operations.append(self._carry(total, payout_id, cutoff_ms))
        result = self._transact(operations)
        missing = [credits[index] for index, item in result.refused.items() if index in credits and not item]
        if missing:
            logger.warning("referrer profiles missing; paid_total not recorded", extra={"referrers": missing})
        return sum(1 for index in result.applied if index in credits)

    def _credit(self, total: ReferrerTotal, payout_id: str) -> Item:
        return {
            "Update": {
                "TableName": self._resources.referral_table,
                "Key": _key(total.referrer_id, c.PROFILE_TIMESTAMP),
                "UpdateExpression": f"ADD {c.PAID_TOTAL} :amount, {c.PAID_PAYOUTS} :payouts",
                # The profile must exist: an update would otherwise create a bare one.
                "ConditionExpression": f"attribute_exists({c.USER_ID}) AND NOT contains({c.PAID_PAYOUTS}, :payout)",
                "ExpressionAttributeValues": {
                    ":amount": _n(total.amount),
                    ":payouts": {"SS": [payout_id]},
                    ":payout": _s(payout_id),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _carry(self, total: ReferrerTotal, payout_id: str, cutoff_ms: int) -> Item:
        # At the cutoff: outside this payout's range (clawback_at < cutoff), so only the next one nets it.
        return {
            "Put": {
                "TableName": self._resources.referral_table,
                "Item": _key(f"{total.referrer_id}{c.CARRY_SUFFIX}", cutoff_ms)
                | {
                    c.REFERRER_ID: _s(total.referrer_id),
                    c.REWARD_AMOUNT: _n(total.carried_forward),
                    c.STATUS: _s(c.CLAWBACK_OPEN),
                    c.OPEN_CLAWBACK_KEY: _s(c.OPEN_CLAWBACK_KEY_VALUE),
                    c.CLAWBACK_AT: _n(cutoff_ms),
                    c.CARRIED_BY_PAYOUT: _s(payout_id),
                },
                # Its key is the referrer's and the payout's: a rerun cannot write a second one.
                "ConditionExpression": f"attribute_not_exists({c.USER_ID})",
            }
        }

    # Report -----------------------------------------------------------------------------------

    def put_report(self, key: str, body: bytes) -> str:
        bucket = self._resources.reports_bucket
        kms_key = self._resources.reports_kms_key_arn
        encryption = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
            if kms_key
            else {"ServerSideEncryption": "AES256"}
        )
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv", **encryption)
        return f"s3://{bucket}/{key}"

    # Helpers ----------------------------------------------------------------------------------

    def _query(
        self,
        index: str,
        key_condition: str,
        values: Item,
        parse: Callable[[Item], T],
        attributes: str = REWARD_ATTRIBUTES,
    ) -> Iterator[list[T]]:
        params: dict[str, Any] = {
            "TableName": self._resources.referral_table,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": attributes,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if self._page_size is not None:
            params["Limit"] = self._page_size
        items_read, capacity = 0, 0.0
        while True:
            page = self._dynamodb.query(**params)
            items_read += page["ScannedCount"]
            capacity += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0)
            yield [parse(item) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        logger.info("index read", extra={"index": index, "items_read": items_read, "read_capacity": capacity})

    def _transact(self, operations: list[Item]) -> TransactResult:
        """Writes the operations whose conditions hold, in one transaction per attempt.

        A cancelled transaction writes nothing. Operations whose condition failed are dropped and
        the rest retried at once (each such round removes at least one). Conflicts and throttling
        are retried after a jittered backoff, at most MAX_TRANSACTION_ATTEMPTS times.
        """
        remaining = list(range(len(operations)))
        refused: dict[int, Item | None] = {}
        backoffs = 0
        while remaining:
            try:
                self._dynamodb.transact_write_items(
                    TransactItems=[operations[i] for i in remaining],
                    # botocore retries a request whose answer was lost; with the same token DynamoDB
                    # answers that retry with success, where it would otherwise refuse every claim
                    # as "already claimed" and this run would leave them out of its totals.
                    ClientRequestToken=str(uuid.uuid4()),
                )
            except ClientError as error:
                codes = _cancellation_codes(error, len(remaining))
                refused.update(
                    (i, item) for i, (code, item) in zip(remaining, codes, strict=True) if code == CHECK_FAILED
                )
                remaining = [i for i, (code, _) in zip(remaining, codes, strict=True) if code != CHECK_FAILED]
                if any(code in RETRYABLE_CANCELLATIONS for code, _ in codes):
                    backoffs += 1
                    if backoffs >= MAX_TRANSACTION_ATTEMPTS:
                        raise TransactionRetriesExhausted(
                            f"{len(remaining)} writes still conflicting or throttled after {backoffs} attempts"
                        ) from error
                    self._sleep(_backoff(backoffs))
                continue
            return TransactResult(applied=remaining, refused=refused)
        return TransactResult(applied=[], refused=refused)


def _cancellation_codes(error: ClientError, count: int) -> list[tuple[str, Item | None]]:
    """(code, old item) per operation of a cancelled transaction we can act on; re-raises the rest."""
    reasons = error.response.get("CancellationReasons") or []
    if _error_code(error) != "TransactionCanceledException" or len(reasons) != count:
        raise error
    codes = [(reason.get("Code") or "None", reason.get("Item")) for reason in reasons]
    found = {code for code, _ in codes}
    if found - RETRYABLE_CANCELLATIONS - {"None", CHECK_FAILED} or found == {"None"}:
        raise error  # e.g. a ValidationError, which no retry fixes
    return codes


def _backoff(attempt: int) -> float:
    # Full jitter: invocations retrying the same conflict spread out instead of colliding again.
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
    return random.uniform(0, ceiling)  # noqa: S311 - retry jitter, not a secret


def _refusal(item: Item | None, lease: Lease) -> Acquired | AlreadyCompleted | HeldElsewhere:
    if not item:
        raise RuntimeError("run record refused the lease but returned no record")
    if item[c.STATUS]["S"] == RUN_COMPLETED:
        return AlreadyCompleted(_summary_from_item(item[c.RUN_SUMMARY]["M"]))
    owner = item["lease_owner"]["S"]
    if owner == lease.owner:
        # botocore retried this very request after its first answer was lost: the lease is ours.
        return Acquired(cutoff_ms=int(item["cutoff_ms"]["N"]), netted=c.RUN_NETTED_AT in item)
    return HeldElsewhere(owner=owner, lease_expires_at=int(item["lease_expires_at"]["N"]))


def _summary_item(summary: PayoutSummary) -> Item:
    return {name: _s(value) if isinstance(value, str) else _n(value) for name, value in summary_record(summary).items()}


def _summary_from_item(item: Item) -> PayoutSummary:
    return summary_from_record(
        {name: value["S"] if "S" in value else Decimal(value["N"]) for name, value in item.items()}
    )


def _claimed(item: Item) -> Reward | LedgerItem:
    """A payout-index item: a reward, or a clawback or carry (told apart by the key's suffix)."""
    if item[c.USER_ID]["S"].endswith(LEDGER_SUFFIXES):
        return _ledger_item(item, clawback_at=None)
    return _reward(item)


def _open_ledger_item(item: Item) -> LedgerItem:
    return _ledger_item(item, clawback_at=int(item[c.CLAWBACK_AT]["N"]))


def _ledger_item(item: Item, clawback_at: int | None) -> LedgerItem:
    key, referrer_id, amount = _fields(item, "clawback")
    if amount <= 0:
        raise ValueError(f"clawback {key} owes {amount}: a clawback is more than 0.00")
    return LedgerItem(item[c.USER_ID]["S"], int(item[c.REFERRAL_TIMESTAMP]["N"]), referrer_id, amount, clawback_at)


def _reward(item: Item) -> Reward:
    _, referrer_id, amount = _fields(item, "reward")
    return Reward(item[c.USER_ID]["S"], int(item[c.REFERRAL_TIMESTAMP]["N"]), referrer_id, amount)


def _fields(item: Item, what: str) -> tuple[str, str, Decimal]:
    key = f"{item[c.USER_ID]['S']}@{item[c.REFERRAL_TIMESTAMP]['N']}"
    if c.REFERRER_ID not in item or c.REWARD_AMOUNT not in item:
        raise ValueError(f"{what} {key} lacks {c.REFERRER_ID} or {c.REWARD_AMOUNT}")
    try:
        amount = payable_amount(Decimal(item[c.REWARD_AMOUNT]["N"]))
    except ValueError as error:
        raise ValueError(f"{what} {key}: {error}") from error
    return key, item[c.REFERRER_ID]["S"], amount


def _key(user_id: str, timestamp_ms: int) -> Item:
    return {c.USER_ID: _s(user_id), c.REFERRAL_TIMESTAMP: _n(timestamp_ms)}


def _run_key(payout_id: str) -> Item:
    return {c.IDEMPOTENCY_KEY: _s(payout_id)}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int | Decimal) -> dict[str, str]:
    # Plain notation: Decimal("1E+1") must reach DynamoDB as 10, not as an exponent string.
    return {"N": exact_json.number_text(value)}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
