"""The reward lifecycle's settings are read twice: at synth (stacks/config.py, the operator's text
with the stack's usual rules) and by the functions at cold start (lambdas/referrals/
lifecycle_settings.py, canonical text only). The stack hands the functions canonical text, so for
every value the stack accepts the functions must accept what it hands them, and mean the same."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from referrals import lifecycle_settings
from referrals.lifecycle_settings import LifecycleConfigError, Qualification, parse_lifecycle_settings
from stacks import config as stack_config
from stacks.config import ConfigError, StackConfig

VARIABLES = ("REWARD_HOLD_DAYS", "REWARD_QUALIFICATION", "REVIEW_SHARED_EMAIL", "REVIEW_BURST_PER_HOUR")
BLANKS = st.sampled_from(["", " ", "  ", "\t"])
# What an operator might type: numbers around the bounds, words in any case, blanks around them,
# signs, decimals, Unicode digits, and text that is none of these.
NUMBER_TEXTS = st.one_of(
    st.integers(min_value=-3, max_value=400).map(str),
    st.sampled_from(["+5", "5.0", "1e1", "\u0665", "\u00b2", "\uff15", "007", "0", "24", "25", "365", "366", "x"]),
)
WORDS = st.sampled_from(
    ["signup", "event", "Signup", "EVENT", "true", "false", "yes", "no", "1", "0", "TRUE", "on", "", "maybe"]
)
TEXTS = st.builds(lambda before, text, after: before + text + after, BLANKS, st.one_of(NUMBER_TEXTS, WORDS), BLANKS)
ENVIRONMENTS = st.dictionaries(st.sampled_from(VARIABLES), TEXTS)


def _stack(env: dict[str, str]) -> StackConfig | None:
    try:
        return StackConfig.from_env(env)
    except ConfigError:
        return None


@given(ENVIRONMENTS)
@example({})
@example({"REWARD_HOLD_DAYS": " 365 ", "REWARD_QUALIFICATION": "Event", "REVIEW_SHARED_EMAIL": "no"})
@example({"REVIEW_BURST_PER_HOUR": " 24"})
@example({"REVIEW_BURST_PER_HOUR": " "})
def test_the_functions_accept_whatever_the_stack_hands_them(env: dict[str, str]) -> None:
    config = _stack(env)
    if config is None:
        return
    handed = config.reward_lifecycle_environment
    settings = parse_lifecycle_settings(handed)  # raises LifecycleConfigError if the two sides disagree
    assert settings.hold_days == config.reward_hold_days
    assert settings.qualification == Qualification(config.reward_qualification)
    assert settings.flag_shared_email is config.review_shared_email
    assert settings.burst_per_hour == config.review_burst_per_hour
    # The admin function gets the hold alone, and reads it the same.
    assert parse_lifecycle_settings({"REWARD_HOLD_DAYS": handed["REWARD_HOLD_DAYS"]}).hold_days == settings.hold_days


@given(st.sampled_from(VARIABLES), TEXTS)
@example("REVIEW_SHARED_EMAIL", "false")
@example("REWARD_HOLD_DAYS", "007")
def test_the_stack_refuses_what_it_cannot_hand_over_and_accepts_every_canonical_text(variable: str, text: str) -> None:
    """A text the function accepts as it is, the stack accepts too, meaning the same (blank aside: a
    blank boolean is an error at synth, as every boolean setting of the stack is)."""
    if not text.strip():
        return
    try:
        function_side = parse_lifecycle_settings({variable: text})
    except LifecycleConfigError:
        return
    config = _stack({variable: text})
    assert config is not None, (variable, text)
    assert parse_lifecycle_settings(config.reward_lifecycle_environment) == function_side


def test_the_bounds_are_the_same_on_both_sides() -> None:
    assert stack_config.MAX_HOLD_DAYS == lifecycle_settings.MAX_HOLD_DAYS
    assert stack_config.MAX_BURST_PER_HOUR == lifecycle_settings.MAX_BURST_PER_HOUR
    assert tuple(Qualification) == stack_config.QUALIFICATIONS
    assert stack_config.QUALIFICATIONS[0] == Qualification.SIGNUP  # the stack's default is the function's


@pytest.mark.parametrize(
    ("env", "handed"),
    [
        ({}, {"REWARD_HOLD_DAYS": "0", "REWARD_QUALIFICATION": "signup", "REVIEW_SHARED_EMAIL": "true"}),
        (
            {"REWARD_HOLD_DAYS": " 14 ", "REWARD_QUALIFICATION": "Event", "REVIEW_SHARED_EMAIL": "no"}
            | {"REVIEW_BURST_PER_HOUR": "5 "},
            {"REWARD_HOLD_DAYS": "14", "REWARD_QUALIFICATION": "event", "REVIEW_SHARED_EMAIL": "false"}
            | {"REVIEW_BURST_PER_HOUR": "5"},
        ),
        ({"REVIEW_BURST_PER_HOUR": ""}, {"REWARD_HOLD_DAYS": "0", "REWARD_QUALIFICATION": "signup"}),
    ],
)
def test_canonical_text(env: dict[str, str], handed: dict[str, str]) -> None:
    environment = StackConfig.from_env(env).reward_lifecycle_environment
    assert {k: environment[k] for k in handed} == handed
    assert ("REVIEW_BURST_PER_HOUR" in environment) is ("REVIEW_BURST_PER_HOUR" in handed)


def test_every_bad_lifecycle_setting_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        StackConfig.from_env(
            {
                "REWARD_HOLD_DAYS": "366",
                "REWARD_QUALIFICATION": "purchase",
                "REVIEW_SHARED_EMAIL": "maybe",
                "REVIEW_BURST_PER_HOUR": "0",
            }
        )
    message = str(raised.value)
    for variable, hint in (
        ("REWARD_HOLD_DAYS", "from 0 to 365"),
        ("REWARD_QUALIFICATION", "signup or event"),
        ("REVIEW_SHARED_EMAIL", "true or false"),
        ("REVIEW_BURST_PER_HOUR", "from 1 to 24"),
    ):
        assert f"{variable}=" in message and hint in message, variable
