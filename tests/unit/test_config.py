"""StackConfig: defaults, accepted values and one clear message per bad value."""

import pytest

from stacks.config import ConfigError, StackConfig


def test_defaults_let_a_new_user_synth_with_local_state() -> None:
    config = StackConfig.from_env({})
    assert (config.environment_suffix, config.region, config.state_bucket) == ("dev", "us-east-1", None)
    assert config.default_tags == {"Environment": "dev", "Application": "ReferralManagement", "ManagedBy": "CDKTF"}
    assert config.deletion_protection is True
    assert config.log_retention_days == 365


def test_state_bucket_region_defaults_to_the_stack_region() -> None:
    config = StackConfig.from_env(
        {"AWS_REGION": "eu-west-1", "STATE_BUCKET": "acme-state", "ENVIRONMENT_SUFFIX": "pr-42"}
    )
    assert (config.state_bucket, config.state_bucket_region) == ("acme-state", "eu-west-1")
    assert config.state_key == "pr-42/tap-stack.tfstate"


@pytest.mark.parametrize(
    ("env", "variable", "hint"),
    [
        ({"ENVIRONMENT_SUFFIX": "Prod"}, "ENVIRONMENT_SUFFIX", "lowercase"),
        ({"ENVIRONMENT_SUFFIX": "dev_1"}, "ENVIRONMENT_SUFFIX", "lowercase"),
        ({"ENVIRONMENT_SUFFIX": "-dev"}, "ENVIRONMENT_SUFFIX", "starting and ending"),
        ({"ENVIRONMENT_SUFFIX": ""}, "ENVIRONMENT_SUFFIX", "1-20"),
        ({"ENVIRONMENT_SUFFIX": "a" * 21}, "ENVIRONMENT_SUFFIX", "1-20"),
        ({"AWS_REGION": "useast1"}, "AWS_REGION", "not an AWS region name"),
        ({"AWS_REGION": "US-EAST-1"}, "AWS_REGION", "not an AWS region name"),
        ({"AWS_REGION": "xx-nowhere-9"}, "AWS_REGION", "supported regions"),
        ({"STATE_BUCKET": "My_Bucket"}, "STATE_BUCKET", "not a valid S3 bucket name"),
        ({"STATE_BUCKET": "b", "STATE_BUCKET_REGION": "mars"}, "STATE_BUCKET_REGION", "not an AWS region name"),
        ({"DELETION_PROTECTION": "maybe"}, "DELETION_PROTECTION", "true or false"),
        ({"LOG_RETENTION_DAYS": "10"}, "LOG_RETENTION_DAYS", "CloudWatch Logs accepts"),
        ({"LOG_RETENTION_DAYS": "-1"}, "LOG_RETENTION_DAYS", "CloudWatch Logs accepts"),
        ({"API_QUOTA_PER_DAY": "0"}, "API_QUOTA_PER_DAY", "whole number from 1"),
        ({"API_RATE_LIMIT": "fast"}, "API_RATE_LIMIT", "whole number from 1"),
        ({"API_RATE_LIMIT": "200", "API_BURST_LIMIT": "100"}, "API_BURST_LIMIT", "at least"),
        ({"WAF_RATE_LIMIT": "5"}, "WAF_RATE_LIMIT", "whole number from 10"),
        ({"WAF_ENABLED": "sometimes"}, "WAF_ENABLED", "true or false"),
        ({"LOCAL_AWS_ENDPOINT": "https://dynamodb.us-east-1.amazonaws.com"}, "LOCAL_AWS_ENDPOINT", "emulator"),
        ({"REWARD_TIERS": "{"}, "REWARD_TIERS", "not valid JSON"),
        ({"REWARD_TIERS": '{"5": "10"}'}, "REWARD_TIERS", "including"),
        ({"REWARD_HOLD_DAYS": "366"}, "REWARD_HOLD_DAYS", "whole number from 0 to 365"),
        ({"REWARD_HOLD_DAYS": "-1"}, "REWARD_HOLD_DAYS", "whole number from 0 to 365"),
        ({"REWARD_HOLD_DAYS": "1.5"}, "REWARD_HOLD_DAYS", "whole number from 0 to 365"),
        ({"REWARD_QUALIFICATION": "purchase"}, "REWARD_QUALIFICATION", "signup or event"),
        ({"REVIEW_SHARED_EMAIL": "maybe"}, "REVIEW_SHARED_EMAIL", "true or false"),
        ({"REVIEW_BURST_PER_HOUR": "0"}, "REVIEW_BURST_PER_HOUR", "whole number from 1 to 24"),
        ({"REVIEW_BURST_PER_HOUR": "25"}, "REVIEW_BURST_PER_HOUR", "unset"),
    ],
)
def test_bad_values_name_the_variable_and_what_is_allowed(env: dict[str, str], variable: str, hint: str) -> None:
    with pytest.raises(ConfigError) as raised:
        StackConfig.from_env(env)
    message = str(raised.value)
    assert f"{variable}=" in message
    assert hint in message


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        StackConfig.from_env({"ENVIRONMENT_SUFFIX": "BAD", "AWS_REGION": "nowhere"})
    assert "ENVIRONMENT_SUFFIX=" in str(raised.value)
    assert "AWS_REGION=" in str(raised.value)


def test_config_is_immutable() -> None:
    config = StackConfig.from_env({})
    with pytest.raises(AttributeError):
        config.region = "eu-west-1"  # type: ignore[misc]  # frozen on purpose: the test proves it


REWARD_TIER_EXAMPLES = [
    '{"1": "10", "5": "15", "10": "20", "25": "25"}',
    '{"1": "12.50"}',
    '{"1": 10, "3": 20.5}',
    '{"1": "0"}',
    "{",
    "[]",
    '{"5": "10"}',
    '{"0": "1", "1": "2"}',
    '{"1": "-1"}',
    '{"1": "1.005"}',
    '{"1": "ten"}',
    '{"1": true}',
    '{"x": "1", "1": "1"}',
    '{"1": "NaN"}',
    '{"1": "Infinity"}',
    '{"1": null}',
]


@pytest.mark.parametrize("text", REWARD_TIER_EXAMPLES)
def test_synth_accepts_exactly_the_reward_tiers_the_function_accepts(text: str) -> None:
    """The stack cannot import Lambda code, so it re-implements the check; both must agree."""
    from referrals.tiers import TierConfigError, parse_tiers

    try:
        parse_tiers(text)
        function_accepts = True
    except TierConfigError:
        function_accepts = False
    try:
        StackConfig.from_env({"REWARD_TIERS": text})
        synth_accepts = True
    except ConfigError:
        synth_accepts = False
    assert synth_accepts == function_accepts
