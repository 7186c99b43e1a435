"""StackConfig: defaults, accepted values and one clear message per bad value."""

import pytest

from stacks.config import ConfigError, StackConfig


def test_defaults_let_a_new_user_synth_with_local_state() -> None:
    config = StackConfig.from_env({})
    assert (config.environment_suffix, config.region, config.state_bucket) == ("dev", "us-east-1", None)
    assert config.default_tags == {"Environment": "dev", "Application": "ReferralManagement", "ManagedBy": "CDKTF"}
    assert config.deletion_protection is True
    assert config.log_retention_days == 30


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
