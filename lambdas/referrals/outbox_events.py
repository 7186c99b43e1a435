"""Which committed change becomes which message: the decision of the transactional outbox, no AWS.

The tables are the outbox. A signup's transaction and a payout's completing update are the
events; the stream relay (event_relay/handler.py) hands each change here and publishes what comes
back. A change is given as plain values (numbers as exact Decimals), so this module neither knows
the stream's wire format nor the table names: the keys say which table a change is from.

- A referral item created (INSERT at a signup time, with a referrer) -> `referral.rewarded`.
- A payout run record becoming completed (MODIFY from any other status, or an INSERT already
  completed) -> `payout.completed`, from the summary the completing update stores.
- Anything else (profiles and their counters, queue tickets, claims, credits, leases, TTL
  deletions) -> nothing.

Every message body carries `eventId`, named after what happened rather than after the stream
record: `referral.rewarded:<userId>` (a user is rewarded at most once) and
`payout.completed:<payoutId>` (a payout completes once). A redelivered or replayed record, or the
same change read again from a new stream, gets the same id, so consumers drop repeats by it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from referrals import contract as c
from referrals.money import cents
from referrals.payout_summary import COMPLETED_EVENT_TYPE, completed_message, summary_from_record

Image = Mapping[str, Any]  # an item's attributes as plain values (str, Decimal, dict, ...)

INSERT, MODIFY, REMOVE = "INSERT", "MODIFY", "REMOVE"


@dataclass(frozen=True)
class Change:
    """One committed change of one item, as a stream record describes it."""

    event_name: str  # INSERT, MODIFY or REMOVE
    keys: Image
    old_image: Image | None = None  # None: the item did not exist before (INSERT)
    new_image: Image | None = None  # None: the item is gone (REMOVE)


@dataclass(frozen=True)
class Message:
    event_type: str  # also the SNS message attribute event_type, for subscription filters
    event_id: str  # the same for every delivery of one change
    body: dict[str, Any]  # the JSON body, eventId included; amounts are exact Decimals


class UnknownChange(ValueError):
    """A change from neither the referral table nor the idempotency table (a stream wired wrongly)."""


def message_for(change: Change) -> Message | None:
    """The message a committed change publishes, or None if it publishes nothing."""
    if c.USER_ID in change.keys and c.REFERRAL_TIMESTAMP in change.keys:
        return _referral_message(change)
    if c.IDEMPOTENCY_KEY in change.keys:
        return _run_message(change)
    raise UnknownChange(f"a change with keys {sorted(change.keys)} is from no table the relay knows")


def reward_event_id(user_id: str) -> str:
    return f"{c.REFERRAL_REWARDED}:{user_id}"


def payout_event_id(payout_id: str) -> str:
    return f"{COMPLETED_EVENT_TYPE}:{payout_id}"


def reward_message(user_id: str, referrer_id: str, reward_amount: Decimal, referral_count: int) -> dict[str, Any]:
    """The referral.rewarded body without its eventId (exact decimals when written with exact_json)."""
    return {
        "type": c.REFERRAL_REWARDED,
        "userId": user_id,
        "referrerId": referrer_id,
        "rewardAmount": cents(reward_amount),  # DynamoDB hands 12.50 back as 12.5
        "referralCount": referral_count,
    }


def _referral_message(change: Change) -> Message | None:
    item = change.new_image
    # Only the signup transaction creates referral items; later changes (a payout's claim) are
    # MODIFYs, and profiles sit at PROFILE_TIMESTAMP without a referrer.
    if change.event_name != INSERT or item is None or item.get(c.REFERRAL_TIMESTAMP) == c.PROFILE_TIMESTAMP:
        return None
    if c.REFERRER_ID not in item:
        return None
    user_id = str(item[c.USER_ID])
    try:
        body = reward_message(user_id, item[c.REFERRER_ID], item[c.REWARD_AMOUNT], int(item[c.REFERRAL_NUMBER]))
    except KeyError as missing:
        raise ValueError(f"referral item of {user_id} lacks {missing}") from missing
    return _message(c.REFERRAL_REWARDED, reward_event_id(user_id), body)


def _run_message(change: Change) -> Message | None:
    record, before = change.new_image, change.old_image
    if record is None or record.get(c.STATUS) != c.RUN_COMPLETED:
        return None
    if before is not None and before.get(c.STATUS) == c.RUN_COMPLETED:
        return None  # already completed (a resent completion): its message came from that change
    if c.RUN_SUMMARY not in record:
        raise ValueError(f"completed run record {record.get(c.IDEMPOTENCY_KEY)!r} has no {c.RUN_SUMMARY}")
    summary = summary_from_record(record[c.RUN_SUMMARY])
    return _message(COMPLETED_EVENT_TYPE, payout_event_id(summary.payout_id), completed_message(summary))


def _message(event_type: str, event_id: str, body: dict[str, Any]) -> Message:
    return Message(event_type, event_id, body | {"eventId": event_id})
