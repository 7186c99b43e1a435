"""The signup use case: enrol a user, or record a referral and pay its reward exactly once.

Decisions only; storage sits behind the small ReferralStore interface (referral_store.py is the
DynamoDB implementation). A referral is one atomic commit guarded by conditions, so retries
and concurrent signups can neither double-count nor lose a tier: the referrer's counter is
updated only if it still holds the exact value this signup expects (optimistic concurrency).
The commit is also the notification: the referral item it creates is the event that the stream
relay publishes (outbox_events.py), so nothing here sends anything.
signup_queue.py decides when to commit and on which count, so that simultaneous signups for one
referrer take turns instead of refusing each other; this module keeps the queue's plan honest
(a signup that gives up its ticket says so, and one that finds the plan wrong corrects it).
The reward is written in the state signup_reward.py decides: the review signals cost an honest
signup no call (the burst reads the ticket's answer; the referee's e-mail key is one more item in
the commit, and only a key that someone else owns costs a second commit, flagged).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol

from referrals.lifecycle_settings import LifecycleSettings
from referrals.money import cents
from referrals.referrer_amounts import ReferrerAmounts, ReferrerItem, referrer_amounts
from referrals.review_signals import ReviewSignal, is_referral_burst, shared_email_signal
from referrals.signup_queue import (
    MAX_QUEUE_WAIT_MS,
    TICKET_MS,
    Anchor,
    QueueState,
    Schedule,
    Ticket,
    Turn,
    records_anchor,
    retuned_slot,
    schedule,
)
from referrals.signup_reward import SignupReward, signup_reward
from referrals.tiers import Tiers
from referrals.validation import SignupRequest

# Commit attempts per signup. Taking turns, a signup in a burst or a stream needs one; the bound
# matters when something else keeps moving the count. A signup waits at most 2 s for its turn,
# and at most 1 s before each further attempt.
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class Profile:
    user_id: str
    referral_count: int | None  # None: the profile has no counter yet
    total_rewards: Decimal = Decimal(0)
    referred_by: str | None = None
    referred_at: int | None = None  # referral item's timestamp (ms) when referred_by is set


@dataclass(frozen=True)
class Referral:
    user_id: str
    referrer_id: str
    timestamp_ms: int
    email: str | None
    signup_date: str
    reward_amount: Decimal
    referral_number: int  # the referrer's count after this referral
    reward: SignupReward  # the state the reward is written in
    email_key: str | None = None  # the referee's e-mail key the commit claims (None: claims none)


# What a commit attempt can come back with besides success.
@dataclass(frozen=True)
class UserExists:
    profile: Profile  # the stored profile of the user who tried to sign up


@dataclass(frozen=True)
class CountChanged:
    referrer: QueueState  # the referrer's count and queue now (from the failed condition)


@dataclass(frozen=True)
class EmailTaken:
    owner: str  # the user whose e-mail key it already is (from the failed condition)


class CommitOutcome(Enum):
    COMMITTED = "committed"
    CONFLICT = "conflict"  # another transaction touched the same items; try again
    REFERRER_MISSING = "referrer_missing"


class NoTicket(Enum):
    REFERRER_MISSING = "referrer_missing"
    BUSY = "busy"  # other signups' commits kept the referrer's profile busy through every attempt


class ReferralStore(Protocol):
    def get_profile(self, user_id: str) -> Profile | None: ...

    def take_ticket(self, referrer_id: str, now_ms: int) -> Ticket | NoTicket:
        """Take the next ticket of the referrer's signup queue: its number, the count it plans on,
        the schedule before it (one call). Nothing is written when there is no ticket."""
        ...

    def give_back_ticket(self, referrer_id: str) -> None:
        """The signup holding the latest ticket it took will not commit (a 409, a retry, a 503)."""
        ...

    def correct_queue(self, referrer_id: str, ticket: int, planned_count: int) -> None:
        """The queue planned on a wrong count; `planned_count` is right after `ticket` committed."""
        ...

    def record_anchor(self, referrer_id: str, anchor: Anchor) -> None:
        """Where the commit schedule stands at one ticket, for the tickets after it."""
        ...

    def retune_slot(self, referrer_id: str, slot_ms: int, new_slot_ms: int) -> None:
        """Commits take about `new_slot_ms` now; `slot_ms` is the slot this signup planned with."""
        ...

    def create_profile(self, user_id: str, email: str | None, email_key: str | None) -> Profile | EmailTaken | None:
        """Create the profile (and its queue, and claim `email_key` if given) unless it exists;
        returns the existing profile if it did, or who owns the key (then nothing is written)."""
        ...

    def commit_referral(
        self, referral: Referral, expected_count: int | None, ticket: int, sent_at_ms: int
    ) -> CommitOutcome | UserExists | CountChanged | EmailTaken:
        """Commit the referral if the referrer's count is `expected_count` (and its e-mail key is
        nobody's yet, when it claims one), recording the ticket and when the commit was sent
        (`sent_at_ms`) for the signups behind it."""
        ...

    def get_referral(self, user_id: str, timestamp_ms: int) -> Referral | None: ...

    def referrer_items(self, referrer_id: str) -> list[ReferrerItem]:
        """The referrer's referral items, clawbacks and carries (referrer-index)."""
        ...


# Outcomes the handler turns into responses.
@dataclass(frozen=True)
class Enrolled:
    referral_code: str
    is_retry: bool = False  # the profile existed already (an identical enrolment retry)


@dataclass(frozen=True)
class Rewarded:
    referral: Referral
    is_retry: bool  # an identical retry of a signup that had already been recorded


@dataclass(frozen=True)
class UnknownReferrer:
    referral_code: str


@dataclass(frozen=True)
class AlreadySignedUp:
    user_id: str


@dataclass(frozen=True)
class TooBusy:
    attempts: int  # commit attempts made (0: no ticket, or a queue longer than the longest wait)


SignupOutcome = Enrolled | Rewarded | UnknownReferrer | AlreadySignedUp | TooBusy


@dataclass(frozen=True)
class _Place:
    """A signup's ticket, when it was taken, and its place in the referrer's commit schedule."""

    code: str
    ticket: Ticket
    taken_at_ms: int
    planned: Schedule

    def replanned_from(self, latest: Anchor | None) -> int | None:
        """This ticket's place in the schedule traced from the latest commit, if that is earlier."""
        if latest is None or not 0 < latest.ticket < self.ticket.number:
            return None
        return schedule(replace(self.ticket, anchor=latest), self.taken_at_ms).start_ms


@dataclass(frozen=True)
class ReferrerStats:
    referral_code: str
    referral_count: int
    total_rewards: Decimal
    amounts: ReferrerAmounts  # what became of the rewards, by state


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up per call, so a test can replace time.sleep and not wait


@dataclass(frozen=True)
class Signups:
    store: ReferralStore
    tiers: Tiers
    settings: LifecycleSettings = field(default_factory=LifecycleSettings)
    # The key of an e-mail address (review_signals.email_key under the deployment's secret); None:
    # the shared-e-mail signal is off, and no signup claims a key.
    email_key: Callable[[str], str] | None = None
    now: Callable[[], datetime] = _utc_now
    pause: Callable[[float], None] = _sleep

    def sign_up(self, request: SignupRequest) -> SignupOutcome:
        if request.referral_code is None:
            return self._enrol(request)
        return self._refer(request, request.referral_code)

    def _enrol(self, request: SignupRequest) -> SignupOutcome:
        existing = self.store.create_profile(request.user_id, request.email, self._email_key_of(request))
        if isinstance(existing, EmailTaken):
            # The key stays its owner's: a later referee with this address is flagged as theirs.
            existing = self.store.create_profile(request.user_id, request.email, None)
            if isinstance(existing, EmailTaken):
                raise AssertionError("a profile created without an e-mail key cannot find the key taken")
        # Enrolling twice is an identical retry; enrolling after a referral signup is not.
        if existing is None:
            return Enrolled(request.user_id)
        if existing.referred_by is not None:
            return AlreadySignedUp(request.user_id)
        return Enrolled(request.user_id, is_retry=True)

    def _refer(self, request: SignupRequest, code: str) -> SignupOutcome:
        # Before the ticket: a container's first e-mail asks KMS for the secret, which must not
        # delay the commit the ticket schedules (and a refusal then leaves not even a ticket).
        email_key = self._email_key_of(request)
        now = self.now()
        now_ms = int(now.timestamp() * 1000)
        ticket = self.store.take_ticket(code, now_ms)
        match ticket:
            case NoTicket.REFERRER_MISSING:
                return UnknownReferrer(code)
            case NoTicket.BUSY:
                return TooBusy(attempts=0)
        place = _Place(code, ticket, now_ms, schedule(ticket, now_ms))
        # The arrivals the ticket's answer holds anyway: the burst signal costs no call.
        earlier = (e.arrival_ms for e in ticket.earlier)
        burst = is_referral_burst(now_ms, earlier, self.settings.burst_per_hour)
        if place.planned.start_ms - now_ms - TICKET_MS > MAX_QUEUE_WAIT_MS:
            outcome: SignupOutcome = TooBusy(attempts=0)  # more signups than the counter can commit
        else:
            signals = {ReviewSignal.REFERRAL_BURST} if burst else set()
            outcome = self._commit_in_turn(request, now, place, signals, email_key)
        if not isinstance(outcome, Rewarded) or outcome.is_retry:
            self.store.give_back_ticket(code)  # this ticket will never commit: later ones plan without it
        return outcome

    def _commit_in_turn(
        self, request: SignupRequest, now: datetime, place: _Place, signals: set[ReviewSignal], email_key: str | None
    ) -> SignupOutcome:
        code, ticket = place.code, place.ticket
        turn = Turn.first(ticket, place.planned, place.taken_at_ms)
        anchor = Anchor(ticket.number, place.planned.start_ms) if records_anchor(ticket, place.planned) else None
        at_once = False  # the attempt before found only the e-mail key taken: still this signup's turn
        for _ in range(MAX_ATTEMPTS):
            wait = 0.0 if at_once else turn.wait_seconds(self._now_ms())
            at_once = False
            if anchor is not None and wait >= TICKET_MS / 1000:
                self.store.record_anchor(code, anchor)  # while this signup waits its turn anyway
                anchor = None
                wait = turn.wait_seconds(self._now_ms())
            if wait:
                self.pause(wait)
            count = turn.expected_count
            referral = self._referral(request, code, now, (count or 0) + 1, signals=signals, email_key=email_key)
            sent_ms = self._now_ms()
            result = self.store.commit_referral(referral, expected_count=count, ticket=turn.ticket, sent_at_ms=sent_ms)
            commit_ms = self._now_ms() - sent_ms
            if anchor is not None:
                # After the attempt, so as not to delay it: the tickets that need it come later.
                self.store.record_anchor(code, anchor)
                anchor = None
            match result:
                case CommitOutcome.COMMITTED:
                    self._keep_queue_true(place, turn, sent_ms, commit_ms)
                    return Rewarded(referral, is_retry=False)
                case UserExists(profile):
                    return self._existing_signup(profile, code)
                case EmailTaken(owner):
                    # Nothing was written. The key stays its owner's; the referral commits again
                    # at once, on the same count, flagged for whose address it is.
                    shared = shared_email_signal(owner, request.user_id, code)
                    signals |= set() if shared is None else {shared}
                    email_key, at_once = None, True
                case CountChanged(fresh):
                    # The failed condition handed back the current count, and which ticket
                    # committed last and when: no re-read needed to find this ticket's turn.
                    turn = turn.after_refusal(fresh, sent_ms, place.replanned_from(fresh.anchor))
                case CommitOutcome.REFERRER_MISSING:
                    return UnknownReferrer(code)
                case CommitOutcome.CONFLICT:
                    turn = turn.after_conflict(sent_ms)
        return TooBusy(MAX_ATTEMPTS)

    def _keep_queue_true(self, place: _Place, turn: Turn, sent_ms: int, commit_ms: int) -> None:
        """After a commit sent at `sent_ms` that took `commit_ms`, what the signups behind this one
        need to plan right: a write only when the plan proved off, or the slot should change."""
        code, ticket, planned = place.code, place.ticket, place.planned
        if records_anchor(ticket, planned) and sent_ms - planned.start_ms > turn.slot * 1000 / 2:
            self.store.record_anchor(code, Anchor(ticket.number, sent_ms))  # it ran late: where it really was
        if turn.drifted:
            self.store.correct_queue(code, ticket.number, turn.expected_count_after)
        new_slot_ms = retuned_slot(ticket, planned, turn, commit_ms)
        if new_slot_ms is not None:
            self.store.retune_slot(code, ticket.slot_ms, new_slot_ms)

    def _now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def _referral(
        self,
        request: SignupRequest,
        code: str,
        now: datetime,
        number: int,
        *,
        signals: set[ReviewSignal],
        email_key: str | None,
    ) -> Referral:
        timestamp_ms = int(now.timestamp() * 1000)
        return Referral(
            user_id=request.user_id,
            referrer_id=code,
            timestamp_ms=timestamp_ms,
            email=request.email,
            signup_date=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            reward_amount=self.tiers.reward_for(number),
            referral_number=number,
            reward=signup_reward(self.settings, timestamp_ms, signals),
            email_key=email_key,
        )

    def _email_key_of(self, request: SignupRequest) -> str | None:
        if self.email_key is None or request.email is None:
            return None
        return self.email_key(request.email)

    def _existing_signup(self, profile: Profile, code: str) -> SignupOutcome:
        if profile.referred_by != code or profile.referred_at is None:
            return AlreadySignedUp(profile.user_id)
        referral = self.store.get_referral(profile.user_id, profile.referred_at)
        if referral is None:
            raise LookupError(f"profile {profile.user_id} points at a missing referral item")
        return Rewarded(referral, is_retry=True)

    def stats(self, code: str) -> ReferrerStats | None:
        profile = self.store.get_profile(code)
        if profile is None:
            return None
        amounts = referrer_amounts(self.store.referrer_items(code), self._now_ms())
        # Two places, as every amount is written: DynamoDB hands 12.50 back as 12.5.
        total = cents(profile.total_rewards)
        return ReferrerStats(code, profile.referral_count or 0, total, amounts)
