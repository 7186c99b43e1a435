"""The signup use case against an in-memory store: decisions and retries, no AWS.

The use case sends nothing: the referral it commits is the notification (the stream relay
publishes it; tests/unit/test_outbox_events.py and tests/lambdas/test_relay_*.py).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from referrals.signup import (
    MAX_ATTEMPTS,
    AlreadySignedUp,
    CommitOutcome,
    CountChanged,
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
from referrals.signup_queue import QueueState, Ticket
from referrals.tiers import parse_tiers
from referrals.validation import SignupRequest

NOW = datetime(2026, 11, 3, 12, 30, 45, 123000, tzinfo=UTC)


@dataclass
class MemoryStore:
    """Keeps profiles and referrals in dicts and applies the same conditions as the real store."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)  # the referrer's last ticket
    served: dict[str, int] = field(default_factory=dict)  # the ticket of its latest commit
    referrals: dict[tuple[str, int], Referral] = field(default_factory=dict)
    commits: int = 0
    before_commit: Callable[[], CommitOutcome | None] = lambda: None

    def get_profile(self, user_id: str) -> Profile | None:
        return self.profiles.get(user_id)

    def create_profile(self, user_id: str, email: str | None) -> Profile | None:
        if user_id in self.profiles:
            return self.profiles[user_id]
        self.profiles[user_id] = Profile(user_id, 0)
        return None

    def take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        if referrer_id not in self.profiles:
            return NoTicket.REFERRER_MISSING
        number = self.tickets.get(referrer_id, 0) + 1
        self.tickets[referrer_id] = number
        return Ticket(number, self._queue(referrer_id))

    def _queue(self, referrer_id: str) -> QueueState:
        return QueueState(self.profiles[referrer_id].referral_count, self.served.get(referrer_id, 0))

    def commit_referral(self, referral: Referral, expected_count: int | None, ticket: int):
        self.commits += 1
        forced = self.before_commit()
        if forced is not None:
            return forced
        if referral.user_id in self.profiles:
            return UserExists(self.profiles[referral.user_id])
        referrer = self.profiles.get(referral.referrer_id)
        if referrer is None:
            return CommitOutcome.REFERRER_MISSING
        if referrer.referral_count != expected_count:
            return CountChanged(self._queue(referral.referrer_id))
        self.profiles[referral.user_id] = Profile(
            referral.user_id, 0, referred_by=referral.referrer_id, referred_at=referral.timestamp_ms
        )
        self.referrals[(referral.user_id, referral.timestamp_ms)] = referral
        self.profiles[referral.referrer_id] = replace(
            referrer,
            referral_count=(expected_count or 0) + 1,
            total_rewards=referrer.total_rewards + referral.reward_amount,
        )
        self.served[referral.referrer_id] = ticket
        return CommitOutcome.COMMITTED

    def get_referral(self, user_id: str, timestamp_ms: int) -> Referral | None:
        return self.referrals.get((user_id, timestamp_ms))

    def referral_totals(self, referrer_id: str) -> tuple[Decimal, Decimal]:
        return sum((r.reward_amount for r in self.referrals.values()), Decimal(0)), Decimal(0)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(profiles={"ref": Profile("ref", None)})


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def signups(store: MemoryStore, pauses: list[float]) -> Signups:
    return Signups(store, parse_tiers(None), now=lambda: NOW, pause=pauses.append)


def refer(user_id: str, code: str = "ref") -> SignupRequest:
    return SignupRequest(user_id, code, None)


def test_first_referral_of_a_referrer_without_counters(signups: Signups, store: MemoryStore) -> None:
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.reward_amount, outcome.referral.referral_number) == (Decimal(10), 1)
    assert outcome.referral.signup_date == "2026-11-03T12:30:45.123Z"
    assert outcome.referral.timestamp_ms == int(NOW.timestamp() * 1000)
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
    assert store.commits == 0


def test_referrer_vanishing_between_read_and_write_is_unknown(signups: Signups, store: MemoryStore) -> None:
    store.before_commit = lambda: CommitOutcome.REFERRER_MISSING
    assert signups.sign_up(refer("u1")) == UnknownReferrer("ref")


def test_identical_retry_answers_the_original(signups: Signups, store: MemoryStore) -> None:
    first = signups.sign_up(refer("u1"))
    again = signups.sign_up(refer("u1"))
    assert isinstance(first, Rewarded)
    assert again == Rewarded(first.referral, is_retry=True)
    assert (len(store.referrals), store.commits) == (1, 2)  # the retry's commit was refused


def test_same_user_with_another_code_conflicts(signups: Signups, store: MemoryStore) -> None:
    store.profiles["other"] = Profile("other", 0)
    signups.sign_up(refer("u1"))
    assert signups.sign_up(refer("u1", "other")) == AlreadySignedUp("u1")


def test_stale_count_is_retried_with_the_count_from_the_failed_condition(
    signups: Signups, store: MemoryStore, pauses: list[float]
) -> None:
    store.profiles["ref"] = Profile("ref", 4)
    stale_read = Ticket(1, QueueState(3))  # what this signup read before another one committed
    store.take_ticket = lambda referrer_id, now_ms: stale_read  # type: ignore[method-assign]
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.referral_number, outcome.referral.reward_amount) == (5, Decimal(15))
    assert store.commits == 2
    assert len(pauses) == 1


def test_transaction_conflicts_are_retried(signups: Signups, store: MemoryStore) -> None:
    conflicts = iter([CommitOutcome.CONFLICT, CommitOutcome.CONFLICT])
    store.before_commit = lambda: next(conflicts, None)
    assert isinstance(signups.sign_up(refer("u1")), Rewarded)
    assert store.commits == 3


def test_a_referrer_too_busy_to_give_a_ticket_is_a_503_without_a_commit(signups: Signups, store: MemoryStore) -> None:
    store.take_ticket = lambda referrer_id, now_ms: NoTicket.BUSY  # type: ignore[method-assign]
    assert signups.sign_up(refer("u1")) == TooBusy(attempts=0)
    assert (store.commits, store.referrals, set(store.profiles)) == (0, {}, {"ref"})


def test_retries_are_bounded_with_growing_jittered_pauses(
    signups: Signups, store: MemoryStore, pauses: list[float]
) -> None:
    store.before_commit = lambda: CommitOutcome.CONFLICT
    assert signups.sign_up(refer("u1")) == TooBusy(MAX_ATTEMPTS)
    assert store.commits == MAX_ATTEMPTS
    assert len(pauses) == MAX_ATTEMPTS - 1
    ceilings = [min(0.5, 0.02 * 2**attempt) for attempt in range(1, MAX_ATTEMPTS)]
    assert all(0 <= pause <= ceiling for pause, ceiling in zip(pauses, ceilings, strict=True))
    assert "u1" not in store.profiles


def test_stats_of_a_referrer(signups: Signups, store: MemoryStore) -> None:
    signups.sign_up(refer("u1"))
    signups.sign_up(refer("u2"))
    stats = signups.stats("ref")
    assert stats is not None
    assert (stats.referral_count, stats.total_rewards, stats.pending_amount) == (2, Decimal(20), Decimal(20))
    assert signups.stats("nobody") is None


def behind_two_tickets(store: MemoryStore) -> Ticket:
    """The referrer's count is 3 and ticket 3 committed last; tickets 4 and 5 are out: this is 6."""
    store.profiles["ref"] = Profile("ref", 3)
    store.served["ref"] = 3
    return Ticket(6, QueueState(3, 3), previous_taken_at_ms=int(NOW.timestamp() * 1000) - 5)


def test_a_queued_signup_waits_its_turn_and_commits_on_the_count_left_by_those_ahead(
    store: MemoryStore, pauses: list[float]
) -> None:
    queued_ticket = behind_two_tickets(store)

    def take_ticket(referrer_id: str, now_ms: int) -> Ticket:
        store.tickets["ref"] = 6
        return queued_ticket

    def those_ahead_commit(seconds: float) -> None:  # while this signup waits
        pauses.append(seconds)
        store.profiles["ref"] = replace(store.profiles["ref"], referral_count=5)
        store.served["ref"] = 5

    store.take_ticket = take_ticket  # type: ignore[method-assign]
    queued_signups = Signups(store, parse_tiers(None), now=lambda: NOW, pause=those_ahead_commit)
    outcome = queued_signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert (outcome.referral.referral_number, outcome.referral.reward_amount) == (6, Decimal(15))
    assert store.commits == 1
    assert pauses == [pytest.approx(0.05)]
    assert store.served["ref"] == 6


def test_tickets_ahead_that_never_commit_cost_one_refusal(
    signups: Signups, store: MemoryStore, pauses: list[float]
) -> None:
    abandoned_ahead = behind_two_tickets(store)
    store.take_ticket = lambda referrer_id, now_ms: abandoned_ahead  # type: ignore[method-assign]
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.referral_number == 4
    assert store.commits == 2
    assert len(pauses) == 1  # the slots of the two tickets ahead; the retry goes at once
