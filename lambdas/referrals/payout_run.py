"""The monthly payout use case: lease the run, claim pending rewards, report, complete.

Exactly once, across crashes and concurrent invocations:
- One run record per payout id carries a lease. Only the lease holder claims rewards; a completed
  record answers every later invocation with its stored summary.
- Each reward is claimed with a condition that it is still pending, so no reward is paid twice
  and none can land in two payouts.
- A resumed run starts by reading what earlier invocations of the same payout already claimed
  (the payout index), then claims whatever is still pending before the stored cutoff. The totals,
  the report bytes and the summary are therefore the same however often the run was
  interrupted.
- The run record becomes completed once, in one conditional write that stores the summary. That
  change is the payout.completed event: the stream relay publishes it (referrals/outbox_events.py),
  so no crash can publish it twice or lose it.
"""

import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import NamedTuple, Protocol, TypeVar

from referrals.payout_event import PayoutRequest
from referrals.payout_report import render_report, report_key
from referrals.payout_summary import PayoutOutcome, PayoutStatus, PayoutSummary
from referrals.payout_totals import PayoutTotals, ReferrerTotal

logger = logging.getLogger(__name__)

CLAIMS_PER_WRITE = 100  # DynamoDB's TransactWriteItems limit: <= 10 write calls per 1,000 rewards
CREDITS_PER_WRITE = 100
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


class Acquired(NamedTuple):
    cutoff_ms: int  # stored when the run was first created; every invocation pays the same set


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
    def claimed_rewards(self, payout_id: str) -> Iterable[Reward]: ...
    def pending_pages(self, cutoff_ms: int) -> Iterable[Sequence[Reward]]: ...
    def claim(self, rewards: Sequence[Reward], payout_id: str, paid_at_ms: int) -> Sequence[Reward]: ...
    def credit_referrers(self, totals: Sequence[ReferrerTotal], payout_id: str) -> int: ...
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
        summary = _pay(request, acquired.cutoff_ms, lease.owner, invocation, store)
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
    request: PayoutRequest, cutoff_ms: int, owner: str, invocation: Invocation, store: PayoutStore
) -> PayoutSummary:
    totals = PayoutTotals()
    # Claims of earlier, interrupted invocations of this payout. The payout index is eventually
    # consistent, but an earlier invocation stopped writing at least RELEASE_SETTLE_SECONDS
    # (it released its lease) or LEASE_MARGIN_SECONDS (it was killed) before this one could get
    # the lease: far longer than the index takes to catch up.
    for reward in store.claimed_rewards(request.payout_id):
        totals.add(reward.referrer_id, reward.amount)
    resumed_with = totals.reward_count
    # Chunks run across page boundaries, so every claim transaction but the last is full.
    for chunk in _batches(_flatten(store.pending_pages(cutoff_ms)), CLAIMS_PER_WRITE):
        _ensure_time_left(invocation, request, "claiming rewards")
        # This invocation's own claims come from memory: the index may not show them yet.
        for reward in store.claim(chunk, request.payout_id, int(invocation.clock() * 1000)):
            totals.add(reward.referrer_id, reward.amount)
    logger.info(
        "rewards claimed",
        extra={"rewards_total": totals.reward_count, "claimed_earlier": resumed_with},
    )
    rows = totals.rows()
    credited = 0
    for referrers in _batches(rows, CREDITS_PER_WRITE):
        _ensure_time_left(invocation, request, "crediting referrer profiles")
        credited += store.credit_referrers(referrers, request.payout_id)
    logger.info("referrer profiles credited", extra={"credited_now": credited, "referrers": len(rows)})
    _ensure_time_left(invocation, request, "writing the report")
    location = store.put_report(report_key(request.month), render_report(rows))
    summary = PayoutSummary(
        payout_id=request.payout_id,
        month=request.month,
        total_referrers=totals.referrer_count,
        total_amount=totals.total_amount,
        rewards_paid=totals.reward_count,
        report_location=location,
    )
    # The one write that completes the payout; its change on the stream is the notification.
    store.complete_run(summary, owner, int(invocation.clock()))
    logger.info("payout completed", extra={"total_amount": str(summary.total_amount)})
    return summary


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
