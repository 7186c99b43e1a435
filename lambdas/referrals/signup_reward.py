"""The state a new referral's reward is written in, decided before the signup's commit.

Decisions only. The signup knows everything this needs before it commits: the settings, its own
time, and the review signals (the burst from its queue ticket, a shared e-mail from a refused
commit). docs/lifecycle-design.md#signup-still-two-calls says how each state is stored.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from referrals.lifecycle import RewardState
from referrals.lifecycle_settings import LifecycleSettings, Qualification
from referrals.review_signals import ReviewSignal


@dataclass(frozen=True)
class SignupReward:
    state: RewardState  # WAITING, FLAGGED or PAYABLE at signup
    qualified_at_ms: int | None = None  # None: waits for the host application's `qualify`
    payable_at_ms: int | None = None  # set while payable: the first payout whose cutoff is later pays it
    signals: frozenset[ReviewSignal] = frozenset()  # why it is flagged (a flagged reward has at least one)


def signup_reward(settings: LifecycleSettings, signup_ms: int, signals: Iterable[ReviewSignal] = ()) -> SignupReward:
    """A review signal flags the reward (qualified or not, as the settings say); otherwise it is
    payable after the hold when qualified at signup, or waiting for its qualifying event."""
    flagged_for = frozenset(signals)
    qualified_at = signup_ms if settings.qualification is Qualification.SIGNUP else None
    if flagged_for:
        return SignupReward(RewardState.FLAGGED, qualified_at, signals=flagged_for)
    if qualified_at is None:
        return SignupReward(RewardState.WAITING)
    return SignupReward(RewardState.PAYABLE, qualified_at, settings.payable_at(qualified_at, signup_ms))
