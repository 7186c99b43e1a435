"""Clawbacks netted by real payouts on moto (docs/lifecycle-design.md, "Payout: netting clawbacks
exactly once"): across months with carry-over, exact to the cent; a referrer with nothing payable
untouched; a clawback another payout settles first dropped; claims and credits in chunks; a
reward paid, reversed by the admin function and netted by the next payout."""

import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.moto_rollback import item_level_rollback
from referrals import contract as c
from referrals.aws_clients import client
from referrals.payout_event import PayoutRequest, parse_payout_event
from referrals.payout_run import LedgerItem, run_payout
from referrals.payout_store import DynamoPayoutStore, PayoutResources
from referrals.payout_summary import PayoutStatus
from tests.lambdas.admin_api import act
from tests.lambdas.aws_calls import acting_as, recorded_calls
from tests.lambdas.test_payout_support import (
    CUTOFF_MS,
    NOVEMBER_MS,
    PAYOUT_ID,
    Claims,
    FakeClock,
    RecordingStore,
    SeededClawback,
    SeededReward,
    all_items,
    fast_transactions,
    invocation,
    ledger_state,
    november_request,
    paid_totals,
    report_bytes,
    resources,
    seed,
    tallied_queries,
)

fast = pytest.mark.usefixtures(fast_transactions.__name__)

DAY_MS = 86_400_000
MONTHS = ("2026-09", "2026-10", "2026-11", "2026-12")
REFERRER = "ref"
RELEASED_LEASE_SETTLES = 600  # seconds: past any lease this test's failed run released
_examples = itertools.count()


def month_start_ms(month: str) -> int:
    year, number = int(month[:4]), int(month[5:])
    return int(datetime(year, number, 1, tzinfo=UTC).timestamp()) * 1000


def manual_request(month: str) -> PayoutRequest:
    return parse_payout_event({"payoutMonth": month}, datetime(2027, 6, 1, tzinfo=UTC))


def pay_month(names: PayoutResources, month: str):
    request = manual_request(month)
    clock = FakeClock(datetime.fromtimestamp(request.cutoff_ms / 1000, UTC))
    return run_payout(request, invocation(clock), DynamoPayoutStore(names, sleep=lambda _: None))


def of_referrer(names: PayoutResources, referrer_id: str) -> list[dict]:
    """The referrer's rewards, clawbacks and carries (referrer-index projects every attribute)."""
    pages = (
        client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=names.referral_table,
            IndexName=c.REFERRER_INDEX,
            KeyConditionExpression="referrer_id = :referrer",
            ExpressionAttributeValues={":referrer": {"S": referrer_id}},
        )
    )
    return [item for page in pages for item in page["Items"]]


def profile_of(names: PayoutResources, user_id: str) -> dict:
    key = {c.USER_ID: {"S": user_id}, c.REFERRAL_TIMESTAMP: {"N": str(c.PROFILE_TIMESTAMP)}}
    return client("dynamodb").get_item(TableName=names.referral_table, Key=key)["Item"]


cents = st.integers(min_value=0, max_value=6_000).map(lambda n: Decimal(n).scaleb(-2))
owed_cents = st.integers(min_value=1, max_value=6_000).map(lambda n: Decimal(n).scaleb(-2))
month_of = st.tuples(st.lists(cents, max_size=3), st.lists(owed_cents, max_size=3))  # (rewards, clawbacks)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(month_of, min_size=len(MONTHS), max_size=len(MONTHS)))
def test_clawbacks_are_netted_across_months_with_carry_over_exact_to_the_cent(aws, months) -> None:
    with item_level_rollback():  # moto would copy the whole table, which grows example by example
        _pay_the_months(aws, months)


def _pay_the_months(aws, months: list) -> None:
    # One table for every example (a new one each is slow on moto): each example is a referrer of
    # its own, whose months are paid again from scratch; the earlier referrers' leftovers are
    # someone else's, with nothing payable, so no payout touches them.
    names = resources(aws)
    example = next(_examples)
    referrer = f"ref-{example}"
    for month in MONTHS:
        client("dynamodb").delete_item(
            TableName=names.idempotency_table, Key={c.IDEMPOTENCY_KEY: {"S": f"payout-{month}"}}
        )
    seed(names.referral_table, profiles=[referrer])
    still_owed, paid_in_all = Decimal("0.00"), Decimal("0.00")  # the model: one running balance
    for month, (earned, owed) in zip(MONTHS, months, strict=True):
        start = month_start_ms(month)
        rewards = [SeededReward(f"x{example}-{month}-r{n}", start + n, referrer, a) for n, a in enumerate(earned)]
        # Recorded during the month (reversals of earlier months' paid rewards): its payout nets them,
        # oldest first, which is the reverse of their keys' order.
        clawbacks = [
            SeededClawback(
                f"x{example}-{month}-c{n}{c.CLAWBACK_SUFFIX}", start - 40 * DAY_MS, referrer, a, start + DAY_MS - n
            )
            for n, a in enumerate(owed)
        ]
        seed(names.referral_table, payable=rewards, clawbacks=clawbacks)
        outcome = pay_month(names, month)
        owed_before, gross = still_owed + sum(owed, Decimal(0)), sum(earned, Decimal(0))
        if earned:  # a referrer with nothing payable keeps what they owe, untouched
            paid, still_owed = max(gross - owed_before, Decimal(0)), max(owed_before - gross, Decimal(0))
        else:
            paid, still_owed = Decimal(0), owed_before
        paid_in_all += paid

        assert outcome.status is PayoutStatus.COMPLETED
        mine = of_referrer(names, referrer)
        open_ledger = [state for state in ledger_state(mine).values() if state["status"] == c.CLAWBACK_OPEN]
        assert sum((state["amount"] for state in open_ledger), Decimal(0)) == still_owed, month
        assert all(state["open_key"] for state in open_ledger)
        assert paid_totals([profile_of(names, referrer)])[referrer][0] == paid_in_all, month
        rows = {line.split(",")[0]: line for line in report_bytes(names.reports_bucket, month).decode().splitlines()}
        if earned:
            status = "netted" if paid == 0 < gross else "paid"
            carry = ledger_state(mine).get((f"{referrer}{c.CARRY_SUFFIX}", manual_request(month).cutoff_ms))
            carried = Decimal(0) if carry is None else carry["amount"]
            assert rows[referrer] == (
                f"{referrer},{paid:.2f},{len(earned)},{status},{gross:.2f},{gross - paid:.2f},{carried:.2f}"
            ), month
        else:
            assert referrer not in rows, month
    total_owed = sum((amount for _, owed in months for amount in owed), Decimal(0))
    total_earned = sum((amount for earned, _ in months for amount in earned), Decimal(0))
    assert paid_in_all + total_owed == total_earned + still_owed  # nothing lost, nothing doubled


def test_a_referrer_with_only_clawbacks_is_untouched(aws):
    names = resources(aws)
    owes = SeededClawback(
        f"bob{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 30 * DAY_MS, "only-owes", Decimal("12.00"), NOVEMBER_MS
    )
    earner = SeededReward("carol", NOVEMBER_MS + 1, "earns", Decimal("5.00"))
    seed(names.referral_table, profiles=["only-owes", "earns"], payable=[earner], clawbacks=[owes])
    before = all_items(names.referral_table)

    with recorded_calls() as log:
        outcome = run_payout(november_request(FakeClock()), invocation(FakeClock()), DynamoPayoutStore(names))

    assert outcome.summary is not None and outcome.summary.clawbacks_settled == 0
    after = all_items(names.referral_table)
    assert [i for i in after if i[c.USER_ID]["S"] in ("only-owes", owes.user_id)] == [
        i for i in before if i[c.USER_ID]["S"] in ("only-owes", owes.user_id)
    ]
    assert b"only-owes" not in report_bytes(names.reports_bucket)
    assert log.calls.count("dynamodb:TransactWriteItems") == 2  # the claim and the credit: nothing settled


def test_a_month_without_rewards_does_not_read_the_clawbacks(aws):
    names = resources(aws)
    owes = SeededClawback(
        f"bob{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 30 * DAY_MS, "only-owes", Decimal("12.00"), NOVEMBER_MS
    )
    seed(names.referral_table, profiles=["only-owes"], clawbacks=[owes])

    with tallied_queries() as reads:
        outcome = run_payout(november_request(FakeClock()), invocation(FakeClock()), DynamoPayoutStore(names))

    assert outcome.status is PayoutStatus.COMPLETED
    assert len(reads.calls) == 3  # the payout index, the payable and the legacy index: no clawback read


def test_a_clawback_another_payout_settles_first_is_dropped_and_not_netted(aws):
    """Two payouts race for one clawback: its status condition lets exactly one settle it."""
    names = resources(aws)
    reward = SeededReward("carol", NOVEMBER_MS + 1, REFERRER, Decimal("50.00"))
    raced = SeededClawback(
        f"bob{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 30 * DAY_MS, REFERRER, Decimal("10.00"), NOVEMBER_MS
    )
    kept = SeededClawback(
        f"dan{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 20 * DAY_MS, REFERRER, Decimal("4.00"), NOVEMBER_MS + 1
    )
    seed(names.referral_table, profiles=[REFERRER], payable=[reward], clawbacks=[raced, kept])

    class OtherPayoutFirst(RecordingStore):
        def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> list[LedgerItem]:
            [taken] = [item for item in items if item.user_id == raced.user_id]
            assert DynamoPayoutStore(names).settle([taken], "payout-2026-10", settled_at_ms) == [taken]
            return super().settle(items, payout_id, settled_at_ms)

    store = OtherPayoutFirst(names, Claims(), settled=(settled := Claims()))
    outcome = run_payout(november_request(FakeClock()), invocation(FakeClock()), store)

    assert outcome.summary is not None
    assert (outcome.summary.total_amount, outcome.summary.clawed_back_amount) == (Decimal("46.00"), Decimal("4.00"))
    assert settled == [kept.key]
    ledger = ledger_state(all_items(names.referral_table))
    assert (ledger[raced.key]["payout_id"], ledger[kept.key]["payout_id"]) == ("payout-2026-10", PAYOUT_ID)
    assert paid_totals(all_items(names.referral_table))[REFERRER] == (Decimal("46.00"), [PAYOUT_ID])


def test_a_rerun_after_the_credits_settles_no_clawback_the_first_run_did_not(aws):
    """A refused settlement leaves room in a referrer's netting. The run credits from what it
    settled; if it dies after that, its rerun must not fill the room with a clawback it did not
    reach (the credit cannot change any more, so that clawback would be settled and never
    deducted). The run record says the clawbacks were settled, and the rerun settles none."""
    names = resources(aws)
    reward = SeededReward("carol", NOVEMBER_MS + 1, REFERRER, Decimal("60.00"))
    raced = SeededClawback(f"bob{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 30 * DAY_MS, REFERRER, Decimal("50.00"), 1)
    kept = SeededClawback(f"dan{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 20 * DAY_MS, REFERRER, Decimal("10.00"), 2)
    unreached = SeededClawback(f"eve{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - 10 * DAY_MS, REFERRER, Decimal("30.00"), 3)
    seed(names.referral_table, profiles=[REFERRER], payable=[reward], clawbacks=[raced, kept, unreached])

    class OtherPayoutFirstThenDies(RecordingStore):
        def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> list[LedgerItem]:
            [taken] = [item for item in items if item.user_id == raced.user_id]
            assert DynamoPayoutStore(names).settle([taken], "payout-2026-10", settled_at_ms) == [taken]
            return super().settle(items, payout_id, settled_at_ms)

        def put_report(self, key: str, body: bytes) -> str:
            raise RuntimeError("the function died after the credits")

    clock, settled = FakeClock(), Claims()
    with pytest.raises(RuntimeError, match="after the credits"):
        dying = OtherPayoutFirstThenDies(names, Claims(), settled=settled)
        run_payout(november_request(clock), invocation(clock), dying)
    assert paid_totals(all_items(names.referral_table))[REFERRER] == (Decimal("50.00"), [PAYOUT_ID])

    clock.advance(RELEASED_LEASE_SETTLES)
    outcome = run_payout(november_request(clock), invocation(clock), RecordingStore(names, Claims(), settled=settled))

    assert outcome.status is PayoutStatus.COMPLETED and outcome.summary is not None
    assert (outcome.summary.total_amount, outcome.summary.clawed_back_amount) == (Decimal("50.00"), Decimal("10.00"))
    assert settled == [kept.key]  # the unreached clawback was not settled by the rerun
    ledger = ledger_state(all_items(names.referral_table))
    assert ledger[unreached.key] == {"status": "open", "amount": Decimal("30.00"), "payout_id": None, "open_key": True}
    assert paid_totals(all_items(names.referral_table))[REFERRER] == (Decimal("50.00"), [PAYOUT_ID])
    assert report_bytes(names.reports_bucket).splitlines()[1] == b"ref,50.00,1,paid,60.00,10.00,0.00"


@fast
def test_clawback_claims_and_credits_with_carries_fit_their_transactions(aws):
    """60 referrers who each carry (the carrier-*), then one with 150 small clawbacks: 210 settled in
    chunks of 100. The carriers' credits and carries are 120 operations: 50 referrers (100
    operations) in one transaction, the other 10 and "many" in the next, never split."""
    names = resources(aws)
    many = [SeededReward("many-0", NOVEMBER_MS, "many", Decimal("200.00"))]
    many_owes = [
        SeededClawback(f"m{n:03d}{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - DAY_MS, "many", Decimal("1.00"), NOVEMBER_MS + n)
        for n in range(150)
    ]
    carriers = [f"carrier-{n:02d}" for n in range(60)]
    earned = [SeededReward(f"new-{n:02d}", NOVEMBER_MS + 1_000 + n, r, Decimal("1.00")) for n, r in enumerate(carriers)]
    carrier_owes = [
        SeededClawback(f"o{n:02d}{c.CLAWBACK_SUFFIX}", NOVEMBER_MS - DAY_MS, r, Decimal("3.00"), NOVEMBER_MS + 1)
        for n, r in enumerate(carriers)
    ]
    seed(
        names.referral_table,
        profiles=["many", *carriers],
        payable=[*many, *earned],
        clawbacks=[*many_owes, *carrier_owes],
    )
    sizes: list[int] = []

    class Sizes(DynamoPayoutStore):
        def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> list[LedgerItem]:
            sizes.append(len(items))
            return super().settle(items, payout_id, settled_at_ms)

    with recorded_calls() as log:
        outcome = run_payout(november_request(FakeClock()), invocation(FakeClock()), Sizes(names))

    assert sizes == [100, 100, 10]  # referrer by referrer (by id), each one's oldest first
    assert log.calls.count("dynamodb:TransactWriteItems") == 1 + 3 + 2  # claim 61, settle 210, credit in two
    summary = outcome.summary
    assert summary is not None
    assert (summary.clawbacks_settled, summary.total_amount) == (210, Decimal("50.00"))
    assert summary.carried_forward_amount == Decimal("120.00")
    carries = {key: s for key, s in ledger_state(all_items(names.referral_table)).items() if key[0].endswith("#carry")}
    assert carries == {
        (f"{r}#carry", CUTOFF_MS): {"status": "open", "amount": Decimal("2.00"), "payout_id": None, "open_key": True}
        for r in carriers
    }
    assert all(
        total == (Decimal("0.00"), [PAYOUT_ID])
        for r, total in paid_totals(all_items(names.referral_table)).items()
        if r in carriers
    )


def test_a_reward_paid_then_reversed_is_clawed_back_in_the_next_payout(aws):
    """End to end with the admin function's own clawback: paid in November, reversed, netted next."""
    names = resources(aws)
    november = SeededReward("bob", NOVEMBER_MS + 1, "alice", Decimal("10.00"))
    december = SeededReward("carol", CUTOFF_MS + 1, "alice", Decimal("25.00"))
    seed(names.referral_table, profiles=["alice"], payable=[november, december])
    run_payout(november_request(FakeClock()), invocation(FakeClock()), DynamoPayoutStore(names))
    with acting_as("referral-admin"):
        assert act("bob", "reverse", "chargeback")[1]["status"] == "clawed_back"  # recorded now

    next_cutoff_ms = int(time.time() * 1000) + DAY_MS  # the next payout's cutoff is after the reversal
    next_payout = run_payout(
        PayoutRequest("2026-12", next_cutoff_ms),
        invocation(FakeClock(datetime.fromtimestamp(next_cutoff_ms / 1000, UTC))),
        DynamoPayoutStore(names),
    )

    summary = next_payout.summary
    assert summary is not None
    assert (summary.total_amount, summary.clawed_back_amount, summary.clawbacks_settled) == (
        Decimal("15.00"),
        Decimal("10.00"),
        1,
    )
    ledger = ledger_state(all_items(names.referral_table))
    assert ledger == {
        (f"bob{c.CLAWBACK_SUFFIX}", november.timestamp_ms): {
            "status": "settled",
            "amount": Decimal("10.00"),
            "payout_id": "payout-2026-12",
            "open_key": False,
        }
    }
    assert paid_totals(all_items(names.referral_table))["alice"] == (
        Decimal("25.00"),
        [PAYOUT_ID, "payout-2026-12"],
    )
