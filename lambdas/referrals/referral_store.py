"""The reward calculator's storage: the referral table (DynamoDB).

The only module of the signup path that makes AWS calls. It publishes nothing: the referral item
that the signup transaction creates is the event, which the stream relay publishes
(outbox_events.py), so the happy path is two calls: a ticket of the referrer's signup queue, and
the transaction. Every conditional write asks for ReturnValuesOnConditionCheckFailure=ALL_OLD, so
a failed condition already carries the stored item: a counter that moved, or the profile of a
user who had signed up, costs no extra read.

Each profile has a signup queue item next to it, at (`<user id>#signup-queue`, 0): no user id
can contain '#', so it is nobody's profile, and it has no referrer, pending key or payout id, so
no index, payout or notification sees it. Only plain UpdateItems write it and no transaction
names it, so a ticket is never refused for a commit in flight (signup_queue.py says why that
matters). It holds the queue's `signup_tickets`, its `planned_count`, the arrival times of the latest
tickets and the schedule's anchor. The profile keeps the counters, and each commit records on it
its ticket and when it was sent (`served_ticket`, `served_at`), which a refused commit hands back
with the count: where the schedule really is.

A user's e-mail key sits at (`<key>#email`, 0) with only its `owner` (docs/lifecycle-design.md#e-mail-keys):
the enrolment and the signup transactions put it on condition that it does not exist, and a
refusal hands back its owner (ALL_OLD), so finding an address shared costs no read either.
"""

import itertools
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from botocore.exceptions import ClientError

from referrals import contract as c
from referrals import exact_json
from referrals.aws_clients import client
from referrals.lifecycle import RewardState
from referrals.referrer_amounts import ReferrerItem
from referrals.review_signals import ReviewSignal
from referrals.signup import CommitOutcome, CountChanged, EmailTaken, NoTicket, Profile, Referral, UserExists
from referrals.signup_queue import RECENT_TICKETS, SLOT_MS, Anchor, Earlier, QueueState, Ticket
from referrals.signup_reward import SignupReward

# Positions in the signup transaction; CancellationReasons come back in the same order. The
# e-mail key comes last, and only when the signup claims one.
NEW_PROFILE, NEW_QUEUE, REFERRAL_ITEM, REFERRER_COUNTER, REFEREE_EMAIL_KEY = range(5)
# Positions in the enrolment transaction.
ENROLLED_PROFILE, ENROLLED_QUEUE, ENROLLED_EMAIL_KEY = range(3)
ALL_OLD = "ALL_OLD"
# The e-mail key item (the names only this module and the tests use).
EMAIL_KEY_SUFFIX = "#email"
OWNER = "owner"
_STATUSES = {
    RewardState.WAITING: c.STATUS_WAITING,
    RewardState.FLAGGED: c.STATUS_FLAGGED,
    RewardState.PAYABLE: c.STATUS_PAYABLE,
}
# DynamoDB refuses a write to an item that a transaction is committing (TransactionConflict-
# Exception), and botocore does not retry that. No transaction names a queue item, so a ticket
# should never meet one; if it does, it is retried a few times, a few ms apart.
TICKET_ATTEMPTS = 4
ENROL_ATTEMPTS = 4  # an enrolment cancelled by a conflicting transaction, as a ticket
TICKET_RETRY_SECONDS = 0.005

# The signup queue item (the names only this module and the tests use).
QUEUE_SUFFIX = "#signup-queue"
PLANNED_COUNT = "planned_count"  # the referrer's count once every ticket taken has committed
ANCHOR_TICKET, ANCHOR_START = "anchor_ticket", "anchor_start"  # a ticket, when its commit was planned or sent
SLOT, RETUNED_AT = "slot_ms", "slot_retuned_at"  # the slot of new tickets; the ticket count when it changed
SERVED_AT = "served_at"  # on the profile: when the latest commit was sent (epoch ms)
# The latest tickets, latest first: each is arrival_ms * SLOT_SCALE + the slot it was taken with,
# so that the ticket call records both with one expression (DynamoDB can add, not multiply).
ARRIVALS = tuple(f"ticket_arrival_{n}" for n in range(1, RECENT_TICKETS + 1))
SLOT_SCALE = 1000  # slots stay under a second (signup_queue.MAX_SLOT_MS)
_SHIFT_ARRIVALS = ", ".join(f"{newer} = {older}" for older, newer in itertools.pairwise(ARRIVALS))
TAKE_TICKET = f"ADD {c.SIGNUP_TICKETS} :one, {PLANNED_COUNT} :one SET {ARRIVALS[0]} = :now + {SLOT}, {_SHIFT_ARRIVALS}"


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up per call, so a test can replace time.sleep and not wait


@dataclass(frozen=True)
class DynamoReferralStore:
    table_name: str
    pause: Callable[[float], None] = _sleep

    def get_profile(self, user_id: str) -> Profile | None:
        item = self._get(user_id, c.PROFILE_TIMESTAMP)
        return None if item is None else _profile(item)

    def create_profile(self, user_id: str, email: str | None, email_key: str | None) -> Profile | EmailTaken | None:
        # The profile, and its queue so that the user can share their code at once (a queue
        # without its profile is never left behind, so none is there), and the e-mail key: one
        # transaction, in the order of ENROLLED_PROFILE, ENROLLED_QUEUE, ENROLLED_EMAIL_KEY.
        items = [
            self._put_new(_profile_item(user_id, email)),
            {"Put": {"TableName": self.table_name, "Item": _queue_item(user_id)}},
        ]
        if email_key is not None:
            items.append(self._put_new(_email_key_item(email_key, user_id)))
        for attempt in range(1, ENROL_ATTEMPTS + 1):
            try:
                self._transact(items)
                return None
            except ClientError as error:
                reasons = _cancellation_reasons(error, len(items))
                if _failed(reasons, ENROLLED_PROFILE):
                    return _profile(reasons[ENROLLED_PROFILE]["Item"])
                if _failed(reasons, ENROLLED_EMAIL_KEY):
                    return EmailTaken(reasons[ENROLLED_EMAIL_KEY]["Item"][OWNER]["S"])
                # Another transaction held one of the items (an identical retry, or a referral
                # claiming the same e-mail key): nothing was written, so try again shortly.
                conflict = any(reason.get("Code") == "TransactionConflict" for reason in reasons)
                if not conflict or attempt == ENROL_ATTEMPTS:
                    raise
            self.pause(random.uniform(0, TICKET_RETRY_SECONDS * 2**attempt))  # noqa: S311 - jitter
        raise AssertionError("unreachable: the last attempt returns or raises")

    def take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        for attempt in range(1, TICKET_ATTEMPTS + 1):
            try:
                return self._take_ticket(referrer_id, now_ms)
            except ClientError as error:
                if _code(error) != "TransactionConflictException":
                    raise
            if attempt < TICKET_ATTEMPTS:
                self.pause(random.uniform(0, TICKET_RETRY_SECONDS * 2**attempt))  # noqa: S311 - jitter
        return NoTicket.BUSY  # the queue item stayed busy: the caller answers 503

    def give_back_ticket(self, referrer_id: str) -> None:
        """A signup that took a ticket will not commit: later tickets plan without it."""
        self._update_queue(referrer_id, f"ADD {PLANNED_COUNT} :minus_one", {":minus_one": _number(-1)})

    def correct_queue(self, referrer_id: str, ticket: int, planned_count: int) -> None:
        """Set the queue's planned count, unless a ticket was taken after `ticket` (its taker
        planned on the old value, and will correct it in turn if it must)."""
        self._update_queue(
            referrer_id,
            f"SET {PLANNED_COUNT} = :planned",
            {":planned": _number(planned_count), ":ticket": _number(ticket)},
            condition=f"{c.SIGNUP_TICKETS} = :ticket",
        )

    def record_anchor(self, referrer_id: str, anchor: Anchor) -> None:
        """Where the schedule stands at `anchor.ticket`, unless a later ticket recorded it already."""
        self._update_queue(
            referrer_id,
            f"SET {ANCHOR_TICKET} = :ticket, {ANCHOR_START} = :start",
            {":ticket": _number(anchor.ticket), ":start": _number(anchor.start_ms)},
            condition=f"(attribute_not_exists({ANCHOR_TICKET}) OR {ANCHOR_TICKET} <= :ticket)",
        )

    def retune_slot(self, referrer_id: str, slot_ms: int, new_slot_ms: int) -> None:
        """The slot for the tickets taken from now on, unless another signup re-tuned it first."""
        self._update_queue(
            referrer_id,
            # Tickets record the slot they were taken with, so the schedule of the earlier ones
            # stays as it was planned.
            f"SET {SLOT} = :new, {RETUNED_AT} = {c.SIGNUP_TICKETS}",
            {":new": _number(new_slot_ms), ":old": _number(slot_ms)},
            condition=f"{SLOT} = :old",
        )

    def _take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        try:
            # ALL_OLD: the queue as it was, so this ticket's number, the count it plans on and the
            # schedule of the tickets before it come with the ticket, in this one call.
            response = client("dynamodb").update_item(
                TableName=self.table_name,
                Key=_key(_queue_id(referrer_id), c.PROFILE_TIMESTAMP),
                UpdateExpression=TAKE_TICKET,
                # A queue exists only next to a profile: no queue, no ticket (and nothing written).
                ConditionExpression=f"attribute_exists({c.USER_ID})",
                ExpressionAttributeValues={":one": _number(1), ":now": _number(now_ms * SLOT_SCALE)},
                ReturnValues=ALL_OLD,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return self._open_queue(referrer_id, now_ms)
        return _ticket(response["Attributes"])

    def _open_queue(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        """No queue yet: an unknown code, or a profile from before queues. Read the profile (its
        count is where the queue starts) and open its queue with this signup's ticket."""
        profile = self._get(referrer_id, c.PROFILE_TIMESTAMP)
        if profile is None:
            return NoTicket.REFERRER_MISSING
        count = _count(profile)
        number = (_integer(profile, c.SERVED_TICKET) or 0) + 1
        queue = _queue_item(referrer_id) | {
            c.SIGNUP_TICKETS: _number(number),
            PLANNED_COUNT: _number((count or 0) + 1),
            ARRIVALS[0]: _number(now_ms * SLOT_SCALE + SLOT_MS),
        }
        try:
            client("dynamodb").put_item(
                TableName=self.table_name, Item=queue, ConditionExpression=f"attribute_not_exists({c.USER_ID})"
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return self._take_ticket(referrer_id, now_ms)  # another signup opened it just now
        return Ticket(number, planned_count=count)

    def _update_queue(self, referrer_id: str, expression: str, values: dict, condition: str | None = None) -> None:
        # Scheduling state only: when it cannot be written (no queue, a later ticket), nothing
        # depends on it, and the next refused commit shows the count to use.
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=_key(_queue_id(referrer_id), c.PROFILE_TIMESTAMP),
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(filter(None, [f"attribute_exists({c.USER_ID})", condition])),
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) not in ("ConditionalCheckFailedException", "TransactionConflictException"):
                raise

    def commit_referral(
        self, referral: Referral, expected_count: int | None, ticket: int, sent_at_ms: int
    ) -> CommitOutcome | UserExists | CountChanged | EmailTaken:
        items = self._signup_transaction(referral, expected_count, ticket, sent_at_ms)
        try:
            self._transact(items)
        except ClientError as error:
            return _cancellation(error, len(items))
        return CommitOutcome.COMMITTED

    def _transact(self, items: list[dict]) -> None:
        client("dynamodb").transact_write_items(
            TransactItems=items,
            # Makes botocore's own retry of a commit whose answer was lost succeed, instead of
            # failing on the conditions it had already satisfied.
            ClientRequestToken=str(uuid.uuid4()),
        )

    def _put_new(self, item: dict) -> dict:
        """A transaction's Put of an item that must not exist yet; a refusal hands back the one that does."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": f"attribute_not_exists({c.USER_ID})",
                "ReturnValuesOnConditionCheckFailure": ALL_OLD,
            }
        }

    def get_referral(self, user_id: str, timestamp_ms: int) -> Referral | None:
        item = self._get(user_id, timestamp_ms)
        return None if item is None else _referral(item)

    def referrer_items(self, referrer_id: str) -> list[ReferrerItem]:
        pages = (
            client("dynamodb")
            .get_paginator("query")
            .paginate(
                TableName=self.table_name,
                IndexName=c.REFERRER_INDEX,  # projects every attribute: payable_at and the ledger come too
                KeyConditionExpression=f"{c.REFERRER_ID} = :referrer",
                ProjectionExpression="#user, #status, #amount, #payable_at",
                ExpressionAttributeNames={
                    "#user": c.USER_ID,
                    "#status": c.STATUS,
                    "#amount": c.REWARD_AMOUNT,
                    "#payable_at": c.PAYABLE_AT,
                },
                ExpressionAttributeValues={":referrer": {"S": referrer_id}},
            )
        )
        return [_referrer_item(item) for page in pages for item in page["Items"]]

    def _get(self, user_id: str, timestamp_ms: int) -> dict | None:
        # Consistent: an identical retry must see the commit that its first delivery just made,
        # and the stats must show it.
        response = client("dynamodb").get_item(
            TableName=self.table_name, Key=_key(user_id, timestamp_ms), ConsistentRead=True
        )
        return response.get("Item")

    def _signup_transaction(
        self, referral: Referral, expected_count: int | None, ticket: int, sent_at_ms: int
    ) -> list[dict]:
        not_exists = f"attribute_not_exists({c.USER_ID})"
        new_profile = _profile_item(referral.user_id, referral.email) | {
            c.REFERRED_BY: {"S": referral.referrer_id},
            c.REFERRED_AT: _number(referral.timestamp_ms),
        }
        # In the order of NEW_PROFILE, NEW_QUEUE, REFERRAL_ITEM, REFERRER_COUNTER, REFEREE_EMAIL_KEY.
        items = [
            self._put_new(new_profile),
            # The new user can refer others at once. No condition: a queue without its profile
            # is never left behind (the profile is written first everywhere), so none is there.
            {"Put": {"TableName": self.table_name, "Item": _queue_item(referral.user_id)}},
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _referral_item(referral),
                    "ConditionExpression": not_exists,
                }
            },
            {"Update": self._counter_update(referral, expected_count, ticket, sent_at_ms)},
        ]
        if referral.email_key is not None:
            items.append(self._put_new(_email_key_item(referral.email_key, referral.user_id)))
        return items

    def _counter_update(self, referral: Referral, expected_count: int | None, ticket: int, sent_at_ms: int) -> dict:
        values = {
            ":zero": _number(0),
            ":one": _number(1),
            ":reward": _number(referral.reward_amount),
            ":ticket": _number(ticket),
            ":sent": _number(sent_at_ms),
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
                f"{c.SERVED_TICKET} = :ticket, {SERVED_AT} = :sent"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": ALL_OLD,
        }


def _cancellation(error: ClientError, items: int) -> CommitOutcome | UserExists | CountChanged | EmailTaken:
    reasons = _cancellation_reasons(error, items)
    # The profile first: an identical retry finds its own e-mail key taken too, and is answered as one.
    if _failed(reasons, NEW_PROFILE):
        return UserExists(_profile(reasons[NEW_PROFILE]["Item"]))
    if _failed(reasons, REFEREE_EMAIL_KEY):
        return EmailTaken(reasons[REFEREE_EMAIL_KEY]["Item"][OWNER]["S"])
    if _failed(reasons, REFERRER_COUNTER):
        referrer = reasons[REFERRER_COUNTER].get("Item")
        return CommitOutcome.REFERRER_MISSING if referrer is None else CountChanged(_queue_state(referrer))
    if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
        return CommitOutcome.CONFLICT
    raise error  # e.g. the referral item existing without its profile: not a state we create


def _cancellation_reasons(error: ClientError, items: int) -> list[dict]:
    """Why a transaction of `items` items was cancelled, item by item; any other error is raised."""
    reasons = error.response.get("CancellationReasons") or []
    if _code(error) != "TransactionCanceledException" or len(reasons) != items:
        raise error
    return reasons


def _failed(reasons: list[dict], position: int) -> bool:
    return position < len(reasons) and reasons[position].get("Code") == "ConditionalCheckFailed"


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
    reward = referral.reward
    item = _key(referral.user_id, referral.timestamp_ms) | {
        c.REFERRER_ID: {"S": referral.referrer_id},
        c.SIGNUP_DATE: {"S": referral.signup_date},
        c.REWARD_AMOUNT: _number(referral.reward_amount),
        c.REFERRAL_NUMBER: _number(referral.referral_number),
        c.STATUS: {"S": _STATUSES[reward.state]},
    }
    if reward.qualified_at_ms is not None:
        item[c.QUALIFIED_AT] = _number(reward.qualified_at_ms)
    if reward.state is RewardState.PAYABLE and reward.payable_at_ms is not None:
        # Puts the reward into the sparse payable-rewards index the payout reads.
        item[c.PAYABLE_KEY] = {"S": c.PAYABLE_KEY_VALUE}
        item[c.PAYABLE_AT] = _number(reward.payable_at_ms)
    if reward.state is RewardState.FLAGGED:
        # ... or into the review queue's.
        item[c.FLAGGED_KEY] = {"S": c.FLAGGED_KEY_VALUE}
        item[c.REVIEW_SIGNALS] = {"SS": sorted(reward.signals)}
    if referral.email is not None:
        item[c.EMAIL] = {"S": referral.email}
    return item


def _email_key_item(email_key: str, owner: str) -> dict:
    # Only the key and its owner: no address, no referrer, so no index and no message sees it.
    return _key(f"{email_key}{EMAIL_KEY_SUFFIX}", c.PROFILE_TIMESTAMP) | {OWNER: {"S": owner}}


def _count(item: dict) -> int | None:
    return int(item[c.REFERRAL_COUNT]["N"]) if c.REFERRAL_COUNT in item else None


def _queue_state(item: dict) -> QueueState:
    return QueueState(_count(item), _integer(item, c.SERVED_TICKET) or 0, _integer(item, SERVED_AT))


def _queue_id(user_id: str) -> str:
    return f"{user_id}{QUEUE_SUFFIX}"


def _queue_item(user_id: str) -> dict:
    """An empty signup queue: no ticket yet, the count of a new profile, no arrivals."""
    return (
        _key(_queue_id(user_id), c.PROFILE_TIMESTAMP)
        | {c.SIGNUP_TICKETS: _number(0), PLANNED_COUNT: _number(0), SLOT: _number(SLOT_MS)}
        | {arrival: _number(0) for arrival in ARRIVALS}
    )


def _ticket(old_queue: dict) -> Ticket:
    anchor_ticket, anchor_start = _integer(old_queue, ANCHOR_TICKET), _integer(old_queue, ANCHOR_START)
    return Ticket(
        number=(_integer(old_queue, c.SIGNUP_TICKETS) or 0) + 1,
        planned_count=_integer(old_queue, PLANNED_COUNT) or 0,
        slot_ms=_integer(old_queue, SLOT) or SLOT_MS,
        earlier=tuple(_earlier(_integer(old_queue, arrival) or 0) for arrival in ARRIVALS),
        anchor=None if anchor_ticket is None or anchor_start is None else Anchor(anchor_ticket, anchor_start),
        retuned_at=_integer(old_queue, RETUNED_AT) or 0,
    )


def _earlier(recorded: int) -> Earlier:
    return Earlier(recorded // SLOT_SCALE, recorded % SLOT_SCALE) if recorded else Earlier(0)


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
    timestamp_ms = int(item[c.REFERRAL_TIMESTAMP]["N"])
    return Referral(
        user_id=item[c.USER_ID]["S"],
        referrer_id=item[c.REFERRER_ID]["S"],
        timestamp_ms=timestamp_ms,
        email=item[c.EMAIL]["S"] if c.EMAIL in item else None,
        signup_date=item[c.SIGNUP_DATE]["S"],
        reward_amount=Decimal(item[c.REWARD_AMOUNT]["N"]),
        referral_number=int(item[c.REFERRAL_NUMBER]["N"]),
        reward=_signup_reward(item, timestamp_ms),
    )


def _referrer_item(item: dict) -> ReferrerItem:
    return ReferrerItem(
        user_id=item[c.USER_ID]["S"],
        status=item[c.STATUS]["S"] if c.STATUS in item else None,
        reward_amount=Decimal(item[c.REWARD_AMOUNT]["N"]) if c.REWARD_AMOUNT in item else Decimal(0),
        payable_at=_integer(item, c.PAYABLE_AT),
    )
def _signup_reward(item: dict, timestamp_ms: int) -> SignupReward:
    """The reward as it is stored now (it may have moved on since the signup wrote it)."""
    status = item[c.STATUS]["S"]
    if status == c.STATUS_PENDING:  # from before the lifecycle: qualified at signup, no hold
        return SignupReward(RewardState.PAYABLE, timestamp_ms, timestamp_ms)
    signals = frozenset(ReviewSignal(signal) for signal in item.get(c.REVIEW_SIGNALS, {}).get("SS", []))
    # The stored statuses are the states' names (a clawed-back item stays `paid`).
    return SignupReward(RewardState(status), _integer(item, c.QUALIFIED_AT), _integer(item, c.PAYABLE_AT), signals)
