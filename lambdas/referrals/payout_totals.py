"""Per-referrer payout totals, built one reward at a time so a payout never holds whole items."""

from decimal import Decimal
from typing import NamedTuple

from referrals.money import add, cents, parse_amount, total


class ReferrerTotal(NamedTuple):
    referrer_id: str
    amount: Decimal
    reward_count: int


class PayoutTotals:
    def __init__(self) -> None:
        self._by_referrer: dict[str, tuple[Decimal, int]] = {}

    def add(self, referrer_id: str, amount: Decimal) -> None:
        subtotal, count = self._by_referrer.get(referrer_id, (Decimal(0), 0))
        self._by_referrer[referrer_id] = (add(subtotal, amount), count + 1)

    def rows(self) -> list[ReferrerTotal]:
        """One row per referrer, sorted by referrer id so every run renders the same report."""
        return [
            ReferrerTotal(referrer_id, total, count)
            for referrer_id, (total, count) in sorted(self._by_referrer.items())
        ]

    @property
    def referrer_count(self) -> int:
        return len(self._by_referrer)

    @property
    def reward_count(self) -> int:
        return sum(count for _, count in self._by_referrer.values())

    @property
    def total_amount(self) -> Decimal:
        # Exact or raising (referrals.money.EXACT), never rounded: amounts are bounded.
        return cents(total(subtotal for subtotal, _ in self._by_referrer.values()))


def payable_amount(value: object) -> Decimal:
    """A reward amount that can be paid: finite, whole cents, from 0 to money.MAX_AMOUNT.

    Checked before a reward is claimed, so a malformed item (or one above the bound, whose sums
    could outgrow exact arithmetic) stops the payout loudly before it is marked paid rather than after.
    """
    return parse_amount(value)
