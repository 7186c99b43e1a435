"""Step 4a and the credits with carries against an in-memory store: which clawbacks the run
settles, in what chunks, what a resumed run does with those already settled, and credit
transactions that never split a referrer's credit from their carry."""

from collections.abc import Iterator
from decimal import Decimal

from referrals.payout_run import LedgerItem, Reward, run_payout
from tests.unit.test_payout_run import REQUEST, MemoryStore, invocation


def clawback(referrer: int, n: int, amount: str, at: int = 0) -> LedgerItem:
    return LedgerItem(f"u{referrer}-{n}#clawback", 1_000 + n, f"referrer-{referrer:06d}", Decimal(amount), at)


def test_only_clawbacks_of_referrers_paid_this_month_are_settled_oldest_first() -> None:
    store = MemoryStore(rewards=4, referrers=2)  # referrer 0: 10 + 20; referrer 1: 15 + 25
    store.open_clawbacks = [
        clawback(0, 1, "20.00", at=300),
        clawback(0, 2, "15.00", at=100),  # older: netted first, in full
        clawback(0, 3, "5.00", at=200),  # 15 + 5 = 20, then 10 of the 20.00 one
        clawback(7, 1, "3.00"),  # nothing payable this month: left open
    ]
    outcome = run_payout(REQUEST, invocation(), store)

    assert store.settle_sizes == [3]
    [zero, one] = store.credited
    assert (zero.amount, zero.clawed_back, zero.carried_forward) == (
        Decimal("0.00"),
        Decimal("30.00"),
        Decimal("10.00"),
    )
    assert (one.amount, one.clawed_back) == (Decimal("40.00"), Decimal("0.00"))
    assert outcome.summary is not None
    assert outcome.summary.clawbacks_settled == 3
    assert (outcome.summary.gross_amount, outcome.summary.total_amount) == (Decimal("70.00"), Decimal("40.00"))
    assert b"referrer-000000,0.00,2,netted,30.00,30.00,10.00\r\n" in store.report


def test_settlements_run_in_chunks_of_100() -> None:
    store = MemoryStore(rewards=1)  # 10.00
    store.open_clawbacks = [clawback(0, n, "0.04", at=n) for n in range(250)]
    run_payout(REQUEST, invocation(), store)
    assert store.settle_sizes == [100, 100, 50]


def test_credits_with_carries_fit_100_operations_and_never_split_a_referrer() -> None:
    store = MemoryStore(rewards=130, referrers=130)  # one reward each
    store.open_clawbacks = [clawback(r, 0, "100.00") for r in range(130)]  # each carries the rest
    run_payout(REQUEST, invocation(), store)
    assert store.credit_sizes == [50, 50, 30]  # 2 operations each: a credit and its carry
    assert all(total.carried_forward > 0 for total in store.credited)


class ResumedStore(MemoryStore):
    """An earlier invocation claimed the rewards and settled one clawback, then stopped."""

    def claimed_items(self, payout_id: str) -> Iterator[Reward | LedgerItem]:
        yield self._reward(0)  # referrer 0: 10.00
        yield LedgerItem("u0-1#clawback", 1_001, "referrer-000000", Decimal("6.00"))  # payout-index: no clawback_at

    def payable_pages(self, cutoff_ms: int) -> Iterator[list[Reward]]:
        return iter(())


def test_a_resumed_run_nets_what_it_settled_before_and_settles_only_what_is_still_reached() -> None:
    store = ResumedStore()
    # The open index lags: it still lists the settled one, next to two open ones.
    store.open_clawbacks = [
        LedgerItem("u0-1#clawback", 1_001, "referrer-000000", Decimal("6.00"), 50),
        clawback(0, 2, "3.00", at=60),
        clawback(0, 3, "2.00", at=70),  # 6 + 3 = 9: the last 1.00 of 10.00 reaches this one too
        clawback(0, 4, "2.00", at=80),  # not reached
    ]
    outcome = run_payout(REQUEST, invocation(), store)

    assert store.settle_sizes == [2]
    [row] = store.credited
    assert (row.amount, row.clawed_back, row.carried_forward) == (Decimal("0.00"), Decimal("10.00"), Decimal("1.00"))
    assert outcome.summary is not None and outcome.summary.clawbacks_settled == 3
