"""The signup queue's plan: who goes when, on which count, and how it recovers from a wrong guess."""

import pytest

from referrals.signup_queue import (
    ANCHOR_EVERY,
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    IDLE_GAP_MS,
    MAX_SLOT_MS,
    SLOT_GROWTH,
    SLOT_MS,
    TICKET_MS,
    Anchor,
    Earlier,
    QueueState,
    Ticket,
    Turn,
    records_anchor,
    retuned_slot,
    schedule,
)

NOW_MS = 1_700_000_000_000


def ticket(number: int, planned: int | None, *ago_ms: int, anchor: Anchor | None = None, slot: int = SLOT_MS) -> Ticket:
    """Ticket `number`; the ones before it were taken `ago_ms` before now (latest first), older never."""
    earlier = tuple(Earlier(NOW_MS - ago, slot) for ago in ago_ms)
    return Ticket(number, planned, slot, earlier, anchor)


def first_turn(t: Ticket) -> Turn:
    return Turn.first(t, schedule(t, NOW_MS), NOW_MS)


# The schedule ---------------------------------------------------------------------------------


def test_the_first_ticket_of_an_empty_queue_commits_as_soon_as_it_is_answered() -> None:
    planned = schedule(ticket(1, 0), NOW_MS)
    assert (planned.start_ms, planned.ahead, planned.known) == (NOW_MS + TICKET_MS, 0, True)
    turn = first_turn(ticket(1, 0))
    assert (turn.expected_count, turn.wait_seconds(NOW_MS)) == (0, 0.0)


def test_tickets_still_committing_ahead_are_waited_for_a_slot_each() -> None:
    # Tickets 5 and 6 were taken 10 and 5 ms ago; 4 had found the queue empty long before.
    t = ticket(7, 6, 5, 10, IDLE_GAP_MS + 1000)
    planned = schedule(t, NOW_MS)
    first_start = NOW_MS - 10 + TICKET_MS
    assert planned.start_ms == first_start + 2 * SLOT_MS
    assert (planned.ahead, planned.known, planned.traced_from) == (2, True, 5)
    turn = first_turn(t)
    assert turn.expected_count == 6  # the planned count already counts tickets 5 and 6
    assert turn.wait_seconds(NOW_MS) == pytest.approx((planned.start_ms - NOW_MS) / 1000)


def test_a_ticket_taken_after_a_long_pause_finds_the_queue_empty() -> None:
    planned = schedule(ticket(9, 8, IDLE_GAP_MS + 1, IDLE_GAP_MS + 5), NOW_MS)
    assert (planned.start_ms, planned.ahead, planned.traced_from) == (NOW_MS + TICKET_MS, 0, 9)


def test_each_ticket_keeps_the_slot_it_was_planned_with() -> None:
    # Ticket 2 was taken with a 40 ms slot; the slot is 20 ms now.
    t = Ticket(3, 2, 20, (Earlier(NOW_MS - 2, 40), Earlier(0)))
    assert schedule(t, NOW_MS).start_ms == NOW_MS - 2 + TICKET_MS + 40


def test_a_busy_stretch_longer_than_the_memory_is_traced_from_the_anchor() -> None:
    every_25_ms = tuple(25 * n for n in range(1, 25))  # no empty queue among the 24 remembered
    assert schedule(ticket(100, 99, *every_25_ms), NOW_MS).known is False
    anchor = Anchor(90, NOW_MS - 100)
    planned = schedule(ticket(100, 99, *every_25_ms, anchor=anchor), NOW_MS)
    assert (planned.known, planned.traced_from) == (True, 90)
    # Ticket 90 (taken 250 ms ago) started 100 ms ago; 91..99 came every 25 ms, one 32 ms slot each.
    assert planned.start_ms == anchor.start_ms + 10 * SLOT_MS


def test_an_anchor_older_than_the_memory_is_not_used() -> None:
    every_25_ms = tuple(25 * n for n in range(1, 25))
    assert schedule(ticket(100, 99, *every_25_ms, anchor=Anchor(70, NOW_MS - 900)), NOW_MS).known is False


def test_every_eighth_ticket_of_a_busy_stretch_records_the_anchor() -> None:
    busy = ticket(ANCHOR_EVERY * 3, 10, 5, 10, IDLE_GAP_MS + 1000)
    assert records_anchor(busy, schedule(busy, NOW_MS))
    next_one = ticket(ANCHOR_EVERY * 3 + 1, 10, 5, 10, IDLE_GAP_MS + 1000)
    assert not records_anchor(next_one, schedule(next_one, NOW_MS))
    alone = ticket(ANCHOR_EVERY * 3, 10, IDLE_GAP_MS + 1)  # found the queue empty: nothing to anchor
    assert not records_anchor(alone, schedule(alone, NOW_MS))


# The slot -------------------------------------------------------------------------------------


def retuned(number: int, slot: int, commit_ms: int, conflicts: int = 0, busy: bool = True) -> int | None:
    t = ticket(number, 2, 5, 10, IDLE_GAP_MS + 1000, slot=slot) if busy else ticket(number, 2, IDLE_GAP_MS + 1)
    t = Ticket(t.number, t.planned_count, slot, t.earlier)
    planned = schedule(t, NOW_MS)
    turn = first_turn(t)
    for _ in range(conflicts):
        turn = turn.after_conflict(NOW_MS)
    return retuned_slot(t, planned, turn, commit_ms)


def test_a_commit_that_met_a_conflict_grows_the_slot_at_once_to_what_it_took() -> None:
    assert retuned(3, 22, commit_ms=30, conflicts=1) == 32  # the commit and its margin
    assert retuned(3, 22, commit_ms=10_000, conflicts=1) == MAX_SLOT_MS


def test_a_conflict_never_grows_the_slot_past_the_commit_it_measured() -> None:
    # The commit ahead was slow, this one was not: a longer slot would only lengthen the queue.
    assert retuned(3, 40, commit_ms=20, conflicts=1) is None
    assert retuned(3, 22, commit_ms=20, conflicts=3) is None


def test_every_eighth_ticket_of_a_busy_stretch_tunes_the_slot_to_its_commit() -> None:
    assert retuned(ANCHOR_EVERY, 22, commit_ms=30) == 32
    assert retuned(ANCHOR_EVERY, 32, commit_ms=20) == 27  # halfway down
    assert retuned(ANCHOR_EVERY, 24, commit_ms=20) is None  # within the margin
    assert retuned(ANCHOR_EVERY + 1, 32, commit_ms=20) is None
    assert retuned(ANCHOR_EVERY + 1, 22, commit_ms=30) is None  # the next one grows it if it must


def test_a_lone_signup_never_retunes_the_slot() -> None:
    assert retuned(ANCHOR_EVERY, 32, commit_ms=100, busy=False) is None


# Recovering from a wrong plan -----------------------------------------------------------------


def test_a_profile_without_counters_expects_no_counter() -> None:
    assert first_turn(Ticket(1, None)).expected_count is None


def test_a_refusal_from_a_queue_that_runs_late_retries_where_the_latest_commit_puts_it() -> None:
    turn = first_turn(ticket(7, 6, 5, 10, IDLE_GAP_MS + 1000))
    attempt = NOW_MS + 80
    # Ticket 5 committed (sent at +50); 6 is still to come: this signup goes a slot after 6.
    again = turn.after_refusal(QueueState(5, 5, NOW_MS + 50), attempt, replanned_ms=NOW_MS + 50 + 2 * SLOT_MS)
    assert again.expected_count == 6
    assert again.wait_seconds(attempt + TICKET_MS) == pytest.approx((50 + 2 * SLOT_MS - 80 - TICKET_MS) / 1000)
    # A plan in the past still waits a slot after the attempt: the commit ahead takes that long.
    late = turn.after_refusal(QueueState(5, 5, NOW_MS), attempt, replanned_ms=NOW_MS)
    assert late.wait_seconds(attempt) == pytest.approx(SLOT_MS / 1000)


def test_without_the_latest_commit_a_refusal_waits_a_longer_slot_per_commit_ahead() -> None:
    turn = first_turn(ticket(7, 6, 5, 10, IDLE_GAP_MS + 1000))
    again = turn.after_refusal(QueueState(5, 5), NOW_MS)
    assert again.expected_count == 6
    assert again.wait_seconds(NOW_MS) == pytest.approx(SLOT_MS * SLOT_GROWTH / 1000)


def test_tickets_ahead_that_stay_silent_for_a_slot_were_given_up() -> None:
    turn = first_turn(ticket(7, 6, 5, 10, IDLE_GAP_MS + 1000))  # it expects 5 and 6 to commit first
    silent = QueueState(4, 4)
    once = turn.after_refusal(silent, NOW_MS)
    # Maybe late (a conflict delays a commit by a slot): look again a slot later, same target.
    assert (once.expected_count, once.wait_seconds(NOW_MS)) == (6, pytest.approx(SLOT_MS / 1000))
    twice = once.after_refusal(silent, NOW_MS + SLOT_MS)
    assert (twice.expected_count, twice.wait_seconds(NOW_MS + SLOT_MS)) == (4, 0.0)


def test_a_commit_out_of_turn_backs_off_with_jitter_and_takes_the_fresh_count() -> None:
    turn = first_turn(ticket(1, 7))
    again = turn.after_refusal(QueueState(8, 9), NOW_MS)
    assert again.expected_count == 8
    assert 0 <= again.wait_seconds(NOW_MS) <= 2 * BACKOFF_BASE_SECONDS
    assert again.after_refusal(QueueState(9, 9), NOW_MS).unplanned_refusals == 2


def test_a_conflict_keeps_the_count_and_retries_an_eighth_of_a_slot_after_the_attempt() -> None:
    turn = first_turn(ticket(7, 6, 5, 10, IDLE_GAP_MS + 1000))
    attempt = NOW_MS + 40
    once = turn.after_conflict(attempt)
    assert once.expected_count == 6
    assert once.wait_seconds(attempt) == pytest.approx(4 / 1000)  # SLOT_MS 32 / 8
    assert once.wait_seconds(attempt + 1) == pytest.approx(3 / 1000)  # counted from the attempt
    twice = once.after_conflict(attempt)
    assert twice.wait_seconds(attempt) == pytest.approx(6 / 1000)  # half as long again
    for _ in range(20):
        twice = twice.after_conflict(attempt)
    assert twice.wait_seconds(attempt) == BACKOFF_CAP_SECONDS


def test_a_plan_that_proves_wrong_on_an_empty_queue_is_marked_for_correction() -> None:
    # Nobody was ahead of ticket 4, yet the count is 2, not 3: ticket 3 died holding its ticket.
    turn = first_turn(ticket(4, 3, IDLE_GAP_MS + 1))
    refused = turn.after_refusal(QueueState(2, 2), NOW_MS)
    assert refused.drifted
    assert (refused.expected_count, refused.wait_seconds(NOW_MS)) == (2, 0.0)
    # A later ticket that committed out of turn is not a wrong plan.
    assert not turn.after_refusal(QueueState(4, 5), NOW_MS).drifted
