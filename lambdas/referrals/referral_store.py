"""The reward calculator's storage: the referral table (DynamoDB).

The only module of the signup path that makes AWS calls. It publishes nothing: the referral item
that the signup transaction creates is the event, which the stream relay publishes
(outbox_events.py), so the happy path is two calls. Every conditional write asks for
ReturnValuesOnConditionCheckFailure=ALL_OLD, so a failed condition already carries the stored
item: a counter that moved, or the profile of a user who had signed up, costs no extra read.
"""

import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from botocore.exceptions import ClientError

from referrals import contract as c
from referrals import exact_json
from referrals.aws_clients import client
from referrals.money import add
from referrals.signup import CommitOutcome, CountChanged, NoTicket, Profile, Referral, UserExists
from referrals.signup_queue import QueueState, Ticket

# Positions in the signup transaction; CancellationReasons come back in the same order.
NEW_PROFILE, REFERRAL_ITEM, REFERRER_COUNTER = range(3)
TRANSACTION_ITEMS = 3
ALL_OLD = "ALL_OLD"
# DynamoDB refuses a write to an item that a transaction is committing (TransactionConflict-
# Exception), and botocore does not retry that. A ticket is retried a few times, a few ms apart.
TICKET_ATTEMPTS = 4
TICKET_RETRY_SECONDS = 0.005


@dataclass(frozen=True)
class DynamoReferralStore:
    table_name: str

    def get_profile(self, user_id: str) -> Profile | None:
        item = self._get(user_id, c.PROFILE_TIMESTAMP)
        return None if item is None else _profile(item)

    def create_profile(self, user_id: str, email: str | None) -> Profile | None:
        try:
            client("dynamodb").put_item(
                TableName=self.table_name,
                Item=_profile_item(user_id, email),
                ConditionExpression=f"attribute_not_exists({c.USER_ID})",
                ReturnValuesOnConditionCheckFailure=ALL_OLD,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return _profile(error.response["Item"])
        return None

    def take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        for attempt in range(1, TICKET_ATTEMPTS + 1):
            try:
                return self._take_ticket(referrer_id, now_ms)
            except ClientError as error:
                if _code(error) != "TransactionConflictException":
                    raise
            if attempt < TICKET_ATTEMPTS:
                time.sleep(random.uniform(0, TICKET_RETRY_SECONDS * 2**attempt))  # noqa: S311 - jitter
        return NoTicket.BUSY  # other commits kept the profile busy: the caller answers 503

    def _take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        try:
            # ALL_OLD: the profile as it was, so the ticket's number and the queue ahead of it
            # come with the read of the counter, in this one call.
            response = client("dynamodb").update_item(
                TableName=self.table_name,
                Key=_key(referrer_id, c.PROFILE_TIMESTAMP),
                UpdateExpression=f"ADD {c.SIGNUP_TICKETS} :one SET {c.LAST_TICKET_AT} = :now",
                ConditionExpression=f"attribute_exists({c.USER_ID})",  # no profile for unknown codes
                ExpressionAttributeValues={":one": _number(1), ":now": _number(now_ms)},
                ReturnValues=ALL_OLD,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return NoTicket.REFERRER_MISSING
        return _ticket(response["Attributes"])

    def commit_referral(
        self, referral: Referral, expected_count: int | None, ticket: int
    ) -> CommitOutcome | UserExists | CountChanged:
        try:
            client("dynamodb").transact_write_items(
                TransactItems=self._signup_transaction(referral, expected_count, ticket),
                # Makes botocore's own retry of a commit whose answer was lost succeed, instead
                # of failing on the conditions it had already satisfied.
                ClientRequestToken=str(uuid.uuid4()),
            )
        except ClientError as error:
            if _code(error) != "TransactionCanceledException":
                raise
            return _cancellation(error)
        return CommitOutcome.COMMITTED

    def get_referral(self, user_id: str, timestamp_ms: int) -> Referral | None:
        item = self._get(user_id, timestamp_ms)
        return None if item is None else _referral(item)

    def referral_totals(self, referrer_id: str) -> tuple[Decimal, Decimal]:
        pending = paid = Decimal(0)
        pages = (
            client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                IndexName=c.REFERRER_INDEX,
                KeyConditionExpression=f"{c.REFERRER_ID} = :referrer",
                ProjectionExpression="#status, #amount",
                ExpressionAttributeNames={"#status": c.STATUS, "#amount": c.REWARD_AMOUNT},
                ExpressionAttributeValues={":referrer": {"S": referrer_id}},
            )
        )
        for page in pages:
            for item in page["Items"]:
                status = item.get(c.STATUS, {}).get("S")
                amount = Decimal(item[c.REWARD_AMOUNT]["N"]) if c.REWARD_AMOUNT in item else Decimal(0)
                # Exact or raising (money.EXACT): a referrer's sum of bounded amounts never rounds.
                if status == c.STATUS_PENDING:
                    pending = add(pending, amount)
                elif status == c.STATUS_PAID:
                    paid = add(paid, amount)
        return pending, paid

    def _get(self, user_id: str, timestamp_ms: int) -> dict | None:
        # Consistent: an identical retry must see the commit that its first delivery just made,
        # and the stats must show it.
        response = client("dynamodb").get_item(
            TableName=self.table_name, Key=_key(user_id, timestamp_ms), ConsistentRead=True
        )
        return response.get("Item")

    def _signup_transaction(self, referral: Referral, expected_count: int | None, ticket: int) -> list[dict]:
        not_exists = f"attribute_not_exists({c.USER_ID})"
        new_profile = _profile_item(referral.user_id, referral.email) | {
            c.REFERRED_BY: {"S": referral.referrer_id},
            c.REFERRED_AT: _number(referral.timestamp_ms),
        }
        # In the order of NEW_PROFILE, REFERRAL_ITEM, REFERRER_COUNTER.
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": new_profile,
                    "ConditionExpression": not_exists,
                    "ReturnValuesOnConditionCheckFailure": ALL_OLD,
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _referral_item(referral),
                    "ConditionExpression": not_exists,
                }
            },
            {"Update": self._counter_update(referral, expected_count, ticket)},
        ]

    def _counter_update(self, referral: Referral, expected_count: int | None, ticket: int) -> dict:
        values = {
            ":zero": _number(0),
            ":one": _number(1),
            ":reward": _number(referral.reward_amount),
            ":ticket": _number(ticket),
        }
        if expected_count is None:
            # attribute_exists: without it the update would create a profile for a referrer
            # that vanished since the read.
            condition = f"attribute_exists({c.USER_ID}) AND attribute_not_exists({c.REFERRAL_COUNT})"
        else:
            condition = f"{c.REFERRAL_COUNT} = :expected"
            values[":expected"] = _number(expected_count)
        return {
            "TableName": self.table_name,
            "Key": _key(referral.referrer_id, c.PROFILE_TIMESTAMP),
            # if_not_exists: a profile without counters yet starts from zero.
            "UpdateExpression": (
                f"SET {c.REFERRAL_COUNT} = if_not_exists({c.REFERRAL_COUNT}, :zero) + :one, "
                f"{c.TOTAL_REWARDS} = if_not_exists({c.TOTAL_REWARDS}, :zero) + :reward, "
                f"{c.SERVED_TICKET} = :ticket"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": ALL_OLD,
        }


def _cancellation(error: ClientError) -> CommitOutcome | UserExists | CountChanged:
    reasons = error.response.get("CancellationReasons") or []
    codes = [reason.get("Code") for reason in reasons]
    if len(reasons) != TRANSACTION_ITEMS:
        raise error
    if codes[NEW_PROFILE] == "ConditionalCheckFailed":
        return UserExists(_profile(reasons[NEW_PROFILE]["Item"]))
    if codes[REFERRER_COUNTER] == "ConditionalCheckFailed":
        referrer = reasons[REFERRER_COUNTER].get("Item")
        return CommitOutcome.REFERRER_MISSING if referrer is None else CountChanged(_queue_state(referrer))
    if "TransactionConflict" in codes:
        return CommitOutcome.CONFLICT
    raise error  # e.g. the referral item existing without its profile: not a state we create


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _key(user_id: str, timestamp_ms: int) -> dict:
    return {c.USER_ID: {"S": user_id}, c.REFERRAL_TIMESTAMP: _number(timestamp_ms)}


def _number(value: int | Decimal) -> dict:
    # str() of Decimal("1E+3") is "1E+3": every number goes out in the one plain notation instead.
    return {"N": exact_json.number_text(value)}


def _profile_item(user_id: str, email: str | None) -> dict:
    item = _key(user_id, c.PROFILE_TIMESTAMP) | {c.REFERRAL_COUNT: _number(0), c.TOTAL_REWARDS: _number(0)}
    if email is not None:
        item[c.EMAIL] = {"S": email}
    return item


def _referral_item(referral: Referral) -> dict:
    item = _key(referral.user_id, referral.timestamp_ms) | {
        c.REFERRER_ID: {"S": referral.referrer_id},
        c.SIGNUP_DATE: {"S": referral.signup_date},
        c.REWARD_AMOUNT: _number(referral.reward_amount),
        c.REFERRAL_NUMBER: _number(referral.referral_number),
        c.STATUS: {"S": c.STATUS_PENDING},
        # Puts the reward into the sparse pending-rewards index the payout reads.
        c.PENDING_KEY: {"S": c.PENDING_KEY_VALUE},
    }
    if referral.email is not None:
        item[c.EMAIL] = {"S": referral.email}
    return item


def _count(item: dict) -> int | None:
    return int(item[c.REFERRAL_COUNT]["N"]) if c.REFERRAL_COUNT in item else None


def _queue_state(item: dict) -> QueueState:
    return QueueState(_count(item), _integer(item, c.SERVED_TICKET) or 0)


def _ticket(old_profile: dict) -> Ticket:
    return Ticket(
        number=(_integer(old_profile, c.SIGNUP_TICKETS) or 0) + 1,
        seen=_queue_state(old_profile),
        previous_taken_at_ms=_integer(old_profile, c.LAST_TICKET_AT),
    )


def _integer(item: dict, name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


def _profile(item: dict) -> Profile:
    return Profile(
        user_id=item[c.USER_ID]["S"],
        referral_count=_count(item),
        total_rewards=Decimal(item[c.TOTAL_REWARDS]["N"]) if c.TOTAL_REWARDS in item else Decimal(0),
        referred_by=item[c.REFERRED_BY]["S"] if c.REFERRED_BY in item else None,
        referred_at=int(item[c.REFERRED_AT]["N"]) if c.REFERRED_AT in item else None,
    )


def _referral(item: dict) -> Referral:
    return Referral(
        user_id=item[c.USER_ID]["S"],
        referrer_id=item[c.REFERRER_ID]["S"],
        timestamp_ms=int(item[c.REFERRAL_TIMESTAMP]["N"]),
        email=item[c.EMAIL]["S"] if c.EMAIL in item else None,
        signup_date=item[c.SIGNUP_DATE]["S"],
        reward_amount=Decimal(item[c.REWARD_AMOUNT]["N"]),
        referral_number=int(item[c.REFERRAL_NUMBER]["N"]),
    )
