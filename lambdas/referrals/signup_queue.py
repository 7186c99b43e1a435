"""When a signup should commit, and on which count: its place in the referrer's signup queue.

Every commit is conditioned on the referrer's exact count, so one referrer's signups commit one at
a time. Left alone, a burst of k simultaneous signups all read the same count and all but one are
refused, round after round. So each signup takes a numbered ticket with the same call that reads
the referrer's profile, lets the signups holding earlier tickets commit first (a slot each), and
then commits on the count they will have left: in a burst, usually at its first attempt.

Tickets schedule; they never lock. Correctness stays with the exact-count condition. A ticket
whose signup gave up (a 409, a crash) only makes later signups try early, and a wrong guess costs
one refused commit, which hands back the fresh count and queue.
"""

import random
from dataclasses import dataclass, replace

# A slot: how long one signup's commit is expected to take (DynamoDB TransactWriteItems: 10-20 ms).
SLOT_SECONDS = 0.025
# The queue ran slower than planned: later waits grow by this factor.
SLOT_GROWTH = 1.5
MAX_WAIT_SECONDS = 1.0  # one wait, however long the queue
# A ticket taken longer ago than this without its commit counts as abandoned. A signup takes its
# ticket, waits its turn (well under a second even for 20 ahead) and commits.
LIVE_TICKET_MS = 3_000
# Waits when there is no queue to go by (a transaction conflict, a commit out of turn): full
# jitter, 20 ms doubling, capped at 0.5 s.
BACKOFF_BASE_SECONDS = 0.02
BACKOFF_CAP_SECONDS = 0.5


@dataclass(frozen=True)
class QueueState:
    """The referrer's counter and queue as the ticket call or a refused commit saw them."""

    referral_count: int | None  # None: the profile has no counter yet
    served_ticket: int = 0  # the ticket of the latest committed signup (0: none)


@dataclass(frozen=True)
class Ticket:
    number: int
    seen: QueueState  # the referrer as it was just before this ticket was taken
    previous_taken_at_ms: int | None = None  # when the ticket before this one was taken


@dataclass(frozen=True)
class Turn:
    """One signup's plan for its next commit attempt."""

    ticket: int
    seen: QueueState
    ahead: int  # earlier tickets presumed to commit before this one
    queued: bool  # wait a slot per ticket ahead before the attempt
    slot: float = SLOT_SECONDS
    unplanned_refusals: int = 0  # refusals the queue does not explain (for the backoff)

    @classmethod
    def first(cls, ticket: Ticket, now_ms: int) -> "Turn":
        previous = ticket.previous_taken_at_ms
        live = previous is not None and now_ms - previous <= LIVE_TICKET_MS
        ahead = _ahead(ticket.number, ticket.seen) if live else 0
        return cls(ticket.number, ticket.seen, ahead, queued=ahead > 0)

    @property
    def expected_count(self) -> int | None:
        """The count to commit on: the one seen, plus a commit for every ticket ahead."""
        if self.ahead == 0:
            return self.seen.referral_count
        return (self.seen.referral_count or 0) + self.ahead

    def wait_seconds(self) -> float:
        if self.queued:
            return min(MAX_WAIT_SECONDS, self.ahead * self.slot)
        if self.unplanned_refusals:
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**self.unplanned_refusals)
            return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
        return 0.0

    def after_refusal(self, fresh: QueueState) -> "Turn":
        """The commit was refused on a count that had moved: plan the next attempt."""
        if fresh == self.seen and self.ahead:
            # Nothing committed while this signup waited: the tickets ahead were abandoned.
            return replace(self, ahead=0, queued=False)
        if self.ahead == 0:
            # No one was expected ahead, yet the count moved: a commit out of turn. Back off and
            # commit on the fresh count.
            return replace(self, seen=fresh, queued=False, unplanned_refusals=self.unplanned_refusals + 1)
        ahead = _ahead(self.ticket, fresh)
        # The queue moved. If it is not through yet, it runs slower than planned.
        slot = self.slot * SLOT_GROWTH if ahead else self.slot
        return replace(self, seen=fresh, ahead=ahead, queued=ahead > 0, slot=slot)

    def after_conflict(self) -> "Turn":
        """Another write was in progress on one of the items: the same commit again, shortly."""
        return replace(self, queued=False, unplanned_refusals=self.unplanned_refusals + 1)


def _ahead(ticket: int, state: QueueState) -> int:
    return max(0, ticket - 1 - state.served_ticket)
