"""Stack configuration: one frozen dataclass read from environment variables.

Validation happens here, before any construct exists, so a bad value stops synthesis with one
clear message (naming every bad variable at once) and nothing is written to cdktf.out.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stacks.layers import INSIGHTS_LAYER_ARNS
from stacks.reward_tiers_setting import reward_tier_errors

# The suffix ends up in table, queue, topic, function, role and bucket names; S3 is the
# strictest (lowercase) and "payout-reports-<suffix>-" must fit bucket_prefix's 37 characters.
SUFFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LOCAL_ENDPOINT_PATTERN = re.compile(r"^http://(127\.0\.0\.1|localhost):\d{2,5}$")
# The only values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# (default, minimum, maximum) of each whole-number setting; the bounds are what AWS accepts.
INTEGER_SETTINGS = {
    "API_RATE_LIMIT": (50, 1, 10_000),  # requests per second, stage and usage plan
    "API_BURST_LIMIT": (100, 1, 5_000),
    "API_QUOTA_PER_DAY": (10_000, 1, 100_000_000),  # requests per API key per day
    "WAF_RATE_LIMIT": (1_000, 10, 2_000_000_000),  # requests per client IP per 5 minutes
}


class ConfigError(ValueError):
    """A configuration value that cannot be deployed; the message names the variable."""


@dataclass(frozen=True)
class StackConfig:
    environment_suffix: str = "dev"
    region: str = "us-east-1"
    state_bucket: str | None = None
    state_bucket_region: str = "us-east-1"
    deletion_protection: bool = True
    log_retention_days: int = 365
    waf_enabled: bool = True
    api_rate_limit: int = 50
    api_burst_limit: int = 100
    api_quota_per_day: int = 10_000
    waf_rate_limit: int = 1_000
    reward_tiers: str | None = None  # JSON passed to the reward function as REWARD_TIERS
    # Local demo only: every AWS endpoint at this emulator URL, fake credentials, and the
    # features the emulator cannot host (public layers, WAF) left out.
    local_endpoint: str | None = None

    @property
    def default_tags(self) -> dict[str, str]:
        return {
            "Environment": self.environment_suffix,
            "Application": "ReferralManagement",
            "ManagedBy": "CDKTF",
        }

    @property
    def state_key(self) -> str:
        return f"{self.environment_suffix}/tap-stack.tfstate"

    @property
    def is_local(self) -> bool:
        return self.local_endpoint is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "StackConfig":
        errors: list[str] = []
        suffix = env.get("ENVIRONMENT_SUFFIX", "dev")
        if not SUFFIX_PATTERN.match(suffix):
            errors.append(
                f"ENVIRONMENT_SUFFIX={suffix!r} is not allowed: use 1-20 lowercase letters, digits "
                "or hyphens, starting and ending with a letter or digit (it becomes part of "
                "resource names such as referral-tracking-<suffix>)"
            )
        region = env.get("AWS_REGION", "us-east-1")
        errors += _region_errors("AWS_REGION", region, needs_layers=True)
        state_bucket = env.get("STATE_BUCKET") or None
        if state_bucket is not None and not BUCKET_PATTERN.match(state_bucket):
            errors.append(
                f"STATE_BUCKET={state_bucket!r} is not a valid S3 bucket name: 3-63 lowercase "
                "letters, digits, dots or hyphens, starting and ending with a letter or digit"
            )
        state_bucket_region = env.get("STATE_BUCKET_REGION") or region
        errors += _region_errors("STATE_BUCKET_REGION", state_bucket_region, needs_layers=False)
        local_endpoint = env.get("LOCAL_AWS_ENDPOINT") or None
        if local_endpoint is not None and not LOCAL_ENDPOINT_PATTERN.match(local_endpoint):
            errors.append(
                f"LOCAL_AWS_ENDPOINT={local_endpoint!r} must be an emulator on this machine, "
                "such as http://127.0.0.1:5000"
            )
        integers = {name: _integer(name, env, errors) for name in INTEGER_SETTINGS}
        if integers["API_BURST_LIMIT"] < integers["API_RATE_LIMIT"]:
            errors.append(
                f"API_BURST_LIMIT={integers['API_BURST_LIMIT']} must be at least "
                f"API_RATE_LIMIT={integers['API_RATE_LIMIT']} (a burst smaller than the rate throttles every second)"
            )
        reward_tiers = env.get("REWARD_TIERS") or None
        if reward_tiers is not None:
            errors += reward_tier_errors(reward_tiers)
        config = cls(
            environment_suffix=suffix,
            region=region,
            state_bucket=state_bucket,
            state_bucket_region=state_bucket_region,
            deletion_protection=_boolean("DELETION_PROTECTION", env, "true", errors),
            log_retention_days=_retention(env.get("LOG_RETENTION_DAYS", "365"), errors),
            waf_enabled=_boolean("WAF_ENABLED", env, "true", errors),
            api_rate_limit=integers["API_RATE_LIMIT"],
            api_burst_limit=integers["API_BURST_LIMIT"],
            api_quota_per_day=integers["API_QUOTA_PER_DAY"],
            waf_rate_limit=integers["WAF_RATE_LIMIT"],
            reward_tiers=reward_tiers,
            local_endpoint=local_endpoint,
        )
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
        return config


def _region_errors(variable: str, region: str, needs_layers: bool) -> list[str]:
    if not REGION_PATTERN.match(region):
        return [f"{variable}={region!r} is not an AWS region name (expected e.g. us-east-1, eu-west-2)"]
    if needs_layers and region not in INSIGHTS_LAYER_ARNS:
        supported = ", ".join(sorted(INSIGHTS_LAYER_ARNS))
        return [f"{variable}={region!r} has no known Lambda Insights layer; supported regions: {supported}"]
    return []


def _boolean(variable: str, env: Mapping[str, str], default: str, errors: list[str]) -> bool:
    text = env.get(variable, default)
    value = TRUE_WORDS.get(text.strip().lower())
    if value is None:
        errors.append(f"{variable}={text!r} must be true or false")
        return True
    return value


def _integer(variable: str, env: Mapping[str, str], errors: list[str]) -> int:
    default, minimum, maximum = INTEGER_SETTINGS[variable]
    text = env.get(variable, str(default))
    value = int(text) if text.strip().isdigit() else None
    if value is None or not minimum <= value <= maximum:
        errors.append(f"{variable}={text!r} must be a whole number from {minimum} to {maximum}")
        return default
    return value


def _retention(text: str, errors: list[str]) -> int:
    days = int(text) if text.strip().isdigit() else None
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
        errors.append(f"LOG_RETENTION_DAYS={text!r} is not a value CloudWatch Logs accepts: one of {allowed}")
        return 365
    return days
