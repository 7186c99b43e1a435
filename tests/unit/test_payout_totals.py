import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.clawback_netting import Clawback
from referrals.payout_report import render_report
from referrals.payout_totals import PayoutTotals, ReferrerTotal, amounts_of, payable_amount


def test_groups_rewards_per_referrer_with_exact_decimal_totals() -> None:
    totals = PayoutTotals()
    for referrer, amount in [("b", "0.10"), ("a", "0.20"), ("b", "0.20"), ("a", "10"), ("b", "0.00")]:
        totals.add(referrer, Decimal(amount))

    assert totals.rows() == [
        ReferrerTotal("a", Decimal("10.20"), 2),
        ReferrerTotal("b", Decimal("0.30"), 3),
    ]
    assert (totals.referrer_count, totals.reward_count) == (2, 5)
    assert totals.total_amount == Decimal("10.50")
    assert str(totals.total_amount) == "10.50"


def test_no_rewards_means_zero_totals() -> None:
    totals = PayoutTotals()
    assert (totals.rows(), totals.referrer_count, totals.reward_count) == ([], 0, 0)
    assert str(totals.total_amount) == "0.00"


def test_large_totals_stay_exact() -> None:
    totals = PayoutTotals()
    for _ in range(100_000):
        totals.add("big", Decimal("99999.99"))
    assert totals.total_amount == Decimal("9999999000.00")


@pytest.mark.parametrize("value", [Decimal("10"), Decimal("12.5"), Decimal("12.50"), 7, "0.01"])
def test_payable_amounts(value: object) -> None:
    assert payable_amount(value) == Decimal(str(value))


@pytest.mark.parametrize("value", [Decimal("0.001"), Decimal("-1"), Decimal("NaN"), 1.5, "ten", True])
def test_unpayable_amounts_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        payable_amount(value)


cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: Decimal(n).scaleb(-2))
rewards = st.lists(st.tuples(st.sampled_from(["a", "b,c", 'd"e', "f", "ü"]), cents), max_size=60)


@given(rewards)
def test_the_report_adds_up_to_exactly_the_rewards_it_was_given(given_rewards: list) -> None:
    totals = PayoutTotals()
    for referrer, amount in given_rewards:
        totals.add(referrer, amount)

    rows = totals.rows()
    expected = sum((amount for _, amount in given_rewards), Decimal(0))
    assert totals.total_amount == expected
    assert sum((row.amount for row in rows), Decimal(0)) == expected
    assert sum(row.reward_count for row in rows) == len(given_rewards)
    assert [row.referrer_id for row in rows] == sorted({referrer for referrer, _ in given_rewards})

    parsed = list(csv.reader(io.StringIO(render_report(rows).decode("utf-8"), newline="")))
    assert sum((Decimal(row[1]) for row in parsed[1:]), Decimal(0)) == expected
    assert [row[0] for row in parsed[1:]] == [row.referrer_id for row in rows]


def owed(key: str, amount: str) -> Clawback:
    return Clawback(key, Decimal(amount))


def test_the_open_clawbacks_a_total_reaches_oldest_first_and_no_further() -> None:
    totals = PayoutTotals()
    totals.add("a", Decimal("25.00"))
    reached = totals.reached("a", [owed("old", "10.00"), owed("mid", "20.00"), owed("new", "5.00")])
    assert reached == [owed("old", "10.00"), owed("mid", "20.00")]  # mid in part; new not reached


def test_clawbacks_already_settled_come_first_and_are_not_claimed_again() -> None:
    totals = PayoutTotals()
    totals.add("a", Decimal("25.00"))
    totals.add_settled("a", owed("claimed-before", "20.00"))
    # The open index still lists the settled one (lagging): it is left out, not netted twice.
    reached = totals.reached("a", [owed("claimed-before", "20.00"), owed("x", "4.00"), owed("y", "3.00")])
    assert reached == [owed("x", "4.00"), owed("y", "3.00")]


def test_a_total_of_nothing_reaches_no_clawback() -> None:
    totals = PayoutTotals()
    totals.add("a", Decimal("0.00"))
    assert totals.reached("a", [owed("c", "1.00")]) == []


def test_a_row_nets_only_the_settled_clawbacks_whatever_their_order() -> None:
    forward, backward = PayoutTotals(), PayoutTotals()
    for totals, keys in ((forward, ["k1", "k2", "k3"]), (backward, ["k3", "k2", "k1"])):
        totals.add("a", Decimal("30.00"))
        totals.add("b", Decimal("5.00"))
        for key, amount in zip(keys, ["12.00", "15.00", "9.99"], strict=True):
            totals.add_settled("a", owed(key, amount))
    assert forward.rows() == backward.rows()
    [a, b] = forward.rows()
    assert a == ReferrerTotal("a", Decimal("0.00"), 1, Decimal("30.00"), Decimal("6.99"))
    assert (a.gross, a.is_netted, b.is_netted) == (Decimal("30.00"), True, False)
    assert b == ReferrerTotal("b", Decimal("5.00"), 1)
    assert forward.clawbacks_settled == 3
    assert amounts_of(forward.rows()) == (Decimal("5.00"), Decimal("30.00"), Decimal("6.99"))


@given(st.lists(cents, max_size=5), st.lists(cents.filter(lambda amount: amount > 0), max_size=6))
def test_paid_and_clawed_back_add_up_to_the_gross_and_the_rest_is_carried(earned: list, owed_amounts: list) -> None:
    totals = PayoutTotals()
    for amount in [Decimal("0.00"), *earned]:
        totals.add("a", amount)
    open_clawbacks = [owed(f"c{n}", str(amount)) for n, amount in enumerate(owed_amounts)]
    for clawback in totals.reached("a", open_clawbacks):
        totals.add_settled("a", clawback)
    [row] = totals.rows()
    gross, owed_in_all = sum(earned, Decimal(0)), sum(owed_amounts, Decimal(0))
    assert row.amount == max(gross - owed_in_all, Decimal(0))
    assert row.amount + row.clawed_back == gross
    assert row.clawed_back == min(gross, owed_in_all)
    settled = sum((c.amount for c in open_clawbacks[: totals.clawbacks_settled]), Decimal(0))
    assert row.carried_forward == settled - row.clawed_back
