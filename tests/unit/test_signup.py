"""The signup use case against an in-memory store: decisions and retries, no AWS.

The use case sends nothing: the referral it commits is the notification (the stream relay
publishes it; tests/unit/test_outbox_events.py and tests/lambdas/test_relay_*.py).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from referrals import contract as c
from referrals.lifecycle import RewardState
from referrals.lifecycle_settings import LifecycleSettings, Qualification
from referrals.referrer_amounts import ReferrerItem
from referrals.review_signals import ReviewSignal
from referrals.signup import (
    MAX_ATTEMPTS,
    AlreadySignedUp,
    CommitOutcome,
    CountChanged,
    EmailTaken,
    Enrolled,
    NoTicket,
    Profile,
    Referral,
    Rewarded,
    Signups,
    TooBusy,
    UnknownReferrer,
    UserExists,
)
from referrals.signup_queue import (
    ANCHOR_EVERY,
    IDLE_GAP_MS,
    MAX_QUEUE_WAIT_MS,
    RECENT_TICKETS,
    SLOT_MS,
    TICKET_MS,
    Anchor,
    Earlier,
    QueueState,
    Ticket,
)
from referrals.signup_reward import SignupReward
from referrals.tiers import parse_tiers
from referrals.validation import SignupRequest

NOW = datetime(2026, 11, 3, 12, 30, 45, 123000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


@dataclass
class Queue:
    """A referrer's queue item, as referral_store.py keeps it."""

    tickets: int = 0
    planned: int = 0
    slot_ms: int = SLOT_MS
    arrivals: list[Earlier] = field(default_factory=list)  # latest first
    anchor: Anchor | None = None


@dataclass
class Clock:
    """Time for the use case: it moves only when the use case pauses or a store call takes time."""

    elapsed_ms: int = 0
    pauses: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return NOW + timedelta(milliseconds=self.elapsed_ms)

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.elapsed_ms += round(seconds * 1000)


@dataclass
class MemoryStore:
    """Keeps profiles, queues and referrals in dicts and applies the same conditions as the real store."""

    clock: Clock
    profiles: dict[str, Profile] = field(default_factory=dict)
    queues: dict[str, Queue] = field(default_factory=dict)
    served: dict[str, tuple[int, int]] = field(default_factory=dict)  # ticket and time of the latest commit
    referrals: dict[tuple[str, int], Referral] = field(default_factory=dict)
    email_keys: dict[str, str] = field(default_factory=dict)  # e-mail key -> its owner
    commits: int = 0
    commit_ms: int = 0  # how long a commit takes
    before_commit: Callable[[], CommitOutcome | None] = lambda: None
    writes: list[tuple] = field(default_factory=list)  # give-backs, corrections, anchors, slots

    def get_profile(self, user_id: str) -> Profile | None:
        return self.profiles.get(user_id)

    def create_profile(self, user_id: str, email: str | None, email_key: str | None) -> Profile | EmailTaken | None:
        if user_id in self.profiles:
            return self.profiles[user_id]
        if email_key in self.email_keys:
            return EmailTaken(self.email_keys[email_key])
        self.profiles[user_id] = Profile(user_id, 0)
        self.queues[user_id] = Queue()
        if email_key is not None:
            self.email_keys[email_key] = user_id
        return None

    def take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        if referrer_id not in self.profiles:
            return NoTicket.REFERRER_MISSING
        queue = self.queues.get(referrer_id)
        if queue is None:  # a profile from before queues: the queue opens on its count
            count = self.profiles[referrer_id].referral_count
            self.queues[referrer_id] = Queue(1, (count or 0) + 1, arrivals=[Earlier(now_ms)])
            return Ticket(1, count)
        old = replace(queue, arrivals=list(queue.arrivals))
        queue.tickets += 1
        queue.planned += 1
        queue.arrivals = [Earlier(now_ms, queue.slot_ms), *queue.arrivals][:RECENT_TICKETS]
        padded = tuple(old.arrivals) + (Earlier(0),) * (RECENT_TICKETS - len(old.arrivals))
        return Ticket(old.tickets + 1, old.planned, old.slot_ms, padded, old.anchor)

    def give_back_ticket(self, referrer_id: str) -> None:
        self.writes.append(("give back", referrer_id))
        self.queues[referrer_id].planned -= 1

    def correct_queue(self, referrer_id: str, ticket: int, planned_count: int) -> None:
        self.writes.append(("correct", ticket, planned_count))
        queue = self.queues.get(referrer_id)  # the real store writes nothing without a queue
        if queue is not None and queue.tickets == ticket:
            queue.planned = planned_count

    def record_anchor(self, referrer_id: str, anchor: Anchor) -> None:
        self.writes.append(("anchor", anchor.ticket))
        self.queues[referrer_id].anchor = anchor

    def retune_slot(self, referrer_id: str, slot_ms: int, new_slot_ms: int) -> None:
        self.writes.append(("slot", slot_ms, new_slot_ms))
        if self.queues[referrer_id].slot_ms == slot_ms:
            self.queues[referrer_id].slot_ms = new_slot_ms

    def _queue_state(self, referrer_id: str) -> QueueState:
        ticket, at = self.served.get(referrer_id, (0, None))
        return QueueState(self.profiles[referrer_id].referral_count, ticket, at)

    def commit_referral(self, referral: Referral, expected_count: int | None, ticket: int, sent_at_ms: int):
        self.commits += 1
        self.clock.elapsed_ms += self.commit_ms
        forced = self.before_commit()
        if forced is not None:
            return forced
        if referral.user_id in self.profiles:
            return UserExists(self.profiles[referral.user_id])
        if referral.email_key in self.email_keys:
            return EmailTaken(self.email_keys[referral.email_key])
        referrer = self.profiles.get(referral.referrer_id)
        if referrer is None:
            return CommitOutcome.REFERRER_MISSING
        if referrer.referral_count != expected_count:
            return CountChanged(self._queue_state(referral.referrer_id))
        self.profiles[referral.user_id] = Profile(
            referral.user_id, 0, referred_by=referral.referrer_id, referred_at=referral.timestamp_ms
        )
        self.queues[referral.user_id] = Queue()
        self.referrals[(referral.user_id, referral.timestamp_ms)] = referral
        if referral.email_key is not None:
            self.email_keys[referral.email_key] = referral.user_id
        self.profiles[referral.referrer_id] = replace(
            referrer,
            referral_count=(expected_count or 0) + 1,
            total_rewards=referrer.total_rewards + referral.reward_amount,
        )
        self.served[referral.referrer_id] = (ticket, sent_at_ms)
        return CommitOutcome.COMMITTED

    def get_referral(self, user_id: str, timestamp_ms: int) -> Referral | None:
        return self.referrals.get((user_id, timestamp_ms))

    def referrer_items(self, referrer_id: str) -> list[ReferrerItem]:
        return [
            ReferrerItem(r.user_id, c.STATUS_PENDING, r.reward_amount)
            for r in self.referrals.values()
            if r.referrer_id == referrer_id
        ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> MemoryStore:
    return MemoryStore(clock, profiles={"ref": Profile("ref", None)})


@pytest.fixture
def pauses(clock: Clock) -> list[float]:
    return clock.pauses


@pytest.fixture
def signups(store: MemoryStore, clock: Clock) -> Signups:
    return Signups(store, parse_tiers(None), now=clock.now, pause=clock.pause)


def refer(user_id: str, code: str = "ref") -> SignupRequest:
    return SignupRequest(user_id, code, None)


def test_first_referral_of_a_referrer_without_counters(signups: Signups, store: MemoryStore) -> None:
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.reward_amount, outcome.referral.referral_number) == (Decimal(10), 1)
    assert outcome.referral.signup_date == "2026-11-03T12:30:45.123Z"
    assert outcome.referral.timestamp_ms == NOW_MS
    assert store.profiles["ref"].referral_count == 1
    assert list(store.referrals.values()) == [outcome.referral]


def test_enrolment_and_its_identical_retry(signups: Signups, store: MemoryStore) -> None:
    assert signups.sign_up(SignupRequest("new", None, None)) == Enrolled("new")
    assert signups.sign_up(SignupRequest("new", None, None)) == Enrolled("new", is_retry=True)
    assert store.commits == 0


def test_enrolling_after_a_referral_signup_conflicts(signups: Signups) -> None:
    signups.sign_up(refer("u1"))
    assert signups.sign_up(SignupRequest("u1", None, None)) == AlreadySignedUp("u1")


def test_unknown_referrer(signups: Signups, store: MemoryStore) -> None:
    assert signups.sign_up(refer("u1", "nobody")) == UnknownReferrer("nobody")
    assert (store.commits, store.writes) == (0, [])


def test_referrer_vanishing_between_read_and_write_is_unknown(signups: Signups, store: MemoryStore) -> None:
    store.before_commit = lambda: CommitOutcome.REFERRER_MISSING
    assert signups.sign_up(refer("u1")) == UnknownReferrer("ref")
    assert store.writes == [("give back", "ref")]


def test_identical_retry_answers_the_original(signups: Signups, store: MemoryStore) -> None:
    first = signups.sign_up(refer("u1"))
    again = signups.sign_up(refer("u1"))
    assert isinstance(first, Rewarded)
    assert again == Rewarded(first.referral, is_retry=True)
    assert (len(store.referrals), store.commits) == (1, 2)  # the retry's commit was refused
    # Its ticket will never commit: the queue plans the next signup without it.
    assert store.writes == [("give back", "ref")]
    assert store.queues["ref"].planned == store.profiles["ref"].referral_count == 1


def test_same_user_with_another_code_conflicts(signups: Signups, store: MemoryStore) -> None:
    store.profiles["other"] = Profile("other", 0)
    signups.sign_up(refer("u1"))
    assert signups.sign_up(refer("u1", "other")) == AlreadySignedUp("u1")
    assert store.writes == [("give back", "other")]


def test_stale_count_is_retried_with_the_count_from_the_failed_condition(
    signups: Signups, store: MemoryStore, pauses: list[float]
) -> None:
    store.profiles["ref"] = Profile("ref", 4)
    stale_plan = Ticket(1, 3)  # what this signup planned on before another one committed
    store.take_ticket = lambda referrer_id, now_ms: stale_plan  # type: ignore[method-assign]
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.referral_number, outcome.referral.reward_amount) == (5, Decimal(15))
    assert store.commits == 2
    assert len(pauses) == 1  # the count moved outside the queue: a jittered backoff
    assert store.writes == [("correct", 1, 5)]  # and the queue's plan is corrected after the commit


def test_transaction_conflicts_are_retried(signups: Signups, store: MemoryStore) -> None:
    conflicts = iter([CommitOutcome.CONFLICT, CommitOutcome.CONFLICT])
    store.before_commit = lambda: next(conflicts, None)
    assert isinstance(signups.sign_up(refer("u1")), Rewarded)
    assert store.commits == 3


def test_a_referrer_too_busy_to_give_a_ticket_is_a_503_without_a_commit(signups: Signups, store: MemoryStore) -> None:
    store.take_ticket = lambda referrer_id, now_ms: NoTicket.BUSY  # type: ignore[method-assign]
    assert signups.sign_up(refer("u1")) == TooBusy(attempts=0)
    assert (store.commits, store.referrals, set(store.profiles), store.writes) == (0, {}, {"ref"}, [])


def test_retries_are_bounded_with_growing_pauses(signups: Signups, store: MemoryStore, pauses: list[float]) -> None:
    store.before_commit = lambda: CommitOutcome.CONFLICT
    assert signups.sign_up(refer("u1")) == TooBusy(MAX_ATTEMPTS)
    assert store.commits == MAX_ATTEMPTS
    assert len(pauses) == MAX_ATTEMPTS - 1
    ceilings = [min(0.5, 0.02 * 2**attempt) for attempt in range(1, MAX_ATTEMPTS)]
    assert all(0 <= pause <= ceiling for pause, ceiling in zip(pauses, ceilings, strict=True))
    assert pauses == sorted(pauses)
    assert "u1" not in store.profiles
    assert store.writes == [("give back", "ref")]


def test_stats_of_a_referrer(signups: Signups, store: MemoryStore) -> None:
    signups.sign_up(refer("u1"))
    signups.sign_up(refer("u2"))
    stats = signups.stats("ref")
    assert stats is not None
    assert (stats.referral_count, stats.total_rewards, stats.amounts.pending) == (Decimal(2), Decimal(20), Decimal(20))
    assert signups.stats("nobody") is None


def behind_two_tickets(store: MemoryStore) -> None:
    """The referrer's count is 3 and ticket 3 committed last, long ago; tickets 4 and 5 were taken
    5 and 10 ms ago and are still to commit: the next ticket is 6, planned on count 5."""
    store.profiles["ref"] = Profile("ref", 3)
    store.served["ref"] = (3, NOW_MS - 10_000)
    store.queues["ref"] = Queue(
        5, 5, arrivals=[Earlier(NOW_MS - 5), Earlier(NOW_MS - 10), Earlier(NOW_MS - IDLE_GAP_MS - 1000)]
    )


def test_a_queued_signup_waits_its_turn_and_commits_on_the_count_left_by_those_ahead(
    store: MemoryStore, clock: Clock
) -> None:
    behind_two_tickets(store)

    def those_ahead_commit(seconds: float) -> None:  # while this signup waits
        clock.pause(seconds)
        store.profiles["ref"] = replace(store.profiles["ref"], referral_count=5)
        store.served["ref"] = (5, NOW_MS + 30)

    queued_signups = Signups(store, parse_tiers(None), now=clock.now, pause=those_ahead_commit)
    outcome = queued_signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.referral_number, outcome.referral.reward_amount) == (6, Decimal(15))
    assert store.commits == 1
    # Ticket 4 started when answered (10 ms ago + 5 ms), 5 a slot later, this one a slot after.
    assert clock.pauses == [pytest.approx((TICKET_MS - 10 + 2 * SLOT_MS) / 1000)]
    assert store.served["ref"][0] == 6


def test_tickets_ahead_that_never_commit_cost_two_refusals_a_slot_apart(
    signups: Signups, store: MemoryStore, clock: Clock
) -> None:
    behind_two_tickets(store)
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.referral_number == 4
    assert store.commits == 3
    # Its turn in the schedule; then a slot in case the tickets ahead were only late; then at once.
    assert clock.pauses[1:] == [pytest.approx(SLOT_MS / 1000)]


def test_a_queue_planned_on_a_count_that_is_off_is_corrected_after_the_commit(
    signups: Signups, store: MemoryStore
) -> None:
    store.profiles["ref"] = Profile("ref", 2)
    store.queues["ref"] = Queue(3, 3)  # ticket 3 died holding its ticket: the queue counts it
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.referral_number == 3
    assert ("correct", 4, 3) in store.writes
    assert store.queues["ref"].planned == 3
    next_one = signups.sign_up(refer("u2"))
    assert isinstance(next_one, Rewarded)
    assert next_one.referral.referral_number == 4
    assert store.commits == 3  # the next signup planned right at once


def test_every_eighth_ticket_of_a_busy_stretch_records_the_anchor(signups: Signups, store: MemoryStore) -> None:
    store.profiles["ref"] = Profile("ref", 0)
    store.queues["ref"] = Queue()
    for n in range(1, 2 * ANCHOR_EVERY + 1):
        assert isinstance(signups.sign_up(refer(f"u{n}")), Rewarded)  # at the same moment: a burst
    assert [w for w in store.writes if w[0] == "anchor"] == [("anchor", ANCHOR_EVERY), ("anchor", 2 * ANCHOR_EVERY)]


def test_a_commit_that_met_a_conflict_retunes_the_slot_for_later_tickets(signups: Signups, store: MemoryStore) -> None:
    store.commit_ms = 50
    conflicts = iter([CommitOutcome.CONFLICT])
    store.before_commit = lambda: next(conflicts, None)
    assert isinstance(signups.sign_up(refer("u1")), Rewarded)
    assert ("slot", SLOT_MS, 52) in store.writes
    assert store.queues["ref"].slot_ms == 52


def test_a_lone_signup_makes_no_call_but_its_ticket_and_its_commit(signups: Signups, store: MemoryStore) -> None:
    store.commit_ms = 500  # however slow the commit
    for n in range(3 * ANCHOR_EVERY):
        store.clock.elapsed_ms += IDLE_GAP_MS + 1  # each one alone
        assert isinstance(signups.sign_up(refer(f"u{n}")), Rewarded)
    assert store.writes == []


def test_a_queue_longer_than_the_longest_wait_answers_503_and_gives_its_ticket_back(
    signups: Signups, store: MemoryStore
) -> None:
    deep = MAX_QUEUE_WAIT_MS // SLOT_MS + 2
    store.profiles["ref"] = Profile("ref", 0)
    store.queues["ref"] = Queue(deep, deep, arrivals=[Earlier(NOW_MS - 1)] * deep + [Earlier(0)])
    assert signups.sign_up(refer("u1")) == TooBusy(attempts=0)
    assert (store.commits, store.writes) == (0, [("give back", "ref")])


# The reward's state at signup (referrals/signup_reward.py decides; the store writes it) ----------


def plain_key(address: str) -> str:
    return f"key({address.lower()})"  # a stand-in for the keyed hash (tests/unit/test_review_signals.py)


def with_lifecycle(signups: Signups, **lifecycle: Any) -> Signups:
    """The use case with lifecycle settings, and e-mail keys: the shared-e-mail signal on."""
    return replace(signups, settings=LifecycleSettings(**lifecycle), email_key=plain_key)


def test_defaults_make_the_reward_payable_at_signup(signups: Signups) -> None:
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.reward == SignupReward(RewardState.PAYABLE, NOW_MS, NOW_MS)
    assert outcome.referral.email_key is None  # no e-mail keys: the signal is off


def test_an_email_of_the_referrer_flags_the_reward_in_a_second_commit_on_the_same_count(
    signups: Signups, store: MemoryStore, pauses: list[float]
) -> None:
    signups = with_lifecycle(signups, hold_days=2)
    store.email_keys["key(ref@example.com)"] = "ref"
    store.profiles["ref"] = Profile("ref", 4)
    store.queues["ref"] = Queue(4, 4)
    outcome = signups.sign_up(SignupRequest("u1", "ref", "REF@example.com"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.reward == SignupReward(
        RewardState.FLAGGED, NOW_MS, signals=frozenset({ReviewSignal.EMAIL_OF_REFERRER})
    )
    assert outcome.referral.email_key is None  # the key stays the referrer's
    assert (store.commits, outcome.referral.referral_number, pauses) == (2, 5, [])  # at once, same count
    assert store.email_keys == {"key(ref@example.com)": "ref"}
    assert store.writes == []  # its turn all along: the queue's plan held


def test_an_email_of_another_user_and_a_burst_flag_together(signups: Signups, store: MemoryStore) -> None:
    signups = with_lifecycle(signups, qualification=Qualification.EVENT, burst_per_hour=2)
    store.email_keys["key(x@example.com)"] = "someone"
    store.queues["ref"] = Queue(2, 2, arrivals=[Earlier(NOW_MS - 1000), Earlier(NOW_MS - 2000)])
    store.profiles["ref"] = Profile("ref", 2)
    store.served["ref"] = (2, NOW_MS - 900)
    outcome = signups.sign_up(SignupRequest("u1", "ref", "x@example.com"))
    assert isinstance(outcome, Rewarded)
    signals = frozenset({ReviewSignal.EMAIL_OF_OTHER_USER, ReviewSignal.REFERRAL_BURST})
    assert outcome.referral.reward == SignupReward(RewardState.FLAGGED, None, signals=signals)  # not qualified yet


def test_a_burst_counts_only_the_last_hour(signups: Signups, store: MemoryStore) -> None:
    signups = with_lifecycle(signups, burst_per_hour=2)
    store.queues["ref"] = Queue(2, 2, arrivals=[Earlier(NOW_MS - 1000), Earlier(NOW_MS - 3_600_000)])
    store.profiles["ref"] = Profile("ref", 2)
    store.served["ref"] = (2, NOW_MS - 900)
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.reward.state is RewardState.PAYABLE


def test_an_honest_signup_claims_its_key_in_its_one_commit(signups: Signups, store: MemoryStore) -> None:
    signups = with_lifecycle(signups, qualification=Qualification.EVENT)
    outcome = signups.sign_up(SignupRequest("u1", "ref", "u1@example.com"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.reward, outcome.referral.email_key) == (
        SignupReward(RewardState.WAITING),
        "key(u1@example.com)",
    )
    assert (store.commits, store.email_keys) == (1, {"key(u1@example.com)": "u1"})


def test_an_enrolment_whose_key_is_taken_enrols_without_it(signups: Signups, store: MemoryStore) -> None:
    signups = with_lifecycle(signups)
    store.email_keys["key(x@example.com)"] = "someone"
    assert signups.sign_up(SignupRequest("new", None, "X@example.com")) == Enrolled("new")
    assert "new" in store.profiles
    assert store.email_keys == {"key(x@example.com)": "someone"}
    assert signups.sign_up(SignupRequest("other", None, "other@example.com")) == Enrolled("other")
    assert store.email_keys["key(other@example.com)"] == "other"
