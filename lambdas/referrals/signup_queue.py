"""When a signup should commit, and on which count: its place in the referrer's signup queue.

Every commit is conditioned on the referrer's exact count, so one referrer's signups commit one at
a time; on DynamoDB a commit also holds the referrer's profile while it runs, and any other write
to the profile meanwhile is refused. So signups take their tickets on an item of their own, the
referrer's queue, which no commit touches: a ticket is never refused, however busy the referrer.

The ticket call cannot read the referrer's count (it is on the profile), so the queue carries
what the signups need instead: the count the referrer will have once every earlier ticket has
committed (each ticket adds one; a signup that gives up takes its one back), when the latest
tickets were taken and with which slot (how long a commit takes), and an anchor: where the
schedule stood at one recent ticket. From those every signup works out the same schedule: commits
one slot apart, each as soon as its ticket is answered and the one before it is done. A signup
commits at its planned moment on its planned count: in a burst or a stream, at its first attempt.

Arrival times alone are not enough in a long busy stretch: a commit's start depends on every
ticket since the queue was last empty, and an update expression cannot keep a running maximum.
So when the remembered tickets do not reach back to an empty queue, the schedule is traced from
the anchor, which every ANCHOR_EVERY-th ticket records (one more write, never refused) while the
stretch lasts. The slot follows the commits: a signup whose commit met a conflict, and every
ANCHOR_EVERY-th of a busy stretch whose commit took longer or clearly shorter than its slot,
re-tunes it for the tickets taken from then on (one more write); each ticket keeps the slot it
was planned with, so earlier plans stay as they were.

Tickets schedule; they never lock. Correctness stays with the exact-count condition. A wrong plan
(a signup that gave up without saying so, a commit slower than its slot) costs a refused commit,
which hands back the referrer's fresh count, the ticket that committed last and when: from there
the signup finds its turn again.
"""

import random
from dataclasses import dataclass, replace

# A slot: how long one commit holds the referrer's profile, with a margin; a commit planned a
# slot after the one before it finds the profile free. It follows what the commits measure, and
# starts at the slow end of DynamoDB's TransactWriteItems (10-30 ms): a slot too long only costs
# waiting, a slot too short makes every queued commit collide with the one before it.
SLOT_MS = 32
SLOT_MARGIN_MS = 2
MIN_SLOT_MS, MAX_SLOT_MS = 5, 200
# How long a ticket call takes to answer: the earliest a signup can commit after taking its ticket.
TICKET_MS = 5
# How many of the latest tickets' arrival times the queue keeps.
RECENT_TICKETS = 24
# Every this many tickets, one whose place in the schedule is known records it as the anchor, so
# that the tickets after it keep a known starting point among the remembered ones (up to
# RECENT_TICKETS - ANCHOR_EVERY tickets may be taken before the anchor is written).
ANCHOR_EVERY = RECENT_TICKETS // 3
# A signup planned to wait longer than this for its turn answers 503 at once instead: the
# referrer has more signups than its counter can commit (Retry-After tells the client when).
MAX_QUEUE_WAIT_MS = 2_000
# A pause between two tickets longer than any planned wait plus a commit: the queue had emptied.
IDLE_GAP_MS = MAX_QUEUE_WAIT_MS + MAX_SLOT_MS
# After a refusal or a conflict: the queue ran slower than planned, later waits grow by this
# factor; one wait after a refusal is at most MAX_WAIT_SECONDS.
SLOT_GROWTH = 1.5
MAX_WAIT_SECONDS = 1.0
# After a conflict: the commit ahead is running over its slot; retry this fraction of a slot later.
CONFLICT_RETRY_SLOTS = 1 / 8
# Waits when there is no queue to go by (a commit out of turn): full jitter, 20 ms doubling,
# capped at 0.5 s (also the longest wait after a conflict).
BACKOFF_BASE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 0.5


@dataclass(frozen=True)
class QueueState:
    """The referrer's counter as a refused commit saw it (or as a plan expects it)."""

    referral_count: int | None  # None: the profile has no counter yet
    served_ticket: int = 0  # the ticket of the latest committed signup (0: none)
    served_at_ms: int | None = None  # when that commit was sent (None: not known)

    @property
    def anchor(self) -> "Anchor | None":
        """The latest commit, as a starting point of the schedule."""
        return None if self.served_at_ms is None else Anchor(self.served_ticket, self.served_at_ms)


@dataclass(frozen=True)
class Anchor:
    ticket: int
    start_ms: int  # when that ticket's commit was planned to start, or was sent (epoch ms)


@dataclass(frozen=True)
class Earlier:
    """A remembered ticket: when it was taken, and the slot it was planned with."""

    arrival_ms: int  # 0: never taken
    slot_ms: int = SLOT_MS


@dataclass(frozen=True)
class Ticket:
    number: int
    planned_count: int | None  # the referrer's count once every earlier ticket has committed
    slot_ms: int = SLOT_MS  # this ticket's slot: the queue's as it was taken
    earlier: tuple[Earlier, ...] = ()  # the tickets before this one, latest first
    anchor: Anchor | None = None
    retuned_at: int = 0  # the ticket count when the slot was last re-tuned


@dataclass(frozen=True)
class Schedule:
    start_ms: int  # when this ticket's commit should start (epoch ms)
    ahead: int  # earlier tickets whose commits are planned to end after this one could start
    known: bool  # traced from an empty queue or the anchor (else it may start too early)
    traced_from: int  # the ticket it was traced from


def schedule(ticket: Ticket, now_ms: int) -> Schedule:
    """This ticket's place in the referrer's commit schedule, from what the queue remembers
    (`now_ms`: when the ticket was taken)."""
    number, anchor = ticket.number, ticket.anchor
    remembered = {number: Earlier(now_ms, ticket.slot_ms)} | {
        number - 1 - i: earlier for i, earlier in enumerate(ticket.earlier)
    }
    arrivals = {n: earlier.arrival_ms for n, earlier in remembered.items()}

    def slot(of: int) -> int:
        return remembered[of].slot_ms

    if anchor is not None and min(arrivals) <= anchor.ticket < number:
        first, start, known = anchor.ticket, anchor.start_ms, True
    else:
        after_empty = _latest_after_empty_queue(arrivals)
        known = after_empty is not None
        first = min(arrivals) if after_empty is None else after_empty
        start = arrivals[first] + TICKET_MS
    ends = [start + slot(first)]
    for later in range(first + 1, number + 1):
        start = max(arrivals[later] + TICKET_MS, ends[-1])
        ends.append(start + slot(later))
    # Tickets before the first one traced have finished by then, unless the queue is deeper than
    # the anchor's distance (an overload, which the refusals sort out).
    ready = now_ms + TICKET_MS
    return Schedule(start, sum(1 for end in ends[:-1] if end > ready), known, first)


def _latest_after_empty_queue(arrivals: dict[int, int]) -> int | None:
    """The latest remembered ticket that found the queue empty: the one before it was never
    taken, or was taken long enough before it to have committed."""
    for number in sorted(arrivals, reverse=True):
        before = arrivals.get(number - 1)
        if number == 1 or before == 0 or (before is not None and arrivals[number] - before > IDLE_GAP_MS):
            return number
    return None


def records_anchor(ticket: Ticket, planned: Schedule) -> bool:
    """Whether this signup records its place in the schedule as the queue's anchor: every
    ANCHOR_EVERY-th ticket of a busy stretch (one traced from an earlier ticket), so that the
    tickets after it always have a starting point among the RECENT_TICKETS they remember."""
    return planned.known and ticket.number % ANCHOR_EVERY == 0 and planned.traced_from < ticket.number


def retuned_slot(ticket: Ticket, planned: Schedule, turn: "Turn", commit_ms: int) -> int | None:
    """The slot for the tickets taken from now on, given how long this ticket's commit took, or
    None to keep it. A commit that met a conflict grows the slot at once to what it took, if that
    is longer, and no further: when commit times vary from call to call, a slot grown past the
    usual commit to fit the slowest one would commit fewer signups per second than arrive, and the
    queue would only lengthen. Every ANCHOR_EVERY-th ticket of a busy stretch also grows it to a
    commit longer than the slot, or shrinks it halfway to a clearly shorter one (so that one fast
    commit cannot undo a slow one). A lone signup never re-tunes: its commit is the happy path's
    second and last call."""
    slot, wanted = ticket.slot_ms, min(MAX_SLOT_MS, max(MIN_SLOT_MS, commit_ms + SLOT_MARGIN_MS))
    if turn.conflicts:
        return wanted if wanted > slot else None
    if not records_anchor(ticket, planned):
        return None
    if wanted > slot:
        return wanted
    if wanted < slot - 2 * SLOT_MARGIN_MS:
        return (slot + wanted) // 2
    return None


@dataclass(frozen=True)
class Turn:
    """One signup's plan for its next commit attempt: on which count, and when."""

    ticket: int
    target: int | None  # the count to commit on (None: the referrer has no counter yet)
    seen: QueueState  # the referrer as last seen: as the plan expects it, then as refusals show it
    slot: float = SLOT_MS / 1000
    commit_at_ms: int | None = None  # attempt at this moment of the schedule (epoch ms) ...
    pause: float = 0.0  # ... or after this long (seconds)
    unplanned_refusals: int = 0  # refusals the queue does not explain (for the backoff)
    conflicts: int = 0  # attempts that found the profile held by another commit
    stalled: bool = False  # a refusal showed that nothing had committed since the last one
    drifted: bool = False  # the queue's planned count proved wrong: the caller corrects it

    @classmethod
    def first(cls, ticket: Ticket, planned: Schedule, now_ms: int) -> "Turn":
        """The plan of a ticket taken at `now_ms`: its place in the schedule, on its planned count.
        With nobody ahead it commits as soon as the ticket is answered, however long that took."""
        count = ticket.planned_count
        ahead = 0 if count is None else planned.ahead
        seen = QueueState(None if count is None else count - ahead, max(0, ticket.number - 1 - ahead))
        queued = planned.start_ms > now_ms + TICKET_MS
        commit_at_ms = planned.start_ms if queued else None
        return cls(ticket.number, count, seen, slot=ticket.slot_ms / 1000, commit_at_ms=commit_at_ms)

    @property
    def expected_count(self) -> int | None:
        """The count to commit on: the referrer's, once every live ticket ahead has committed."""
        return self.target

    @property
    def expected_count_after(self) -> int:
        """The referrer's count once this turn's commit is in."""
        return (self.target or 0) + 1

    def wait_seconds(self, now_ms: int) -> float:
        if self.commit_at_ms is not None:
            return max(0, self.commit_at_ms - now_ms) / 1000
        if self.unplanned_refusals:
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**self.unplanned_refusals)
            return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        return self.pause

    def after_refusal(self, fresh: QueueState, attempted_at_ms: int, replanned_ms: int | None = None) -> "Turn":
        """The commit sent at `attempted_at_ms` was refused on a count that is not the target yet
        (or any more): plan the next attempt. The target stays: the queue counted exactly the
        tickets ahead. When the refusal says which ticket committed last and when, `replanned_ms`
        is this ticket's place in the schedule traced from there."""
        # Nobody was left ahead, yet the count is not the planned one: the queue's planned count is
        # off (a signup that died holding a ticket, a count changed outside the queue). The caller
        # corrects the queue after its commit.
        drifted = self.drifted or self._shows_drift(fresh)
        turn = replace(self, commit_at_ms=None, pause=0.0, drifted=drifted)
        count, target = fresh.referral_count, self.target
        if count is None or target is None or count > target:
            # A commit out of turn, or a writer outside the queue, took this count (or a counter
            # appeared or went): back off, and commit on the fresh count.
            return replace(turn, target=count, seen=fresh, unplanned_refusals=self.unplanned_refusals + 1)
        if drifted and not self.drifted:
            # Tickets the queue counted never committed: commit on the fresh count now.
            return replace(turn, target=count, seen=fresh)
        if count == self.seen.referral_count:
            if self.stalled:
                # Nothing committed across a whole slot: the tickets ahead were given up.
                return replace(turn, target=count, seen=fresh, stalled=False)
            # Nothing committed since the last look: the ticket ahead may be late (a conflict
            # delays it by a slot) or given up. Look again a slot later.
            return replace(turn, seen=fresh, stalled=True, pause=self.slot)
        # The queue moved but is not through: it runs later than planned. Its next commit takes a
        # slot at least.
        if replanned_ms is not None:
            at = max(replanned_ms, attempted_at_ms + round(self.slot * 1000))
            return replace(turn, seen=fresh, stalled=False, commit_at_ms=at)
        slot = self.slot * SLOT_GROWTH
        pause = min(MAX_WAIT_SECONDS, (target - count) * slot)
        return replace(turn, seen=fresh, stalled=False, slot=slot, pause=pause)

    def after_conflict(self, attempted_at_ms: int) -> "Turn":
        """Another commit was holding the referrer's profile: the one ahead, which started about a
        slot before this attempt and ran over it, so it ends within a few ms. Try again an eighth
        of a slot after the attempt (half as long again after each further conflict): a longer
        wait would push this commit into the slot of the ticket behind it. Only this signup
        moves: the tickets behind it keep their places."""
        conflicts = self.conflicts + 1
        wait = min(BACKOFF_CAP_SECONDS, self.slot * CONFLICT_RETRY_SLOTS * SLOT_GROWTH ** (conflicts - 1))
        return replace(self, commit_at_ms=attempted_at_ms + round(wait * 1000), pause=0.0, conflicts=conflicts)

    def _shows_drift(self, fresh: QueueState) -> bool:
        # The plan expected every earlier ticket to be through, no later ticket has committed (that
        # would be a commit out of turn), and still the count is not the planned one.
        through = self.seen.served_ticket == self.ticket - 1 and self.seen.referral_count == self.target
        return through and fresh.served_ticket < self.ticket and fresh.referral_count != self.target
