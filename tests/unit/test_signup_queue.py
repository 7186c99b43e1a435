"""The signup queue's plan: who goes when, on which count, and how it recovers from a wrong guess."""

import pytest

from referrals.signup_queue import (
    BACKOFF_BASE_SECONDS,
    LIVE_TICKET_MS,
    MAX_WAIT_SECONDS,
    SLOT_GROWTH,
    SLOT_SECONDS,
    QueueState,
    Ticket,
    Turn,
)

NOW_MS = 1_700_000_000_000


def queued(number: int, count: int | None, served: int, previous_age_ms: int | None = 10) -> Turn:
    taken_at = None if previous_age_ms is None else NOW_MS - previous_age_ms
    return Turn.first(Ticket(number, QueueState(count, served), taken_at), NOW_MS)


def test_first_ticket_commits_at_once_on_the_count_it_read() -> None:
    turn = queued(1, 7, 0, previous_age_ms=None)
    assert (turn.ahead, turn.expected_count, turn.wait_seconds()) == (0, 7, 0.0)


def test_profile_without_counters_expects_no_counter() -> None:
    assert queued(1, None, 0, previous_age_ms=None).expected_count is None


def test_live_tickets_ahead_are_waited_for_a_slot_each_and_counted_in() -> None:
    # Tickets 4 and 5 are out, ticket 3 committed last: two signups go first.
    turn = queued(6, 3, 3)
    assert turn.ahead == 2
    assert turn.expected_count == 5
    assert turn.wait_seconds() == pytest.approx(2 * SLOT_SECONDS)


def test_counterless_profile_with_tickets_ahead_expects_their_commits() -> None:
    assert queued(3, None, 0).expected_count == 2


def test_a_stale_previous_ticket_means_the_queue_is_empty() -> None:
    turn = queued(6, 3, 3, previous_age_ms=LIVE_TICKET_MS + 1)
    assert (turn.ahead, turn.expected_count, turn.wait_seconds()) == (0, 3, 0.0)


def test_one_wait_is_capped_however_long_the_queue() -> None:
    assert queued(1_000, 0, 0).wait_seconds() == MAX_WAIT_SECONDS


def test_no_progress_while_waiting_means_the_tickets_ahead_were_abandoned() -> None:
    turn = queued(6, 3, 3)
    again = turn.after_refusal(QueueState(3, 3))
    assert (again.ahead, again.expected_count, again.wait_seconds()) == (0, 3, 0.0)


def test_a_queue_slower_than_planned_is_waited_for_with_longer_slots() -> None:
    turn = queued(6, 3, 3)
    again = turn.after_refusal(QueueState(4, 4))  # ticket 4 committed, ticket 5 not yet
    assert (again.ahead, again.expected_count) == (1, 5)
    assert again.slot == pytest.approx(SLOT_SECONDS * SLOT_GROWTH)
    assert again.wait_seconds() == pytest.approx(SLOT_SECONDS * SLOT_GROWTH)


def test_a_queue_gone_through_with_a_gap_goes_at_once_on_the_fresh_count() -> None:
    turn = queued(6, 3, 3)
    # Ticket 5 committed, ticket 4 gave up: the count is one short of the plan.
    again = turn.after_refusal(QueueState(4, 5))
    assert (again.ahead, again.expected_count, again.wait_seconds()) == (0, 4, 0.0)


def test_a_commit_out_of_turn_backs_off_with_jitter_and_takes_the_fresh_count() -> None:
    turn = queued(1, 7, 0, previous_age_ms=None)
    again = turn.after_refusal(QueueState(8, 9))
    assert (again.ahead, again.expected_count) == (0, 8)
    assert 0 <= again.wait_seconds() <= 2 * BACKOFF_BASE_SECONDS
    assert again.after_refusal(QueueState(9, 9)).unplanned_refusals == 2


def test_a_conflict_keeps_the_expected_count_and_backs_off() -> None:
    turn = queued(6, 3, 3)
    again = turn.after_conflict()
    assert (again.ahead, again.expected_count, again.queued) == (2, 5, False)
    assert 0 <= again.wait_seconds() <= 2 * BACKOFF_BASE_SECONDS
