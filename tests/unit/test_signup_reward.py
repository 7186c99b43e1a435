"""The state a new referral's reward is written in (referrals/signup_reward.py), for every setting."""

from hypothesis import given
from hypothesis import strategies as st

from referrals.lifecycle import Reward, RewardState
from referrals.lifecycle_settings import DAY_MS, MAX_HOLD_DAYS, LifecycleSettings, Qualification
from referrals.review_signals import ReviewSignal
from referrals.signup_reward import signup_reward

SIGNED_UP = 1_796_000_000_123
settings_ = st.builds(
    LifecycleSettings,
    hold_days=st.integers(0, MAX_HOLD_DAYS),
    qualification=st.sampled_from(Qualification),
    flag_shared_email=st.booleans(),
    burst_per_hour=st.none() | st.integers(1, 24),
)


@given(settings_, st.frozensets(st.sampled_from(ReviewSignal)))
def test_every_setting_and_signal_gives_a_possible_lifecycle_position(
    settings: LifecycleSettings, signals: frozenset[ReviewSignal]
) -> None:
    reward = signup_reward(settings, SIGNED_UP, signals)
    qualified = settings.qualification is Qualification.SIGNUP
    assert reward.qualified_at_ms == (SIGNED_UP if qualified else None)
    assert reward.signals == signals
    Reward(reward.state, qualified)  # refuses a position the lifecycle does not have
    if signals:
        assert (reward.state, reward.payable_at_ms) == (RewardState.FLAGGED, None)
    elif qualified:
        assert reward.state is RewardState.PAYABLE
        assert reward.payable_at_ms == SIGNED_UP + settings.hold_days * DAY_MS  # the hold, to the millisecond
    else:
        assert (reward.state, reward.payable_at_ms) == (RewardState.WAITING, None)
