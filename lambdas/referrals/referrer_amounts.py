"""What became of a referrer's rewards: the amounts of GET /referrers/{code} by state, no AWS.

The stats read every item of the referrer on referrer-index (docs/lifecycle-design.md#stats):
their referral items, and their clawbacks and carries, which carry `referrer_id` too. Each
referral item counts in exactly one state's amount; the ledger's items count in none of them (a
clawback is a debt, not a reward) and only their open ones in `open_clawbacks`. Sums are exact
(money.total raises rather than round), so the amounts partition the rewards to the cent.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, auto

from referrals import contract as c
from referrals.money import cents, total


@dataclass(frozen=True)
class ReferrerItem:
    """One of the referrer's items on referrer-index, as the stats read it."""

    user_id: str  # the referee; a ledger item's ends in CLAWBACK_SUFFIX or CARRY_SUFFIX
    status: str | None
    reward_amount: Decimal
    payable_at: int | None = None  # epoch ms; set while payable


@dataclass(frozen=True)
class ReferrerAmounts:
    waiting: Decimal  # waiting for qualification, or payable but still in its hold
    flagged: Decimal
    payable: Decimal  # payable now: the next payout pays it
    paid: Decimal  # paid, clawed back or not (a paid item stays paid)
    reversed: Decimal  # voided before payment
    open_clawbacks: Decimal  # open clawbacks and carries: what later payouts will net

    @property
    def pending(self) -> Decimal:
        """Earned, not yet paid or reversed."""
        return cents(total((self.waiting, self.flagged, self.payable)))


class _Bucket(Enum):
    WAITING = auto()
    FLAGGED = auto()
    PAYABLE = auto()
    PAID = auto()
    REVERSED = auto()
    OPEN_CLAWBACK = auto()


_REWARD_BUCKETS = {
    c.STATUS_WAITING: _Bucket.WAITING,
    c.STATUS_FLAGGED: _Bucket.FLAGGED,
    c.STATUS_PAYABLE: _Bucket.PAYABLE,
    c.STATUS_PENDING: _Bucket.PAYABLE,  # items from before the lifecycle: payable, with no hold
    c.STATUS_PAID: _Bucket.PAID,
    c.STATUS_REVERSED: _Bucket.REVERSED,
}
_LEDGER_SUFFIXES = (c.CLAWBACK_SUFFIX, c.CARRY_SUFFIX)
_LEDGER_STATUSES = frozenset({c.CLAWBACK_OPEN, c.CLAWBACK_SETTLED})


def referrer_amounts(items: Iterable[ReferrerItem], now_ms: int) -> ReferrerAmounts:
    """The referrer's amounts by state at `now_ms`; ValueError for an item in no known state."""
    sums: dict[_Bucket, list[Decimal]] = {bucket: [] for bucket in _Bucket}
    for item in items:
        bucket = _bucket(item, now_ms)
        if bucket is not None:
            sums[bucket].append(item.reward_amount)
    # Two places, as every amount is written: DynamoDB hands 12.50 back as 12.5.
    amount = {bucket: cents(total(amounts)) for bucket, amounts in sums.items()}
    return ReferrerAmounts(
        waiting=amount[_Bucket.WAITING],
        flagged=amount[_Bucket.FLAGGED],
        payable=amount[_Bucket.PAYABLE],
        paid=amount[_Bucket.PAID],
        reversed=amount[_Bucket.REVERSED],
        open_clawbacks=amount[_Bucket.OPEN_CLAWBACK],
    )


def _bucket(item: ReferrerItem, now_ms: int) -> _Bucket | None:
    if item.user_id.endswith(_LEDGER_SUFFIXES):
        if item.status not in _LEDGER_STATUSES:
            raise ValueError(f"ledger item {item.user_id} has unknown status {item.status!r}")
        return _Bucket.OPEN_CLAWBACK if item.status == c.CLAWBACK_OPEN else None  # settled: netted already
    if item.status not in _REWARD_BUCKETS:
        raise ValueError(f"referral item of {item.user_id} has unknown status {item.status!r}")
    bucket = _REWARD_BUCKETS[item.status]
    if bucket is _Bucket.PAYABLE and item.payable_at is not None and item.payable_at > now_ms:
        return _Bucket.WAITING  # in its hold: no payout may pay it yet
    return bucket
