"""Netting clawbacks against a payout (referrals/clawback_netting.py): oldest first, never a
negative payment, the rest carried to later months, exact to the cent."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from referrals.clawback_netting import Clawback, Netting, Settlement, net_clawbacks
from referrals.money import MAX_AMOUNT

D = Decimal


def clawbacks(*amounts: str) -> list[Clawback]:
    return [Clawback(f"c{index}", D(amount)) for index, amount in enumerate(amounts, 1)]


def test_clawbacks_within_the_total_are_settled_in_full() -> None:
    netting = net_clawbacks(D("25.00"), clawbacks("10.00", "7.50"))
    assert netting.paid == D("7.50")
    assert [(s.settled, s.remaining) for s in netting.settlements] == [(D("10.00"), D("0.00")), (D("7.50"), D("0.00"))]
    assert (netting.clawed_back, netting.carried_forward, netting.still_owed) == (D("17.50"), D("0.00"), D("0.00"))


def test_oldest_first_and_the_rest_carried() -> None:
    owed = clawbacks("10.00", "10.00", "10.00")
    netting = net_clawbacks(D("15.00"), owed)
    assert netting == Netting(
        payable=D("15.00"),
        paid=D("0.00"),
        settlements=(
            Settlement(owed[0], D("10.00"), D("0.00")),
            Settlement(owed[1], D("5.00"), D("5.00")),  # covered in part: the payout carries 5.00
            Settlement(owed[2], D("0.00"), D("10.00")),  # not reached: stays open as it is
        ),
    )
    assert [s.is_netted for s in netting.settlements] == [True, True, False]
    assert (netting.clawed_back, netting.carried_forward, netting.still_owed) == (D("15.00"), D("5.00"), D("15.00"))


def test_nothing_payable_nets_nothing_and_pays_nothing() -> None:
    netting = net_clawbacks(D("0"), clawbacks("3.00"))
    assert (netting.paid, netting.clawed_back, netting.still_owed) == (D("0.00"), D("0.00"), D("3.00"))
    assert not netting.settlements[0].is_netted


def test_without_clawbacks_the_total_is_paid() -> None:
    assert net_clawbacks(D("12.5"), []) == Netting(D("12.50"), D("12.50"), ())


@pytest.mark.parametrize(
    ("payable", "owed", "problem"),
    [
        (D("-0.01"), [], "payable total must be at least 0.00"),
        (D("1.001"), [], "more than two decimal places"),
        (D("5"), clawbacks("0.00"), "clawback c1 must be more than 0.00"),
        (D("5"), clawbacks("-1.00"), "clawback c1 must be more than 0.00"),
        (D("5"), clawbacks("0.005"), "more than two decimal places"),
        (D("5"), [Clawback("c1", D("1")), Clawback("c1", D("1"))], "listed twice"),
    ],
)
def test_amounts_that_cannot_be_netted_are_refused(payable: Decimal, owed: list[Clawback], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        net_clawbacks(payable, owed)


def in_cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda count: D(count).scaleb(-2))


PAYABLE = in_cents(0, 10**14)  # a month's total for one referrer: many rewards of up to MAX_AMOUNT
OWED = in_cents(1, int(MAX_AMOUNT * 100))
CLAWBACK_LISTS = st.lists(OWED, max_size=12).map(lambda amounts: clawbacks(*map(str, amounts)))


@settings(max_examples=1000, deadline=None)
@given(PAYABLE | in_cents(0, 3_000), CLAWBACK_LISTS)
def test_netting_is_exact_and_never_negative(payable: Decimal, owed: list[Clawback]) -> None:
    netting = net_clawbacks(payable, owed)
    owed_total = sum((c.amount for c in owed), D(0))
    assert netting.paid == max(D(0), payable - owed_total)
    assert netting.paid >= 0
    assert netting.paid + netting.clawed_back == payable
    assert netting.clawed_back + netting.still_owed == owed_total
    if owed_total <= payable:
        assert netting.clawed_back == owed_total
        assert netting.still_owed == 0
    for settlement in netting.settlements:
        assert 0 <= settlement.settled <= settlement.clawback.amount
        assert settlement.settled + settlement.remaining == settlement.clawback.amount
    amounts = [netting.paid, *(v for s in netting.settlements for v in (s.settled, s.remaining))]
    assert all(amount.as_tuple().exponent == -2 for amount in amounts)


@settings(max_examples=500, deadline=None)
@given(PAYABLE | in_cents(0, 3_000), CLAWBACK_LISTS)
def test_oldest_first_leaves_at_most_one_clawback_in_part(payable: Decimal, owed: list[Clawback]) -> None:
    settlements = net_clawbacks(payable, owed).settlements
    covered = [s.remaining == 0 for s in settlements]
    # Covered in full, then at most one in part, then untouched ones.
    first_uncovered = covered.index(False) if False in covered else len(covered)
    assert all(covered[:first_uncovered])
    assert all(s.settled == 0 for s in settlements[first_uncovered + 1 :])
    netted_in_part = [s for s in settlements if s.is_netted and s.remaining > 0]
    assert len(netted_in_part) <= 1
    assert net_clawbacks(payable, owed).carried_forward == sum((s.remaining for s in netted_in_part), D(0))


MONTHS = st.lists(st.tuples(in_cents(0, 5_000), st.lists(in_cents(1, 4_000), max_size=4)), min_size=1, max_size=12)


@settings(max_examples=500, deadline=None)
@given(MONTHS)
def test_carried_clawbacks_are_netted_across_months_to_the_cent(months: list[tuple[Decimal, list[Decimal]]]) -> None:
    # As the payout will run it: each month nets what is still open (what the last payout did not
    # reach, its carry, then the month's new clawbacks) and records the carry as a new clawback.
    open_clawbacks: list[Clawback] = []
    paid = clawed_back = created = D(0)
    for month, (payable, new_amounts) in enumerate(months):
        new = [Clawback(f"m{month}-c{index}", amount) for index, amount in enumerate(new_amounts)]
        created += sum(new_amounts, D(0))
        owed_before = sum((c.amount for c in open_clawbacks + new), D(0))
        netting = net_clawbacks(payable, open_clawbacks + new)
        assert netting.paid == max(D(0), payable - owed_before)
        assert netting.paid == 0 or netting.still_owed == 0  # nobody is paid while they still owe
        paid += netting.paid
        clawed_back += netting.clawed_back
        untouched = [s.clawback for s in netting.settlements if not s.is_netted]
        carry = [Clawback(f"m{month}-carry", netting.carried_forward)] if netting.carried_forward else []
        open_clawbacks = untouched + carry
    total_payable = sum((payable for payable, _ in months), D(0))
    still_owed = sum((c.amount for c in open_clawbacks), D(0))
    assert paid + clawed_back == total_payable
    assert clawed_back + still_owed == created
    assert all(c.amount.as_tuple().exponent == -2 for c in open_clawbacks)
