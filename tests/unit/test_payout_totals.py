import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.payout_report import render_report
from referrals.payout_totals import PayoutTotals, ReferrerTotal, payable_amount


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
