"""The admin function's storage: a referral's reward in the referral table (DynamoDB).

The only module of the admin path that makes AWS calls. A read is one consistent Query of the
referee's referral item (or one Query of a review-queue page); a write is one conditional
UpdateItem (or, to claw back a paid reward, one transaction with the clawback item) whose
condition is that the reward is still where it was read. ReturnValues=ALL_NEW hands back the
reward as written and ReturnValuesOnConditionCheckFailure=ALL_OLD the reward as it is when the
condition fails, so neither answer costs another read: two calls per action, one for a repeat or
a refusal. docs/lifecycle-design.md#admin-actions-read-decide-write-on-condition has the table of
writes.
"""

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from botocore.exceptions import ClientError

from referrals import contract as c
from referrals import exact_json
from referrals.admin_actions import Change, Stale, StoreBusy, StoredReward, Written
from referrals.aws_clients import client
from referrals.lifecycle import AdminAction, Reward, RewardState
from referrals.review_queue import QueuedReward, QueuePosition

ALL_OLD, ALL_NEW = "ALL_OLD", "ALL_NEW"
# DynamoDB refuses a write to an item that a transaction (the payout's claim) is committing, and
# botocore does not retry that: a few attempts a jittered pause apart, then 503, nothing written.
CONFLICT_ATTEMPTS = 3
CONFLICT_PAUSE_SECONDS = 0.05
PAID_ITEM, CLAWBACK_ITEM = range(2)  # positions in the clawback transaction

# How each stored status reads in the lifecycle; a paid item with CLAWED_BACK_AT is clawed back.
_STATES = {
    c.STATUS_WAITING: RewardState.WAITING,
    c.STATUS_FLAGGED: RewardState.FLAGGED,
    c.STATUS_PAYABLE: RewardState.PAYABLE,
    c.STATUS_PENDING: RewardState.PAYABLE,
    c.STATUS_PAID: RewardState.PAID,
    c.STATUS_REVERSED: RewardState.REVERSED,
}
_STORED_STATUS = {
    RewardState.WAITING: c.STATUS_WAITING,
    RewardState.FLAGGED: c.STATUS_FLAGGED,
    RewardState.PAYABLE: c.STATUS_PAYABLE,
    RewardState.REVERSED: c.STATUS_REVERSED,
}


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up per call, so a test can replace time.sleep and not wait


@dataclass(frozen=True)
class DynamoAdminStore:
    table_name: str
    pause: Callable[[float], None] = _sleep

    def find_reward(self, user_id: str) -> StoredReward | None:
        # A user has at most one referral item, under their own id after the profile (timestamp 0).
        response = client("dynamodb").query(
            TableName=self.table_name,
            KeyConditionExpression="#user = :user AND #timestamp > :profile",
            ExpressionAttributeNames={"#user": c.USER_ID, "#timestamp": c.REFERRAL_TIMESTAMP},
            ExpressionAttributeValues={":user": {"S": user_id}, ":profile": _number(c.PROFILE_TIMESTAMP)},
            ConsistentRead=True,  # a repeat must see the write its first call just made
        )
        items = response["Items"]
        if len(items) > 1:
            raise LookupError(f"user {user_id} has {len(items)} referral items; a signup writes one")
        return _stored_reward(items[0]) if items else None

    def review_queue_page(
        self, page_size: int, start: QueuePosition | None
    ) -> tuple[tuple[QueuedReward, ...], QueuePosition | None]:
        flagged = {c.FLAGGED_KEY: {"S": c.FLAGGED_KEY_VALUE}}
        request: dict = {
            "TableName": self.table_name,
            "IndexName": c.REVIEW_QUEUE_INDEX,  # ranged by referral_timestamp: oldest first
            "KeyConditionExpression": "#flagged = :flagged",
            "ExpressionAttributeNames": {"#flagged": c.FLAGGED_KEY},
            "ExpressionAttributeValues": {":flagged": flagged[c.FLAGGED_KEY]},
            "Limit": page_size,
        }
        if start is not None:
            request["ExclusiveStartKey"] = _key(start.user_id, start.timestamp_ms) | flagged
        response = client("dynamodb").query(**request)
        last = response.get("LastEvaluatedKey")
        position = None if last is None else QueuePosition(last[c.USER_ID]["S"], int(last[c.REFERRAL_TIMESTAMP]["N"]))
        return tuple(_queued_reward(item) for item in response["Items"]), position

    def write(self, change: Change) -> Written | Stale | StoreBusy:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                if change.after.state is RewardState.CLAWED_BACK:
                    return self._claw_back(change)
                return self._update(change)
            except ClientError as error:
                if not _is_conflict(error):
                    raise
            if attempt < CONFLICT_ATTEMPTS:
                self.pause(random.uniform(0, CONFLICT_PAUSE_SECONDS * 2**attempt))  # noqa: S311 - jitter
        return StoreBusy()

    def _update(self, change: Change) -> Written | Stale:
        expression, condition, values = _update_of(change)
        try:
            response = client("dynamodb").update_item(
                TableName=self.table_name,
                Key=_key(change.before.user_id, change.before.timestamp_ms),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": c.STATUS},
                ExpressionAttributeValues=values,
                ReturnValues=ALL_NEW,
                ReturnValuesOnConditionCheckFailure=ALL_OLD,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return _stale(error.response.get("Item"))
        return Written(_stored_reward(response["Attributes"]))

    def _claw_back(self, change: Change) -> Written | Stale:
        """The paid item stays paid and gains CLAWED_BACK_AT; the clawback records the debt, in
        the same transaction, so a reversal is recorded with its debt or not at all."""
        before = change.before
        values = {
            ":at": _number(change.at_ms),
            ":by": {"S": change.by},
            ":reason": {"S": _reason(change)},
            ":paid": {"S": c.STATUS_PAID},
        }
        operations: list[dict] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(before.user_id, before.timestamp_ms),
                    "UpdateExpression": (
                        f"SET {c.CLAWED_BACK_AT} = :at, {c.REVERSED_BY} = :by, {c.REVERSAL_REASON} = :reason"
                    ),
                    "ConditionExpression": f"#status = :paid AND attribute_not_exists({c.CLAWED_BACK_AT})",
                    "ExpressionAttributeNames": {"#status": c.STATUS},
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": ALL_OLD,
                }
            }
        ]
        # A reward of 0.00 (a tier may pay nothing) owes nothing: marked, but no clawback.
        if before.reward_amount > 0:
            operations.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": _clawback_item(change),
                        # Its key is the reward's: a second clawback for one reward cannot exist.
                        "ConditionExpression": f"attribute_not_exists({c.USER_ID})",
                    }
                }
            )
        try:
            client("dynamodb").transact_write_items(TransactItems=operations, ClientRequestToken=str(uuid.uuid4()))
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[PAID_ITEM].get("Code") == "ConditionalCheckFailed":
                return _stale(reasons[PAID_ITEM].get("Item"))
            raise  # a conflict (retried by write), or a clawback without its mark: not a state we create
        return Written(replace(before, reward=change.after, reversal_reason=change.reason))


def _update_of(change: Change) -> tuple[str, str, dict]:
    """UpdateExpression, ConditionExpression and values of a transition of an unpaid reward."""
    before, after = change.before, change.after
    values: dict[str, dict] = {":read": {"S": before.stored_status}, ":at": _number(change.at_ms)}
    values[":by"] = {"S": change.by}
    sets: list[str] = []
    removes: list[str] = []
    condition = "#status = :read"
    match change.action:
        case AdminAction.QUALIFY:
            sets += [f"{c.QUALIFIED_AT} = :at", f"{c.QUALIFIED_BY} = :by"]
            condition += f" AND attribute_not_exists({c.QUALIFIED_AT})"
        case AdminAction.APPROVE:
            sets += [f"{c.APPROVED_AT} = :at", f"{c.APPROVED_BY} = :by"]
            removes.append(c.FLAGGED_KEY)
            # Approval decided on whether it was qualified: a qualify in between changes the answer.
            qualified = "attribute_exists" if before.reward.qualified else "attribute_not_exists"
            condition += f" AND {qualified}({c.QUALIFIED_AT})"
        case AdminAction.REVERSE:
            sets += [f"{c.REVERSED_AT} = :at", f"{c.REVERSED_BY} = :by", f"{c.REVERSAL_REASON} = :reason"]
            values[":reason"] = {"S": _reason(change)}
            removes += [c.PAYABLE_KEY, c.PAYABLE_AT, c.FLAGGED_KEY, c.PENDING_KEY]
            if before.reward.qualified and before.qualified_at is None:
                # An item from before the lifecycle was qualified at signup: say so, as it stops being payable.
                sets.append(f"{c.QUALIFIED_AT} = :signup")
                values[":signup"] = _number(before.timestamp_ms)
    if after.state is not before.reward.state:
        sets.append("#status = :after")
        values[":after"] = {"S": _STORED_STATUS[after.state]}
    if after.state is RewardState.PAYABLE:
        if change.payable_at is None:
            raise ValueError(f"a change making the reward of {before.user_id} payable needs payable_at")
        sets += [f"{c.PAYABLE_KEY} = :payable", f"{c.PAYABLE_AT} = :payable_at"]
        values |= {":payable": {"S": c.PAYABLE_KEY_VALUE}, ":payable_at": _number(change.payable_at)}
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return expression, condition, values


def _clawback_item(change: Change) -> dict:
    before = change.before
    return _key(f"{before.user_id}{c.CLAWBACK_SUFFIX}", before.timestamp_ms) | {
        c.REFERRER_ID: {"S": before.referrer_id},
        c.REWARD_AMOUNT: _number(before.reward_amount),
        c.STATUS: {"S": c.CLAWBACK_OPEN},
        c.OPEN_CLAWBACK_KEY: {"S": c.OPEN_CLAWBACK_KEY_VALUE},
        c.CLAWBACK_AT: _number(change.at_ms),
        c.REVERSAL_REASON: {"S": _reason(change)},
        c.REVERSED_BY: {"S": change.by},
    }


def _reason(change: Change) -> str:
    if change.reason is None:
        raise ValueError(f"a reversal of the reward of {change.before.user_id} needs a reason")
    return change.reason


def _stale(item: dict | None) -> Stale:
    return Stale(None if item is None else _stored_reward(item))


def _stored_reward(item: dict) -> StoredReward:
    status = item[c.STATUS]["S"]
    if status not in _STATES:
        raise ValueError(f"referral item {item[c.USER_ID]['S']} has unknown status {status!r}")
    state = _STATES[status]
    if state is RewardState.PAID and c.CLAWED_BACK_AT in item:
        state = RewardState.CLAWED_BACK
    qualified_at = _integer(item, c.QUALIFIED_AT)
    return StoredReward(
        user_id=item[c.USER_ID]["S"],
        timestamp_ms=int(item[c.REFERRAL_TIMESTAMP]["N"]),
        referrer_id=item[c.REFERRER_ID]["S"],
        reward_amount=Decimal(item[c.REWARD_AMOUNT]["N"]),
        stored_status=status,
        reward=Reward(state, _is_qualified(state, qualified_at)),
        qualified_at=qualified_at,
        payable_at=_integer(item, c.PAYABLE_AT),
        reversal_reason=item[c.REVERSAL_REASON]["S"] if c.REVERSAL_REASON in item else None,
    )


def _queued_reward(item: dict) -> QueuedReward:
    return QueuedReward(
        user_id=item[c.USER_ID]["S"],
        referrer_id=item[c.REFERRER_ID]["S"],
        reward_amount=Decimal(item[c.REWARD_AMOUNT]["N"]),
        signals=tuple(sorted(item.get(c.REVIEW_SIGNALS, {}).get("SS", []))),
        signup_date=item[c.SIGNUP_DATE]["S"],
        qualified=c.QUALIFIED_AT in item,
    )


def _is_qualified(state: RewardState, qualified_at: int | None) -> bool:
    if state is RewardState.WAITING:
        return False
    if state in (RewardState.FLAGGED, RewardState.REVERSED):
        return qualified_at is not None
    return True  # payable, paid and clawed back rewards always are


def _is_conflict(error: ClientError) -> bool:
    if _code(error) == "TransactionConflictException":
        return True
    reasons = error.response.get("CancellationReasons") or []
    return _code(error) == "TransactionCanceledException" and any(
        reason.get("Code") == "TransactionConflict" for reason in reasons
    )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _key(user_id: str, timestamp_ms: int) -> dict:
    return {c.USER_ID: {"S": user_id}, c.REFERRAL_TIMESTAMP: _number(timestamp_ms)}


def _integer(item: dict, name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


def _number(value: int | Decimal) -> dict:
    return {"N": exact_json.number_text(value)}
