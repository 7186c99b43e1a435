"""The signup use case: enrol a user, or record a referral and pay its reward exactly once.

Decisions only; storage sits behind the small ReferralStore interface (referral_store.py is the
DynamoDB implementation). A referral is one atomic commit guarded by conditions, so retries
and concurrent signups can neither double-count nor lose a tier: the referrer's counter is
updated only if it still holds the exact value this signup expects (optimistic concurrency).
The commit is also the notification: the referral item it creates is the event that the stream
relay publishes (outbox_events.py), so nothing here sends anything.
signup_queue.py decides when to commit and on which count, so that simultaneous signups for one
referrer take turns instead of refusing each other.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol

from referrals.money import cents
from referrals.signup_queue import QueueState, Ticket, Turn
from referrals.tiers import Tiers
from referrals.validation import SignupRequest

# Commit attempts per signup. Taking turns, a signup in a burst usually needs one or two; the
# bound matters when something else keeps moving the count. Each wait is at most 1 s.
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


# What a commit attempt can come back with besides success.
@dataclass(frozen=True)
class UserExists:
    profile: Profile  # the stored profile of the user who tried to sign up


@dataclass(frozen=True)
class CountChanged:
    referrer: QueueState  # the referrer's count and queue now (from the failed condition)


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
        """Read the referrer's counter and take the next ticket of its signup queue (one call).

        Nothing is written when there is no ticket."""
        ...

    def create_profile(self, user_id: str, email: str | None) -> Profile | None:
        """Create the profile unless it exists; returns the existing profile if it did."""
        ...

    def commit_referral(
        self, referral: Referral, expected_count: int | None, ticket: int
    ) -> CommitOutcome | UserExists | CountChanged: ...

    def get_referral(self, user_id: str, timestamp_ms: int) -> Referral | None: ...

    def referral_totals(self, referrer_id: str) -> tuple[Decimal, Decimal]:
        """(pending, paid) sums of the referrer's referral items."""
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
    attempts: int  # commit attempts made (0: the queue ticket itself could not be taken)


SignupOutcome = Enrolled | Rewarded | UnknownReferrer | AlreadySignedUp | TooBusy


@dataclass(frozen=True)
class ReferrerStats:
    referral_code: str
    referral_count: int
    total_rewards: Decimal
    pending_amount: Decimal
    paid_amount: Decimal


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up per call, so a test can replace time.sleep and not wait


@dataclass(frozen=True)
class Signups:
    store: ReferralStore
    tiers: Tiers
    now: Callable[[], datetime] = _utc_now
    pause: Callable[[float], None] = _sleep

    def sign_up(self, request: SignupRequest) -> SignupOutcome:
        if request.referral_code is None:
            return self._enrol(request)
        return self._refer(request, request.referral_code)

    def _enrol(self, request: SignupRequest) -> SignupOutcome:
        existing = self.store.create_profile(request.user_id, request.email)
        # Enrolling twice is an identical retry; enrolling after a referral signup is not.
        if existing is None:
            return Enrolled(request.user_id)
        if existing.referred_by is not None:
            return AlreadySignedUp(request.user_id)
        return Enrolled(request.user_id, is_retry=True)

    def _refer(self, request: SignupRequest, code: str) -> SignupOutcome:
        now = self.now()
        now_ms = int(now.timestamp() * 1000)
        ticket = self.store.take_ticket(code, now_ms)
        match ticket:
            case NoTicket.REFERRER_MISSING:
                return UnknownReferrer(code)
            case NoTicket.BUSY:
                return TooBusy(attempts=0)
        turn = Turn.first(ticket, now_ms)
        for _ in range(MAX_ATTEMPTS):
            wait = turn.wait_seconds()
            if wait:
                self.pause(wait)
            count = turn.expected_count
            referral = self._referral(request, code, now, (count or 0) + 1)
            result = self.store.commit_referral(referral, expected_count=count, ticket=ticket.number)
            match result:
                case CommitOutcome.COMMITTED:
                    return Rewarded(referral, is_retry=False)
                case UserExists(profile):
                    return self._existing_signup(profile, code)
                case CountChanged(fresh):
                    # The failed condition handed back the current count: no re-read needed.
                    turn = turn.after_refusal(fresh)
                case CommitOutcome.REFERRER_MISSING:
                    return UnknownReferrer(code)
                case CommitOutcome.CONFLICT:
                    turn = turn.after_conflict()
        return TooBusy(MAX_ATTEMPTS)

    def _referral(self, request: SignupRequest, code: str, now: datetime, number: int) -> Referral:
        return Referral(
            user_id=request.user_id,
            referrer_id=code,
            timestamp_ms=int(now.timestamp() * 1000),
            email=request.email,
            signup_date=now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            reward_amount=self.tiers.reward_for(number),
            referral_number=number,
        )

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
        pending, paid = self.store.referral_totals(code)
        # Two places, as every amount is written: DynamoDB hands 12.50 back as 12.5.
        total = cents(profile.total_rewards)
        return ReferrerStats(code, profile.referral_count or 0, total, cents(pending), cents(paid))
