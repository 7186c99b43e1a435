"""Pins of the signup queue's numbers and boundaries (make mutation, tools/mutation.toml).

The numbers are the module's (signup_queue.py): a ticket is answered 5 ms after it is taken, a
slot is 32 ms, a queue idle for more than 2,200 ms (the longest planned wait, 2 s, plus the
longest slot, 200 ms) is empty, backoff is full jitter under a ceiling of 20 ms doubling per
unplanned refusal up to 0.5 s, a conflict retries an eighth of a slot later and half as long again
after each further one (at most 0.5 s), a slower queue waits at most 1 s. They are written out
here, not taken from the module, so a changed constant fails a test.
"""

import random
from dataclasses import replace

import pytest

from referrals.referral_store import ARRIVALS, _queue_item
from referrals.signup_queue import (
    Anchor,
    Earlier,
    QueueState,
    Ticket,
    Turn,
    retuned_slot,
    schedule,
)
from tests.unit.test_signup_queue import NOW_MS, first_turn, ticket

LONG_AGO = 10_000  # ms before now: a ticket that found the queue empty


# The schedule ---------------------------------------------------------------------------------


def test_a_ticket_of_an_empty_queue_commits_5_ms_after_it_was_taken() -> None:
    planned = schedule(Ticket(1, 0), NOW_MS)
    assert (planned.start_ms, planned.ahead, planned.known, planned.traced_from) == (NOW_MS + 5, 0, True, 1)


def test_a_ticket_after_a_finished_commit_starts_when_answered_not_when_that_commit_ended() -> None:
    # Ticket 2 (after an empty queue) was taken 100 ms ago and ended 63 ms ago.
    planned = schedule(Ticket(3, 2, 32, (Earlier(NOW_MS - 100), Earlier(NOW_MS - LONG_AGO))), NOW_MS)
    assert (planned.start_ms, planned.ahead, planned.traced_from) == (NOW_MS + 5, 0, 2)


def test_a_commit_planned_to_end_just_as_this_one_could_start_is_not_ahead() -> None:
    # Ticket 2 was taken 32 ms ago: its commit starts 27 ms ago and ends 5 ms from now (one 32 ms
    # slot), exactly when this ticket's answer arrives.
    done = schedule(Ticket(3, 2, 32, (Earlier(NOW_MS - 32), Earlier(NOW_MS - LONG_AGO))), NOW_MS)
    assert (done.start_ms, done.ahead) == (NOW_MS + 5, 0)
    # One ms later and it is still running when this ticket could start.
    running = schedule(Ticket(3, 2, 32, (Earlier(NOW_MS - 31), Earlier(NOW_MS - LONG_AGO))), NOW_MS)
    assert (running.start_ms, running.ahead) == (NOW_MS + 6, 1)


@pytest.mark.parametrize(("gap_ms", "empty"), [(2_200, False), (2_201, True)])
def test_a_queue_idle_for_more_than_2200_ms_was_empty(gap_ms: int, empty: bool) -> None:
    # Ticket 4 was taken `gap_ms` before this one, ticket 3 100 ms before 4; older ones are forgotten.
    t = Ticket(5, 4, 32, (Earlier(NOW_MS - gap_ms), Earlier(NOW_MS - gap_ms - 100)))
    planned = schedule(t, NOW_MS)
    assert planned.known is empty
    assert planned.traced_from == (5 if empty else 3)
    if empty:
        assert (planned.start_ms, planned.ahead) == (NOW_MS + 5, 0)


def test_the_schedule_is_traced_from_the_latest_ticket_that_found_the_queue_empty() -> None:
    # Ticket 1 opened the queue, ticket 3 found it empty again; ticket 4 is traced from ticket 3.
    t = Ticket(4, 3, 32, (Earlier(NOW_MS - 10), Earlier(NOW_MS - 2 * LONG_AGO), Earlier(NOW_MS - 3 * LONG_AGO)))
    planned = schedule(t, NOW_MS)
    assert (planned.known, planned.traced_from) == (True, 3)
    assert planned.start_ms == NOW_MS - 10 + 5 + 32


EVERY_25_MS = tuple(25 * n for n in range(1, 25))  # tickets 99..76, no empty queue among them


def test_an_anchor_at_the_oldest_remembered_ticket_is_used() -> None:
    planned = schedule(ticket(100, 99, *EVERY_25_MS, anchor=Anchor(76, NOW_MS - 100)), NOW_MS)
    assert (planned.known, planned.traced_from) == (True, 76)
    assert planned.start_ms == NOW_MS - 100 + 24 * 32  # 76 starts at the anchor, 77..100 a slot each


def test_an_anchor_at_this_ticket_is_no_starting_point() -> None:
    # Only the tickets after an anchor are traced from it.
    planned = schedule(ticket(100, 99, *EVERY_25_MS, anchor=Anchor(100, NOW_MS + 500)), NOW_MS)
    assert (planned.known, planned.traced_from) == (False, 76)


# The slot -------------------------------------------------------------------------------------


def anchoring(slot_ms: int) -> tuple[Ticket, Turn]:
    """Ticket 8 of a busy stretch (it records the anchor and may re-tune the slot)."""
    t = Ticket(8, 7, slot_ms, (Earlier(NOW_MS - 5, slot_ms), Earlier(NOW_MS - LONG_AGO, slot_ms)))
    return t, first_turn(t)


@pytest.mark.parametrize(
    ("commit_ms", "new_slot"),
    [
        (30, None),  # 30 + 2 ms margin: the slot already
        (31, 33),
        (26, None),  # 28 ms: not clearly shorter (within two margins)
        (25, 29),  # 27 ms: halfway down, in whole ms
    ],
)
def test_an_anchoring_ticket_retunes_a_32_ms_slot_only_to_a_commit_clearly_off_it(
    commit_ms: int, new_slot: int | None
) -> None:
    t, turn = anchoring(32)
    assert retuned_slot(t, schedule(t, NOW_MS), turn, commit_ms) == new_slot


# The first plan -------------------------------------------------------------------------------


def test_a_turn_waits_with_its_tickets_slot() -> None:
    t = Ticket(3, 2, 40, (Earlier(NOW_MS - 5, 40), Earlier(NOW_MS - LONG_AGO, 40)))
    turn = first_turn(t)
    silent = turn.after_refusal(QueueState(1, 1), NOW_MS + 100)
    assert silent.wait_seconds(NOW_MS + 100) == pytest.approx(0.040)


def test_a_first_ticket_that_finds_another_count_corrects_the_queue() -> None:
    # Nobody is ahead of ticket 1, planned on count 3 (tickets that died holding theirs): the
    # count is 2, so it commits on 2 at once and marks the queue for correction.
    refused = first_turn(Ticket(1, 3)).after_refusal(QueueState(2, 0), NOW_MS)
    assert refused.drifted
    assert (refused.expected_count, refused.wait_seconds(NOW_MS)) == (2, 0.0)


@pytest.mark.parametrize("number", [1, 2, 5])
def test_on_a_referrer_without_a_counter_nobody_is_ahead_so_a_counter_from_outside_is_a_drift(number: int) -> None:
    # Whatever the arrivals say, no earlier ticket can commit on a counter that does not exist.
    earlier = tuple(Earlier(NOW_MS - 5 * n) for n in range(1, number))
    turn = first_turn(Ticket(number, None, 32, earlier))
    assert turn.seen == QueueState(None, number - 1)
    refused = turn.after_refusal(QueueState(7, 0), NOW_MS)
    assert refused.drifted
    assert refused.expected_count == 7


def test_a_planned_moment_already_past_waits_nothing() -> None:
    turn = first_turn(ticket(7, 6, 5, 10, LONG_AGO))
    assert turn.commit_at_ms is not None
    assert turn.wait_seconds(turn.commit_at_ms + 10) == 0.0


# Refusals -------------------------------------------------------------------------------------


def test_the_backoff_ceiling_doubles_from_40_ms_to_at_most_half_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds: list[tuple[float, float]] = []

    def upper_bound(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", upper_bound)
    turn = first_turn(Ticket(1, 7))
    waits = []
    for n in range(1, 8):  # every refusal shows a count that a commit out of turn took
        turn = turn.after_refusal(QueueState(7 + n, 9 + n), NOW_MS)
        waits.append(turn.wait_seconds(NOW_MS))
    assert waits == pytest.approx([0.04, 0.08, 0.16, 0.32, 0.5, 0.5, 0.5])
    assert [low for low, _ in bounds] == [0] * 7  # full jitter: anything from no wait at all


def test_a_counter_that_vanished_or_appeared_is_an_unplanned_refusal() -> None:
    counted = first_turn(ticket(4, 3, LONG_AGO))
    vanished = counted.after_refusal(QueueState(None, 0), NOW_MS)
    assert (vanished.expected_count, vanished.unplanned_refusals) == (None, 1)
    appeared = first_turn(Ticket(1, None)).after_refusal(QueueState(3, 0), NOW_MS)
    assert (appeared.expected_count, appeared.unplanned_refusals) == (3, 1)


def behind_two() -> Turn:
    """Ticket 7 planned on count 6, behind tickets 5 and 6 (taken 10 and 5 ms ago)."""
    return first_turn(ticket(7, 6, 5, 10, LONG_AGO))


def test_after_every_refusal_the_turn_has_seen_what_the_refusal_showed() -> None:
    turn = behind_two()
    at = NOW_MS + 80
    out_of_turn = QueueState(8, 9, at - 20)
    assert turn.after_refusal(out_of_turn, at).seen == out_of_turn
    silent = QueueState(4, 4, NOW_MS - LONG_AGO)  # nothing committed: not even ticket 5
    stalled = turn.after_refusal(silent, at)
    assert stalled.seen == silent
    given_up = stalled.after_refusal(silent, at + 32)
    assert given_up.seen == silent
    # ... and the next refusal (a commit out of turn took count 4) plans from there.
    taken = QueueState(5, 9, at + 40)
    assert given_up.after_refusal(taken, at + 40).expected_count == 5
    moved = QueueState(5, 5, at - 30)
    assert turn.after_refusal(moved, at, replanned_ms=at + 40).seen == moved
    assert turn.after_refusal(moved, at).seen == moved
    lone = first_turn(ticket(4, 3, LONG_AGO))
    drifted = QueueState(2, 2, NOW_MS - LONG_AGO)
    assert lone.after_refusal(drifted, at).seen == drifted


def test_a_queue_that_moves_after_a_stall_gets_a_whole_slot_again_before_it_is_given_up() -> None:
    at = NOW_MS + 80
    silent = behind_two().after_refusal(QueueState(4, 4), at)
    assert silent.stalled is True
    for replanned in (at + 100, None):
        moved = silent.after_refusal(QueueState(5, 5, at + 20), at + 32, replanned_ms=replanned)
        assert moved.stalled is False
        # Ticket 6 is silent now: maybe late, so look again a slot later, on the same count.
        again = moved.after_refusal(QueueState(5, 5, at + 20), at + 200)
        assert (again.stalled, again.expected_count, again.pause) == (True, 6, moved.slot)


def test_a_queue_that_runs_slower_waits_longer_slots_and_at_most_a_second() -> None:
    # Ticket 41 planned on 40 with a 200 ms slot; the refusals show ticket after ticket committing.
    turn = Turn(41, 40, QueueState(30, 30), slot=0.2)
    slots, pauses = [], []
    for count in (31, 32, 33, 34):
        turn = turn.after_refusal(QueueState(count, count), NOW_MS)
        slots.append(turn.slot)
        pauses.append(turn.wait_seconds(NOW_MS))
        assert (turn.seen, turn.stalled, turn.expected_count) == (QueueState(count, count), False, 40)
    assert slots == pytest.approx([0.3, 0.45, 0.675, 1.0125])
    assert pauses == pytest.approx([1.0] * 4)  # (9, 8, 7, 6 commits ahead)
    close = Turn(3, 2, QueueState(0, 0), slot=0.032).after_refusal(QueueState(1, 1), NOW_MS)
    assert close.wait_seconds(NOW_MS) == pytest.approx(0.048)  # one commit ahead, a slot half as long again
    twice = close.after_refusal(QueueState(1, 1), NOW_MS)  # (stalled now: a slot of its own)
    assert twice.wait_seconds(NOW_MS) == pytest.approx(0.048)


def test_a_replanned_attempt_waits_at_least_the_grown_slot_in_whole_ms() -> None:
    turn = Turn(41, 40, QueueState(30, 30), slot=0.2)
    for count in (31, 32, 33):  # the slot grows to 675 ms
        turn = turn.after_refusal(QueueState(count, count), NOW_MS)
    replanned = turn.after_refusal(QueueState(34, 34, NOW_MS), NOW_MS, replanned_ms=NOW_MS)
    assert replanned.commit_at_ms == NOW_MS + 675


def test_tickets_ahead_still_to_commit_are_no_drift_whatever_else_moves_the_count() -> None:
    # Ticket 5 behind ticket 4; something outside the queue moves the count twice while ticket 4
    # has not committed: the queue's plan may still be right.
    turn = first_turn(ticket(5, 4, 5, LONG_AGO))
    assert turn.seen == QueueState(3, 3)
    once = turn.after_refusal(QueueState(5, 3), NOW_MS + 40)
    twice = once.after_refusal(QueueState(6, 3), NOW_MS + 80)
    assert not twice.drifted
    # Once ticket 4 is through, a count off the plan is a drift.
    through = turn.after_refusal(QueueState(5, 4), NOW_MS + 40).after_refusal(QueueState(6, 4), NOW_MS + 80)
    assert through.drifted


def test_conflicts_retry_an_eighth_of_a_200_ms_slot_later_growing_half_again_up_to_half_a_second() -> None:
    turn = replace(first_turn(Ticket(3, 2, 200, (Earlier(NOW_MS - 5, 200),))), commit_at_ms=None)
    waits = []
    for _ in range(10):
        turn = turn.after_conflict(NOW_MS)
        waits.append(turn.wait_seconds(NOW_MS))
    assert waits == pytest.approx([0.025, 0.038, 0.056, 0.084, 0.127, 0.19, 0.285, 0.427, 0.5, 0.5])


def test_the_queue_remembers_the_latest_24_tickets() -> None:
    queue = _queue_item("ref")
    assert [name for name in queue if name.startswith("ticket_arrival_")] == [
        f"ticket_arrival_{n}" for n in range(1, 25)
    ]
    assert len(ARRIVALS) == 24
