"""Per-referrer payout totals, built one reward at a time so a payout never holds whole items,
and the clawbacks netted against them (referrals/clawback_netting.py).

A referrer's gross total is the sum of the rewards this payout claimed for them. The clawbacks
and carries this payout settled (claimed) are kept per referrer too, and only they are netted:
the amounts paid, clawed back and carried forward follow from the claimed set alone, so a rerun
that finds the same claims (payout-index) computes the same figures.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from referrals.clawback_netting import Clawback, net_clawbacks
from referrals.money import add, cents, parse_amount, total

NO_AMOUNT = Decimal("0.00")


class ReferrerTotal(NamedTuple):
    referrer_id: str
    amount: Decimal  # what the referrer is paid: their rewards less what was clawed back
    reward_count: int
    clawed_back: Decimal = NO_AMOUNT  # settled from their clawbacks and carries by this payout
    carried_forward: Decimal = NO_AMOUNT  # what they still owe of the settled ones: this payout's carry

    @property
    def gross(self) -> Decimal:
        """The referrer's rewards in this payout, before netting."""
        return cents(add(self.amount, self.clawed_back))

    @property
    def is_netted(self) -> bool:
        """Clawbacks took the whole total: nothing is paid."""
        return self.amount == 0 and self.clawed_back > 0


class PayoutTotals:
    def __init__(self) -> None:
        self._by_referrer: dict[str, tuple[Decimal, int]] = {}
        self._settled: dict[str, dict[str, Clawback]] = {}  # referrer -> key -> clawback this payout claimed

    def add(self, referrer_id: str, amount: Decimal) -> None:
        subtotal, count = self._by_referrer.get(referrer_id, (Decimal(0), 0))
        self._by_referrer[referrer_id] = (add(subtotal, amount), count + 1)

    def has_total(self, referrer_id: str) -> bool:
        """Whether the referrer has a reward in this payout: only their clawbacks are netted."""
        return referrer_id in self._by_referrer

    def add_settled(self, referrer_id: str, clawback: Clawback) -> None:
        """A clawback or carry this payout claimed (now, or in an earlier invocation)."""
        self._settled.setdefault(referrer_id, {})[clawback.key] = clawback

    def reached(self, referrer_id: str, open_clawbacks: Sequence[Clawback]) -> list[Clawback]:
        """Which of the referrer's open clawbacks (oldest first) this payout nets, so must claim.

        The ones already claimed come first: they are this payout's for good. An open one that
        is already among them (the open index lagging behind a claim) is left out.
        """
        settled = self._settled.get(referrer_id, {})
        candidates = [clawback for clawback in open_clawbacks if clawback.key not in settled]
        gross, _ = self._by_referrer.get(referrer_id, (Decimal(0), 0))
        netting = net_clawbacks(gross, [*_by_key(settled), *candidates])
        return [s.clawback for s in netting.settlements[len(settled) :] if s.is_netted]

    def rows(self) -> list[ReferrerTotal]:
        """One row per referrer, sorted by referrer id so every run renders the same report."""
        return [self._row(referrer, gross, count) for referrer, (gross, count) in sorted(self._by_referrer.items())]

    def _row(self, referrer_id: str, gross: Decimal, count: int) -> ReferrerTotal:
        settled = self._settled.get(referrer_id)
        if not settled:
            return ReferrerTotal(referrer_id, cents(gross), count)
        # The amounts do not depend on the order; listed by key, the split between them does not either.
        netting = net_clawbacks(gross, _by_key(settled))
        return ReferrerTotal(referrer_id, netting.paid, count, cents(netting.clawed_back), cents(netting.still_owed))

    @property
    def referrer_count(self) -> int:
        return len(self._by_referrer)

    @property
    def reward_count(self) -> int:
        return sum(count for _, count in self._by_referrer.values())

    @property
    def total_amount(self) -> Decimal:
        """The sum of the rewards, before netting (the gross of every row)."""
        # Exact or raising (referrals.money.EXACT), never rounded: amounts are bounded.
        return cents(total(subtotal for subtotal, _ in self._by_referrer.values()))

    @property
    def clawbacks_settled(self) -> int:
        """Clawback and carry items this payout settled, of referrers it pays."""
        return sum(len(settled) for referrer, settled in self._settled.items() if referrer in self._by_referrer)


def _by_key(settled: dict[str, Clawback]) -> list[Clawback]:
    return [settled[key] for key in sorted(settled)]


def amounts_of(rows: Sequence[ReferrerTotal]) -> tuple[Decimal, Decimal, Decimal]:
    """Paid, clawed back and carried forward over all rows, exact."""
    return (
        cents(total(row.amount for row in rows)),
        cents(total(row.clawed_back for row in rows)),
        cents(total(row.carried_forward for row in rows)),
    )


def payable_amount(value: object) -> Decimal:
    """A reward amount that can be paid: finite, whole cents, from 0 to money.MAX_AMOUNT.

    Checked before a reward is claimed, so a malformed item (or one above the bound, whose sums
    could outgrow exact arithmetic) stops the payout loudly before it is marked paid rather than after.
    """
    return parse_amount(value)
