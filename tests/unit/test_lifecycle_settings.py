"""The lifecycle's settings as a function reads them (referrals/lifecycle_settings.py), and the
hold rule measured to a payout's cutoff, to the day."""

from datetime import UTC, datetime, timedelta

import pytest

from referrals.lifecycle_settings import (
    DAY_MS,
    LifecycleConfigError,
    LifecycleSettings,
    Qualification,
    parse_lifecycle_settings,
)


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def test_unset_or_blank_means_todays_behaviour() -> None:
    today = LifecycleSettings(hold_days=0, qualification=Qualification.SIGNUP, flag_shared_email=True)
    assert parse_lifecycle_settings({}) == today
    blank = {
        "REWARD_HOLD_DAYS": "",
        "REWARD_QUALIFICATION": " ",
        "REVIEW_SHARED_EMAIL": "",
        "REVIEW_BURST_PER_HOUR": "",
    }
    assert parse_lifecycle_settings(blank) == today
    assert today.burst_per_hour is None


def test_every_setting_is_read() -> None:
    env = {
        "REWARD_HOLD_DAYS": "30",
        "REWARD_QUALIFICATION": "event",
        "REVIEW_SHARED_EMAIL": "false",
        "REVIEW_BURST_PER_HOUR": "24",
    }
    assert parse_lifecycle_settings(env) == LifecycleSettings(30, Qualification.EVENT, False, 24)
    assert parse_lifecycle_settings({"REWARD_HOLD_DAYS": "365", "REVIEW_BURST_PER_HOUR": "1"}).hold_days == 365


@pytest.mark.parametrize(
    ("variable", "text", "problem"),
    [
        ("REWARD_HOLD_DAYS", "366", "REWARD_HOLD_DAYS='366' must be a whole number of days from 0 to 365"),
        ("REWARD_HOLD_DAYS", "-1", "from 0 to 365"),
        ("REWARD_HOLD_DAYS", "1.5", "from 0 to 365"),
        ("REWARD_HOLD_DAYS", " 7", "from 0 to 365"),  # the stack hands over canonical text
        ("REWARD_HOLD_DAYS", "٣", "from 0 to 365"),  # ASCII digits only
        ("REWARD_QUALIFICATION", "Event", "REWARD_QUALIFICATION='Event' must be signup or event"),
        ("REWARD_QUALIFICATION", "purchase", "must be signup or event"),
        ("REVIEW_SHARED_EMAIL", "yes", "REVIEW_SHARED_EMAIL='yes' must be true or false"),
        ("REVIEW_BURST_PER_HOUR", "0", "from 1 to 24 (leave it unset to turn the signal off)"),
        ("REVIEW_BURST_PER_HOUR", "25", "REVIEW_BURST_PER_HOUR='25' must be a whole number from 1 to 24"),
        ("REVIEW_BURST_PER_HOUR", "off", "from 1 to 24"),
    ],
)
def test_bad_values_name_the_variable(variable: str, text: str, problem: str) -> None:
    with pytest.raises(LifecycleConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_lifecycle_settings({variable: text})


def test_every_bad_variable_is_named_at_once() -> None:
    env = {
        "REWARD_HOLD_DAYS": "x",
        "REWARD_QUALIFICATION": "x",
        "REVIEW_SHARED_EMAIL": "x",
        "REVIEW_BURST_PER_HOUR": "x",
    }
    with pytest.raises(LifecycleConfigError) as refusal:
        parse_lifecycle_settings(env)
    assert all(variable in str(refusal.value) for variable in env)


def test_without_a_hold_a_reward_is_payable_when_it_is_earned() -> None:
    # Today's behaviour: a reward earned before the cutoff is paid by that payout.
    assert LifecycleSettings().payable_at(qualified_at_ms=1_000, now_ms=1_000) == 1_000


CUTOFF = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # the December payout's scheduled time


@pytest.mark.parametrize(
    ("qualified_at", "paid_in_december"),
    [
        (CUTOFF - timedelta(days=30, milliseconds=1), True),
        (CUTOFF - timedelta(days=30), False),  # exactly 30 days before the cutoff: the next payout
        (CUTOFF - timedelta(days=29, hours=23), False),
        (CUTOFF - timedelta(days=31), True),
    ],
)
def test_the_hold_is_measured_to_the_payouts_cutoff_to_the_day(qualified_at: datetime, paid_in_december: bool) -> None:
    hold = LifecycleSettings(hold_days=30)
    payable_at = hold.payable_at(ms(qualified_at), now_ms=ms(qualified_at))
    assert payable_at == ms(qualified_at) + 30 * DAY_MS
    # The payout pays what is payable before its cutoff (payable_at < cutoff_ms), as it pays today.
    assert (payable_at < ms(CUTOFF)) is paid_in_december


def test_an_approval_after_the_hold_makes_the_reward_payable_from_then_on() -> None:
    hold = LifecycleSettings(hold_days=7)
    qualified, approved = ms(CUTOFF - timedelta(days=20)), ms(CUTOFF + timedelta(minutes=5))
    assert hold.payable_at(qualified, now_ms=approved) == approved  # not in the payout already cut off
    assert hold.payable_at(qualified, now_ms=qualified + DAY_MS) == qualified + 7 * DAY_MS  # approved within the hold
