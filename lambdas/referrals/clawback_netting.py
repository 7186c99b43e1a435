"""Netting a referrer's open clawbacks against what a payout owes them: never a negative payment,
and whatever is not netted this month stays owed.

Decisions only. Oldest clawback first, each takes what is left of the referrer's payable total,
up to its own amount; what is left after them is paid. A clawback the total covers in part keeps
the rest (the payout records it as a carry for later months); one the total does not reach stays
open as it is. Exact cents throughout (money.EXACT): nothing is rounded.

The payout lists first the clawbacks an earlier, interrupted invocation of the same payout has
already claimed (they are its for good), then the open ones oldest first; docs/lifecycle-design.md
says why that keeps every rerun's netting the same.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from referrals.money import cents, subtract, total


class Clawback(NamedTuple):
    key: str  # the ledger item: a reversed paid reward's clawback, or an earlier payout's carry
    amount: Decimal  # owed, more than 0


class Settlement(NamedTuple):
    clawback: Clawback
    settled: Decimal  # netted against this payout
    remaining: Decimal  # still owed after it

    @property
    def is_netted(self) -> bool:
        """This payout takes (claims) the clawback: all of it was settled, or part and the rest is carried."""
        return self.settled > 0


class Netting(NamedTuple):
    payable: Decimal  # the referrer's total of the rewards this payout pays them
    paid: Decimal  # what they are paid: the payable total less what was clawed back, never negative
    settlements: tuple[Settlement, ...]  # one per clawback, in the order given

    @property
    def clawed_back(self) -> Decimal:
        return total(s.settled for s in self.settlements)

    @property
    def carried_forward(self) -> Decimal:
        """What is left of the clawbacks this payout nets in part: the carry it records."""
        return total(s.remaining for s in self.settlements if s.is_netted)

    @property
    def still_owed(self) -> Decimal:
        """Everything the referrer owes after this payout: the carry and the clawbacks not reached."""
        return total(s.remaining for s in self.settlements)


def net_clawbacks(payable: Decimal, clawbacks: Sequence[Clawback]) -> Netting:
    """Nets `clawbacks` (in the order given: oldest first) against the `payable` total."""
    left = _amount("payable total", payable, allow_zero=True)
    if len({clawback.key for clawback in clawbacks}) != len(clawbacks):
        raise ValueError("a clawback is listed twice: it would be netted twice")
    settlements = []
    for clawback in clawbacks:
        owed = _amount(f"clawback {clawback.key}", clawback.amount, allow_zero=False)
        settled = min(owed, left)
        left = subtract(left, settled)
        settlements.append(Settlement(clawback, settled, subtract(owed, settled)))
    return Netting(cents(payable), left, tuple(settlements))


def _amount(what: str, amount: Decimal, allow_zero: bool) -> Decimal:
    exact = cents(amount)  # ValueError for fractions of a cent
    if exact < 0 or (exact == 0 and not allow_zero):
        raise ValueError(f"{what} must be {'at least' if allow_zero else 'more than'} 0.00, not {amount}")
    return exact
