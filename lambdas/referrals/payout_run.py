"""The monthly payout use case: lease the run, claim payable rewards, settle the clawbacks they net, report, complete.

Exactly once, across crashes and concurrent invocations:
- One run record per payout id carries a lease. Only the lease holder claims rewards; a completed
  record answers every later invocation with its stored summary.
- Each reward is claimed with a condition that it is still pending, so no reward is paid twice
  and none can land in two payouts.
- A resumed run starts by reading what earlier invocations of the same payout already claimed
  (the payout index), then claims whatever is still pending before the stored cutoff. The totals,
  the report bytes and the summary are therefore the same however often the run was
  interrupted.
- Clawbacks are netted the same way: the ones a referrer's total reaches are claimed (settled)
  with a condition that they are still open, and only the claimed ones are netted, so a rerun
  finds them in the payout index and nets the same. What they still owe is carried: a carry item
  written in the same transaction as the referrer's credit (docs/lifecycle-design.md).
- The run record becomes completed once, in one conditional write that stores the summary. That
  change is the payout.completed event: the stream relay publishes it (referrals/outbox_events.py),
  so no crash can publish it twice or lose it.
"""

import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import chain
from typing import NamedTuple, Protocol, TypeVar

from referrals.clawback_netting import Clawback
from referrals.payout_event import PayoutRequest
from referrals.payout_report import render_report, report_key
from referrals.payout_summary import PayoutOutcome, PayoutStatus, PayoutSummary
from referrals.payout_totals import PayoutTotals, ReferrerTotal, amounts_of

logger = logging.getLogger(__name__)

CLAIMS_PER_WRITE = 100  # DynamoDB's TransactWriteItems limit: <= 10 write calls per 1,000 rewards
SETTLEMENTS_PER_WRITE = 100  # clawback claims: their own transactions, one per 100 netted
CREDIT_OPERATIONS_PER_WRITE = 100  # a referrer's credit and carry always share a transaction
# The lease outlives the invocation that holds it (its remaining time) by this margin, so it
# covers clock differences between Lambda hosts, yet expires before Lambda's first asynchronous
# retry (about a minute after a timeout) comes to take the run over.
LEASE_MARGIN_SECONDS = 30
# A released lease stays closed this long: the payout index is eventually consistent, and the
# next invocation must see every claim the released one made (DynamoDB propagates to a GSI
# within about a second in normal operation).
RELEASE_SETTLE_SECONDS = 10
# Stop starting new writes when less time than this is left: enough for the report, completing
# the run record and releasing the lease, which all happen after the last claim.
TIME_MARGIN_MS = 30_000
RECORD_TTL_SECONDS = 2 * 366 * 86_400

T = TypeVar("T")

# Plain records are NamedTuples: cheaper than frozen dataclasses to define at a cold start and to
# create once per reward.


class Reward(NamedTuple):
    user_id: str
    referral_timestamp: int
    referrer_id: str
    amount: Decimal


class LedgerItem(NamedTuple):
    """A clawback or a carry: an amount (more than 0) the referrer owes, netted by a later payout."""

    user_id: str  # "<referee>#clawback" or "<referrer>#carry"
    referral_timestamp: int
    referrer_id: str
    amount: Decimal
    # When it was recorded (a carry: its payout's cutoff); open ones are netted oldest first.
    # None when read from the payout index, which does not project it: claimed ones need no order.
    clawback_at: int | None = None

    @property
    def key(self) -> str:
        return f"{self.user_id}@{self.referral_timestamp}"

    def as_clawback(self) -> Clawback:
        return Clawback(self.key, self.amount)


class Acquired(NamedTuple):
    cutoff_ms: int  # stored when the run was first created; every invocation pays the same set
    netted: bool = False  # an earlier invocation settled the clawbacks: credits may have begun


class AlreadyCompleted(NamedTuple):
    summary: PayoutSummary


class HeldElsewhere(NamedTuple):
    owner: str
    lease_expires_at: int


class Lease(NamedTuple):
    owner: str  # "<aws_request_id>/<token>": Lambda's retries of an event reuse the request id
    now: int  # epoch seconds
    expires_at: int


class PayoutStore(Protocol):
    """Storage the payout needs; payout_store.DynamoPayoutStore is the AWS implementation."""

    def acquire_run(
        self, request: PayoutRequest, lease: Lease, ttl: int
    ) -> Acquired | AlreadyCompleted | HeldElsewhere: ...
    def release_run(self, payout_id: str, owner: str, expires_at: int) -> None: ...
    def complete_run(self, summary: PayoutSummary, owner: str, now: int) -> None: ...
    def mark_netted(self, payout_id: str, owner: str, now: int) -> None: ...
    def claimed_items(self, payout_id: str) -> Iterable[Reward | LedgerItem]: ...
    def payable_pages(self, cutoff_ms: int) -> Iterable[Sequence[Reward]]: ...
    def pending_pages(self, cutoff_ms: int) -> Iterable[Sequence[Reward]]: ...
    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> Sequence[Reward]: ...
    def open_clawback_pages(self, cutoff_ms: int) -> Iterable[Sequence[LedgerItem]]: ...
    def settle(self, items: Sequence[LedgerItem], payout_id: str, settled_at_ms: int) -> Sequence[LedgerItem]: ...
    def credit_referrers(self, totals: Sequence[ReferrerTotal], payout_id: str, cutoff_ms: int) -> int: ...
    def put_report(self, key: str, body: bytes) -> str: ...


class Invocation(NamedTuple):
    request_id: str  # aws_request_id
    remaining_ms: Callable[[], int]  # context.get_remaining_time_in_millis
    clock: Callable[[], float]  # epoch seconds


class PayoutIncomplete(Exception):
    """Time ran low; the lease was released and Lambda's asynchronous retry resumes the payout."""


class PayoutLeaseHeld(Exception):
    """The lease is held by an earlier attempt of this same request; the next retry takes over."""


class PayoutLeaseLost(Exception):
    """The run record was no longer ours when completing; the next invocation finishes the payout."""


def run_payout(request: PayoutRequest, invocation: Invocation, store: PayoutStore) -> PayoutOutcome:
    now = int(invocation.clock())
    lease = Lease(
        owner=f"{invocation.request_id}/{os.urandom(6).hex()}",
        now=now,
        expires_at=now + math.ceil(invocation.remaining_ms() / 1000) + LEASE_MARGIN_SECONDS,
    )
    acquired = store.acquire_run(request, lease, ttl=now + RECORD_TTL_SECONDS)
    if isinstance(acquired, AlreadyCompleted):
        logger.info("payout already completed; returning the stored summary")
        return PayoutOutcome(PayoutStatus.ALREADY_COMPLETED, request.payout_id, request.month, acquired.summary)
    if isinstance(acquired, HeldElsewhere):
        return _held_elsewhere(request, invocation, acquired)
    try:
        summary = _pay(request, acquired, lease.owner, invocation, store)
    except Exception:
        _release(store, request.payout_id, lease.owner, invocation)
        raise  # so Lambda's retries, the DLQ and the error alarm see it
    return PayoutOutcome(PayoutStatus.COMPLETED, request.payout_id, request.month, summary)


def _held_elsewhere(request: PayoutRequest, invocation: Invocation, held: HeldElsewhere) -> PayoutOutcome:
    if held.owner.partition("/")[0] == invocation.request_id:
        # Lambda retries an asynchronous event with the same request id, and only after the
        # earlier attempt ended (it timed out or was killed before releasing). Returning success
        # here would end the retries with the payout unfinished, so fail and let the next retry
        # take the run over once the lease has expired.
        raise PayoutLeaseHeld(
            f"{request.payout_id}: lease still held by an earlier attempt of request {held.owner} "
            f"until {held.lease_expires_at}; a later retry takes it over"
        )
    logger.warning(
        "payout in progress in another invocation; nothing paid here",
        extra={"lease_owner": held.owner, "lease_expires_at": held.lease_expires_at},
    )
    return PayoutOutcome(PayoutStatus.IN_PROGRESS_ELSEWHERE, request.payout_id, request.month)


def _pay(
    request: PayoutRequest, acquired: Acquired, owner: str, invocation: Invocation, store: PayoutStore
) -> PayoutSummary:
    cutoff_ms = acquired.cutoff_ms
    totals = PayoutTotals()
    # Claims of earlier, interrupted invocations of this payout: rewards, and the clawbacks and
    # carries it settled. The payout index is eventually consistent, but an earlier invocation
    # stopped writing at least RELEASE_SETTLE_SECONDS (it released its lease) or
    # LEASE_MARGIN_SECONDS (it was killed) before this one could get the lease: far longer than
    # the index takes to catch up.
    for item in store.claimed_items(request.payout_id):
        if isinstance(item, LedgerItem):
            totals.add_settled(item.referrer_id, item.as_clawback())
        else:
            totals.add(item.referrer_id, item.amount)
    resumed_with = totals.reward_count
    # Payable rewards, then items from before the lifecycle (the legacy index reads nothing once
    # empty). Chunks run across page and index boundaries, so every claim transaction but the
    # last is full.
    unpaid = chain(store.payable_pages(cutoff_ms), store.pending_pages(cutoff_ms))
    for chunk in _batches(_flatten(unpaid), CLAIMS_PER_WRITE):
        _ensure_time_left(invocation, request, "claiming rewards")
        # This invocation's own claims come from memory: the index may not show them yet.
        for reward in store.claim(chunk, request.payout_id, int(invocation.clock() * 1000)):
            totals.add(reward.referrer_id, reward.amount)
    logger.info(
        "rewards claimed",
        extra={"rewards_total": totals.reward_count, "claimed_earlier": resumed_with},
    )
    if acquired.netted:
        # Credits may have been written from the clawbacks settled then (payout-index above):
        # settling more now would change what was netted after it was credited.
        logger.info("clawbacks settled by an earlier invocation; none is settled now")
    elif totals.referrer_count:
        _settle_clawbacks(request, cutoff_ms, totals, invocation, store)
        store.mark_netted(request.payout_id, owner, int(invocation.clock()))
    rows = totals.rows()
    credited = 0
    for referrers in _credit_batches(rows):
        _ensure_time_left(invocation, request, "crediting referrer profiles")
        credited += store.credit_referrers(referrers, request.payout_id, cutoff_ms)
    logger.info("referrer profiles credited", extra={"credited_now": credited, "referrers": len(rows)})
    _ensure_time_left(invocation, request, "writing the report")
    location = store.put_report(report_key(request.month), render_report(rows))
    paid, clawed_back, carried_forward = amounts_of(rows)
    summary = PayoutSummary(
        payout_id=request.payout_id,
        month=request.month,
        total_referrers=totals.referrer_count,
        total_amount=paid,
        rewards_paid=totals.reward_count,
        report_location=location,
        clawed_back_amount=clawed_back,
        carried_forward_amount=carried_forward,
        clawbacks_settled=totals.clawbacks_settled,
    )
    # The one write that completes the payout; its change on the stream is the notification.
    store.complete_run(summary, owner, int(invocation.clock()))
    logger.info("payout completed", extra={"total_amount": str(summary.total_amount)})
    return summary


def _settle_clawbacks(
    request: PayoutRequest, cutoff_ms: int, totals: PayoutTotals, invocation: Invocation, store: PayoutStore
) -> None:
    """Step 4a: claim the open clawbacks (and carries) that the referrers' totals reach.

    Only referrers with a total in this payout are considered: one with nothing payable keeps
    their clawbacks open, untouched. A refused claim (another payout took it, or the open index
    lagged) is dropped, as a refused reward claim is.
    """
    open_items: dict[str, list[LedgerItem]] = {}
    for item in _flatten(store.open_clawback_pages(cutoff_ms)):
        if totals.has_total(item.referrer_id):
            open_items.setdefault(item.referrer_id, []).append(item)
    to_settle: list[LedgerItem] = []
    for referrer_id in sorted(open_items):
        # Oldest first; the key breaks ties, so every run lists them the same.
        items = sorted(open_items[referrer_id], key=lambda i: (i.clawback_at or 0, i.user_id, i.referral_timestamp))
        by_key = {item.key: item for item in items}
        reached = totals.reached(referrer_id, [item.as_clawback() for item in items])
        to_settle += [by_key[clawback.key] for clawback in reached]
    settled = 0
    for chunk in _batches(to_settle, SETTLEMENTS_PER_WRITE):
        _ensure_time_left(invocation, request, "settling clawbacks")
        for item in store.settle(chunk, request.payout_id, int(invocation.clock() * 1000)):
            totals.add_settled(item.referrer_id, item.as_clawback())
            settled += 1
    logger.info(
        "clawbacks settled",
        extra={"settled_now": settled, "reached": len(to_settle), "clawbacks_settled": totals.clawbacks_settled},
    )


def _credit_batches(rows: Sequence[ReferrerTotal]) -> Iterator[list[ReferrerTotal]]:
    """Referrers whose credits (one operation, two with a carry) fit a transaction, in order."""
    batch: list[ReferrerTotal] = []
    operations = 0
    for row in rows:
        needed = 2 if row.carried_forward > 0 else 1
        if operations + needed > CREDIT_OPERATIONS_PER_WRITE:
            yield batch
            batch, operations = [], 0
        batch.append(row)
        operations += needed
    if batch:
        yield batch


def _ensure_time_left(invocation: Invocation, request: PayoutRequest, step: str) -> None:
    remaining = invocation.remaining_ms()
    if remaining < TIME_MARGIN_MS:
        raise PayoutIncomplete(
            f"{request.payout_id}: {remaining} ms left before {step}; stopped cleanly, "
            "the next invocation resumes the same payout"
        )


def _release(store: PayoutStore, payout_id: str, owner: str, invocation: Invocation) -> None:
    """Best effort: if this fails too, the lease simply expires and a later invocation takes over."""
    try:
        store.release_run(payout_id, owner, int(invocation.clock()) + RELEASE_SETTLE_SECONDS)
    except Exception:
        logger.exception("could not release the payout lease; it expires on its own")


def _flatten(pages: Iterable[Sequence[T]]) -> Iterator[T]:
    for page in pages:
        yield from page


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last may be shorter), read lazily: one page in memory at a time."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
