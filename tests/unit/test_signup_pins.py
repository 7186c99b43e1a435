"""Pins of the signup use case's bounds and queue writes (make mutation, tools/mutation.toml).

The numbers are the modules' (signup.py, signup_queue.py), written out so that a changed constant
fails a test: at most 12 commit attempts, a planned wait of more than 2 s answers 503 at once, a
slot is 32 ms and a conflict retries an eighth of one (4 ms) later, a ticket is answered 5 ms after
it is taken. Time moves only when the use case pauses or a store call takes time (tests/unit/
test_signup.py's Clock).
"""

import time
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal

import pytest

from referrals import contract as c
from referrals.lifecycle_settings import LifecycleSettings
from referrals.referrer_amounts import ReferrerAmounts, ReferrerItem
from referrals.signup import (
    CommitOutcome,
    Profile,
    Referral,
    ReferrerStats,
    Rewarded,
    Signups,
    TooBusy,
)
from referrals.signup_queue import Anchor, Earlier, Ticket
from referrals.signup_reward import signup_reward
from referrals.tiers import parse_tiers
from referrals.validation import SignupRequest
from tests.unit.test_signup import NOW_MS, Clock, MemoryStore, Queue, refer

LONG_AGO = 10_000  # ms before now: a ticket that found the queue empty


@dataclass
class RecordingStore(MemoryStore):
    """The in-memory store, logging commit attempts among the queue writes, what enrolments
    pass, and how long a ticket call takes; and with each referrer's own items for the stats."""

    ticket_ms: int = 0
    ticket: Ticket | None = None  # hand out this ticket instead of the queue's
    enrolments: list[tuple[str, str | None]] = field(default_factory=list)
    items: dict[str, list[ReferrerItem]] = field(default_factory=dict)

    def take_ticket(self, referrer_id: str, now_ms: int):  # type: ignore[no-untyped-def]
        self.clock.elapsed_ms += self.ticket_ms
        taken = super().take_ticket(referrer_id, now_ms)
        return taken if self.ticket is None else self.ticket

    def create_profile(self, user_id: str, email: str | None, email_key: str | None):  # type: ignore[no-untyped-def]
        self.enrolments.append((user_id, email))
        return super().create_profile(user_id, email, email_key)

    def commit_referral(self, referral: Referral, expected_count: int | None, ticket: int, sent_at_ms: int):  # type: ignore[no-untyped-def]
        self.writes.append(("commit", expected_count, sent_at_ms - NOW_MS))
        return super().commit_referral(referral, expected_count, ticket, sent_at_ms)

    def referrer_items(self, referrer_id: str) -> list[ReferrerItem]:
        return self.items[referrer_id]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> RecordingStore:
    return RecordingStore(clock, profiles={"ref": Profile("ref", None)})


@pytest.fixture
def signups(store: RecordingStore, clock: Clock) -> Signups:
    return Signups(store, parse_tiers(None), now=clock.now, pause=clock.pause)


def commits(store: RecordingStore) -> list[tuple]:
    return [w for w in store.writes if w[0] == "commit"]


# What a signup writes ---------------------------------------------------------------------------


def test_a_referral_is_the_request_at_its_moment_committed_once_and_marked_sent_then(
    signups: Signups, store: RecordingStore
) -> None:
    outcome = signups.sign_up(SignupRequest("u1", "ref", "u1@example.com"))
    reward = signup_reward(LifecycleSettings(), NOW_MS)  # payable at signup, with no hold
    referral = Referral("u1", "ref", NOW_MS, "u1@example.com", "2026-11-03T12:30:45.123Z", Decimal(10), 1, reward)
    assert outcome == Rewarded(referral, is_retry=False)
    assert store.referrals == {("u1", NOW_MS): referral}
    assert store.served["ref"] == (1, NOW_MS)  # its ticket, and when its commit was sent


def test_an_enrolment_hands_its_email_to_the_store(signups: Signups, store: RecordingStore) -> None:
    signups.sign_up(SignupRequest("new", None, "new@example.com"))
    assert store.enrolments == [("new", "new@example.com")]


def test_stats_are_the_referrers_own_in_two_places(signups: Signups, store: RecordingStore) -> None:
    store.items = {
        "ref": [ReferrerItem("a", c.STATUS_PENDING, Decimal("12.5")), ReferrerItem("b", c.STATUS_PAID, Decimal("7.5"))],
        "other": [ReferrerItem("c", c.STATUS_PENDING, Decimal(1)), ReferrerItem("d", c.STATUS_PAID, Decimal(2))],
    }
    stats = signups.stats("ref")
    zero = Decimal("0.00")
    amounts = ReferrerAmounts(zero, zero, Decimal("12.50"), Decimal("7.50"), zero, zero)
    assert stats == ReferrerStats("ref", 0, zero, amounts)  # no counter: 0
    assert stats is not None and str(stats.amounts.paid) == "7.50" and str(stats.amounts.pending) == "12.50"


def test_by_default_the_clock_is_utc_and_a_pause_is_time_sleep(
    store: RecordingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    default = Signups(store, parse_tiers(None))
    assert default.now().utcoffset() is not None and default.now().tzinfo == UTC
    default.pause(0.25)
    assert slept == [0.25]


# The bounds -------------------------------------------------------------------------------------


def test_a_signup_makes_12_commit_attempts_then_answers_503_and_gives_its_ticket_back(
    signups: Signups, store: RecordingStore
) -> None:
    store.before_commit = lambda: CommitOutcome.CONFLICT
    assert signups.sign_up(refer("u1")) == TooBusy(12)
    assert len(commits(store)) == 12
    assert [w for w in store.writes if w[0] != "commit"] == [("give back", "ref")]
    assert (store.referrals, set(store.profiles)) == ({}, {"ref"})


def queue_after_anchor(store: RecordingStore, anchor_start_ms: int) -> None:
    """Ticket 10 is next, planned on count 9, right after ticket 9 whose commit the anchor puts at
    `anchor_start_ms`: its own commit starts one 32 ms slot after that."""
    store.profiles["ref"] = Profile("ref", 9)
    store.ticket = Ticket(10, 9, 32, (Earlier(NOW_MS - 1),), Anchor(9, anchor_start_ms))


def test_a_planned_wait_of_exactly_2_s_is_waited(signups: Signups, store: RecordingStore, clock: Clock) -> None:
    queue_after_anchor(store, NOW_MS + 5 + 2_000 - 32)
    outcome = signups.sign_up(refer("u1"))
    assert isinstance(outcome, Rewarded)
    assert clock.pauses == [pytest.approx(2.005)]  # from when the ticket was taken to its planned start
    assert commits(store) == [("commit", 9, 2_005)]


def test_a_planned_wait_over_2_s_answers_503_at_once_without_a_commit(
    signups: Signups, store: RecordingStore, clock: Clock
) -> None:
    queue_after_anchor(store, NOW_MS + 5 + 2_001 - 32)
    assert signups.sign_up(refer("u1")) == TooBusy(attempts=0)
    assert (clock.pauses, commits(store)) == ([], [])
    assert [w for w in store.writes if w[0] != "commit"] == [("give back", "ref")]


# The anchor -------------------------------------------------------------------------------------


def eighth_ticket(store: RecordingStore, ticket_7_ago_ms: int) -> None:
    """Ticket 8 (it records the anchor), behind ticket 7 taken `ticket_7_ago_ms` ago after an empty queue."""
    store.profiles["ref"] = Profile("ref", 7)
    earlier = (Earlier(NOW_MS - ticket_7_ago_ms), Earlier(NOW_MS - LONG_AGO))
    store.ticket = Ticket(8, 7, 32, earlier)


@pytest.mark.parametrize(("ticket_ms", "before"), [(1, True), (2, False)])
def test_the_anchor_is_recorded_while_waiting_when_the_wait_is_at_least_5_ms(
    signups: Signups, store: RecordingStore, clock: Clock, ticket_ms: int, before: bool
) -> None:
    # Ticket 7's commit ends 6 ms after this ticket is taken; the ticket call takes 1 or 2 ms, so
    # 5 or 4 ms are left to wait.
    eighth_ticket(store, 31)
    store.ticket_ms = ticket_ms
    assert isinstance(signups.sign_up(refer("u1")), Rewarded)
    assert clock.pauses == [pytest.approx((6 - ticket_ms) / 1000)]  # the signup still waits its turn
    anchor, commit = ("anchor", 8), ("commit", 7, 6)
    assert [w for w in store.writes if w[0] in ("anchor", "commit")] == (
        [anchor, commit] if before else [commit, anchor]
    )
    assert store.queues["ref"].anchor == Anchor(8, NOW_MS + 6)


def test_an_anchor_is_recorded_once_after_the_first_attempt_when_there_is_no_wait(
    signups: Signups, store: RecordingStore, clock: Clock
) -> None:
    eighth_ticket(store, 40)  # ticket 7 ended 3 ms ago: this one commits as soon as it is answered
    conflicts = iter([CommitOutcome.CONFLICT])
    store.before_commit = lambda: next(conflicts, None)
    assert isinstance(signups.sign_up(refer("u1")), Rewarded)
    assert [w for w in store.writes if w[0] in ("anchor", "commit")] == [
        ("commit", 7, 0),
        ("anchor", 8),
        ("commit", 7, 4),  # an eighth of a 32 ms slot after the first attempt
    ]
    assert store.queues["ref"].anchor == Anchor(8, NOW_MS + 5)


@pytest.mark.parametrize(("late_ms", "recorded"), [(16, False), (17, True)])
def test_an_anchoring_commit_more_than_half_a_slot_late_records_where_it_really_was(
    signups: Signups, store: RecordingStore, clock: Clock, late_ms: int, recorded: bool
) -> None:
    eighth_ticket(store, 40)  # planned to start 5 ms from now, when its ticket is answered
    # Its first attempt, sent at once, meets a conflict and takes so long that the retry is sent
    # `late_ms` after the planned start.
    store.commit_ms = 5 + late_ms
    conflicts = iter([CommitOutcome.CONFLICT])
    store.before_commit = lambda: next(conflicts, None)
    assert isinstance(signups.sign_up(refer("u1")), Rewarded)
    assert commits(store) == [("commit", 7, 0), ("commit", 7, 5 + late_ms)]
    anchors = [w for w in store.writes if w[0] == "anchor"]
    assert anchors == [("anchor", 8)] * (2 if recorded else 1)
    assert store.queues["ref"].anchor == Anchor(8, NOW_MS + 5 + late_ms if recorded else NOW_MS + 5)


# Replanning from the latest commit ----------------------------------------------------------------


def test_a_refusal_replans_from_the_latest_commit_even_the_first_ticket(store: RecordingStore, clock: Clock) -> None:
    # Tickets 1 and 2 were taken 10 and 5 ms ago on a referrer without commits; ticket 3 plans a slot
    # after each: 59 ms from now. Ticket 1 commits late, sent 40 ms from now: ticket 2 then ends
    # two slots after that (104 ms), and ticket 3 goes then.
    store.profiles["ref"] = Profile("ref", 0)
    store.queues["ref"] = Queue(2, 2, arrivals=[Earlier(NOW_MS - 5), Earlier(NOW_MS - 10)])
    late = iter([(1, 40), (2, 80)])

    def those_ahead_commit_late(seconds: float) -> None:
        clock.pause(seconds)
        count, sent = next(late)
        store.profiles["ref"] = Profile("ref", count)
        store.served["ref"] = (count, NOW_MS + sent)

    queued = Signups(store, parse_tiers(None), now=clock.now, pause=those_ahead_commit_late)
    outcome = queued.sign_up(refer("u3"))
    assert isinstance(outcome, Rewarded)
    assert outcome.referral.referral_number == 3
    assert clock.pauses == [pytest.approx(0.059), pytest.approx(0.045)]
    assert commits(store) == [("commit", 2, 59), ("commit", 2, 104)]
