"""Which committed change becomes which messages: the decision of the transactional outbox, no AWS.

The tables are the outbox. A signup's transaction, an admin action's update and a payout's
completing update are the events; the stream relay (event_relay/handler.py) hands each change
here and publishes what comes back, in order. A change is given as plain values (numbers as exact
Decimals), so this module neither knows the stream's wire format nor the table names: the keys
say which table a change is from. One message per transition of a reward
(docs/lifecycle-design.md#events):

- A referral item created (INSERT at a signup time, with a referrer) -> `referral.rewarded` with
  the reward's `status` (`payable`, `waiting` or `flagged`; a legacy `pending` item says
  `payable`), and if flagged also `reward.flagged` with its review signals.
- A referral item modified, old image against new: `status` becoming `reversed` ->
  `reward.reversed`; `qualified_at` newly set by a qualify (waiting -> payable, or flagged and
  still flagged) -> `reward.qualified`; `status` flagged -> payable or waiting ->
  `reward.approved`. (Reversing a legacy item sets `qualified_at` too: that change is only the
  reversal.)
- A clawback item (`<referee>#clawback`) created -> `reward.clawed_back`; the paid item's own
  change (`clawed_back_at`) publishes nothing, so the clawback is one event.
- A payout run record becoming completed (MODIFY from any other status, or an INSERT already
  completed) -> `payout.completed`, from the summary the completing update stores.
- Anything else (profiles and their counters, queue tickets, e-mail keys, carries, a clawback's
  settlement, a payout's claim, credits, leases, TTL deletions) -> nothing.

Every message body carries `eventId`, named after what happened rather than after the stream
record: `<type>:<userId>` for a reward's messages (each transition happens at most once per
reward) and `payout.completed:<payoutId>` (a payout completes once). A redelivered or replayed
record, or the same change read again from a new stream, gets the same ids, so consumers drop
repeats by them. No message carries an e-mail address.
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


# How a stored status is announced: an item from before the lifecycle (`pending`) is payable.
_ANNOUNCED_STATUS = {
    c.STATUS_PENDING: c.STATUS_PAYABLE,
    c.STATUS_PAYABLE: c.STATUS_PAYABLE,
    c.STATUS_WAITING: c.STATUS_WAITING,
    c.STATUS_FLAGGED: c.STATUS_FLAGGED,
}
# What qualify moves (waiting -> payable, flagged -> flagged) and what approve does to a flagged reward.
_QUALIFIED_FROM = frozenset({c.STATUS_WAITING, c.STATUS_FLAGGED})
_QUALIFIED_INTO = frozenset({c.STATUS_PAYABLE, c.STATUS_FLAGGED})
_CLEARED_OF_FLAG = frozenset({c.STATUS_PAYABLE, c.STATUS_WAITING})


def message_for(change: Change) -> tuple[Message, ...]:
    """The messages a committed change publishes, in order (most changes publish none)."""
    if c.USER_ID in change.keys and c.REFERRAL_TIMESTAMP in change.keys:
        return _referral_table_messages(change)
    if c.IDEMPOTENCY_KEY in change.keys:
        return _run_messages(change)
    raise UnknownChange(f"a change with keys {sorted(change.keys)} is from no table the relay knows")


def reward_event_id(user_id: str, event_type: str = c.REFERRAL_REWARDED) -> str:
    return f"{event_type}:{user_id}"


def payout_event_id(payout_id: str) -> str:
    return f"{COMPLETED_EVENT_TYPE}:{payout_id}"


def reward_message(
    user_id: str, referrer_id: str, reward_amount: Decimal, referral_count: int, status: str
) -> dict[str, Any]:
    """The referral.rewarded body without its eventId (exact decimals when written with exact_json)."""
    return _reward_body(c.REFERRAL_REWARDED, user_id, referrer_id, reward_amount) | {
        "referralCount": referral_count,
        "status": status,
    }


def _referral_table_messages(change: Change) -> tuple[Message, ...]:
    user_id = str(change.keys[c.USER_ID])
    # Profiles, signup queues and e-mail keys sit at PROFILE_TIMESTAMP; none is an event.
    if change.keys[c.REFERRAL_TIMESTAMP] == c.PROFILE_TIMESTAMP:
        return ()
    if user_id.endswith(c.CLAWBACK_SUFFIX):
        return _clawback_messages(user_id.removesuffix(c.CLAWBACK_SUFFIX), change)
    if "#" in user_id:
        return ()  # a carry (CARRY_SUFFIX) or any other ledger item: no user id contains '#'
    return _reward_messages(user_id, change)


def _clawback_messages(referee: str, change: Change) -> tuple[Message, ...]:
    # Created once per clawed-back reward; its settlement by a payout is a MODIFY: nothing.
    if change.event_name != INSERT or change.new_image is None:
        return ()
    return (_clawed_back(referee, change.new_image),)


def _reward_messages(user_id: str, change: Change) -> tuple[Message, ...]:
    if change.event_name == INSERT and change.new_image is not None:
        return _created(user_id, change.new_image)
    if change.event_name == MODIFY:
        if change.old_image is None or change.new_image is None:
            raise ValueError(f"a change of the referral item of {user_id} lacks its old or new image")
        return _modified(user_id, change.old_image, change.new_image)
    return ()  # a referral item deleted: no transition of its reward


def _created(user_id: str, item: Image) -> tuple[Message, ...]:
    if c.REFERRER_ID not in item:
        return ()
    status = _announced_status(user_id, item)
    try:
        body = reward_message(user_id, item[c.REFERRER_ID], item[c.REWARD_AMOUNT], int(item[c.REFERRAL_NUMBER]), status)
    except KeyError as missing:
        raise ValueError(f"referral item of {user_id} lacks {missing}") from missing
    rewarded = _message(c.REFERRAL_REWARDED, reward_event_id(user_id), body)
    if status != c.STATUS_FLAGGED:
        return (rewarded,)
    if not item.get(c.REVIEW_SIGNALS):
        raise ValueError(f"flagged referral item of {user_id} lacks {c.REVIEW_SIGNALS!r}")
    signals = sorted(item[c.REVIEW_SIGNALS])  # a string set: sorted, so every delivery reads the same
    flagged = _reward_event(c.REWARD_FLAGGED, user_id, item, {"signals": signals})
    return (rewarded, flagged)


def _modified(user_id: str, old: Image, new: Image) -> tuple[Message, ...]:
    before, after = old.get(c.STATUS), new.get(c.STATUS)
    if after == c.STATUS_REVERSED:
        if before == c.STATUS_REVERSED:
            return ()
        if c.REVERSAL_REASON not in new:
            raise ValueError(f"reversed referral item of {user_id} lacks {c.REVERSAL_REASON!r}")
        return (_reward_event(c.REWARD_REVERSED, user_id, new, {"reason": new[c.REVERSAL_REASON]}),)
    messages = []
    newly_qualified = c.QUALIFIED_AT in new and c.QUALIFIED_AT not in old
    if newly_qualified and before in _QUALIFIED_FROM and after in _QUALIFIED_INTO:
        messages.append(_reward_event(c.REWARD_QUALIFIED, user_id, new, {"status": after}))
    if before == c.STATUS_FLAGGED and after in _CLEARED_OF_FLAG:
        messages.append(_reward_event(c.REWARD_APPROVED, user_id, new, {"status": after}))
    newly_clawed_back = c.CLAWED_BACK_AT in new and c.CLAWED_BACK_AT not in old
    if newly_clawed_back and new.get(c.REWARD_AMOUNT) == 0:
        # A paid 0.00 reward owes nothing, so no clawback item announces its reversal: its mark does.
        messages.append(_clawed_back(user_id, new))
    # Anything else: the payout's claim (-> paid), a paid reward marked clawed back (its clawback
    # item's INSERT is the event), no transition.
    return tuple(messages)


def _clawed_back(referee: str, clawback: Image) -> Message:
    if c.REVERSAL_REASON not in clawback:
        raise ValueError(f"clawback of {referee} lacks {c.REVERSAL_REASON!r}")
    return _reward_event(c.REWARD_CLAWED_BACK, referee, clawback, {"reason": clawback[c.REVERSAL_REASON]})


def _announced_status(user_id: str, item: Image) -> str:
    status = item.get(c.STATUS)
    if status not in _ANNOUNCED_STATUS:
        raise ValueError(f"referral item of {user_id} has status {status!r}, which no reward event announces")
    return _ANNOUNCED_STATUS[status]


def _reward_event(event_type: str, user_id: str, item: Image, fields: dict[str, Any]) -> Message:
    try:
        body = _reward_body(event_type, user_id, item[c.REFERRER_ID], item[c.REWARD_AMOUNT]) | fields
    except KeyError as missing:
        raise ValueError(f"{event_type} item of {user_id} lacks {missing}") from missing
    return _message(event_type, reward_event_id(user_id, event_type), body)


def _reward_body(event_type: str, user_id: str, referrer_id: str, reward_amount: Decimal) -> dict[str, Any]:
    return {
        "type": event_type,
        "userId": user_id,
        "referrerId": referrer_id,
        "rewardAmount": cents(reward_amount),  # DynamoDB hands 12.50 back as 12.5
    }


def _run_messages(change: Change) -> tuple[Message, ...]:
    record, before = change.new_image, change.old_image
    if record is None or record.get(c.STATUS) != c.RUN_COMPLETED:
        return ()
    if before is not None and before.get(c.STATUS) == c.RUN_COMPLETED:
        return ()  # already completed (a resent completion): its message came from that change
    if c.RUN_SUMMARY not in record:
        raise ValueError(f"completed run record {record.get(c.IDEMPOTENCY_KEY)!r} has no {c.RUN_SUMMARY}")
    summary = summary_from_record(record[c.RUN_SUMMARY])
    return (_message(COMPLETED_EVENT_TYPE, payout_event_id(summary.payout_id), completed_message(summary)),)


def _message(event_type: str, event_id: str, body: dict[str, Any]) -> Message:
    return Message(event_type, event_id, body | {"eventId": event_id})
