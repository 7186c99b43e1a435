"""Stack configuration: one frozen dataclass read from environment variables.

Validation happens here, before any construct exists, so a bad value stops synthesis with one
clear message and nothing is written to cdktf.out.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stacks.layers import INSIGHTS_LAYER_ARNS

# The suffix ends up in table, queue, topic, function, role and bucket names; S3 is the
# strictest (lowercase) and "payout-reports-<suffix>-" must fit bucket_prefix's 37 characters.
SUFFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# The only values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
TRUE_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


class ConfigError(ValueError):
    """A configuration value that cannot be deployed; the message names the variable."""


@dataclass(frozen=True)
class StackConfig:
    environment_suffix: str = "dev"
    region: str = "us-east-1"
    state_bucket: str | None = None
    state_bucket_region: str = "us-east-1"
    deletion_protection: bool = True
    log_retention_days: int = 30

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
        deletion_protection = _boolean("DELETION_PROTECTION", env.get("DELETION_PROTECTION", "true"), errors)
        retention = _retention(env.get("LOG_RETENTION_DAYS", "30"), errors)
        if errors:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
        return cls(
            environment_suffix=suffix,
            region=region,
            state_bucket=state_bucket,
            state_bucket_region=state_bucket_region,
            deletion_protection=deletion_protection,
            log_retention_days=retention,
        )


def _region_errors(variable: str, region: str, needs_layers: bool) -> list[str]:
    if not REGION_PATTERN.match(region):
        return [f"{variable}={region!r} is not an AWS region name (expected e.g. us-east-1, eu-west-2)"]
    if needs_layers and region not in INSIGHTS_LAYER_ARNS:
        supported = ", ".join(sorted(INSIGHTS_LAYER_ARNS))
        return [f"{variable}={region!r} has no known Lambda Insights layer; supported regions: {supported}"]
    return []


def _boolean(variable: str, text: str, errors: list[str]) -> bool:
    value = TRUE_WORDS.get(text.strip().lower())
    if value is None:
        errors.append(f"{variable}={text!r} must be true or false")
        return True
    return value


def _retention(text: str, errors: list[str]) -> int:
    days = int(text) if text.strip().isdigit() else None
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
        errors.append(f"LOG_RETENTION_DAYS={text!r} is not a value CloudWatch Logs accepts: one of {allowed}")
        return 30
    return days
