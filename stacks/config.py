"""Stack configuration: one frozen dataclass read from environment variables.

Validation happens here, before any construct exists, so a bad value stops synthesis with one
clear message (naming every bad variable at once) and nothing is written to cdktf.out.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from stacks.layers import INSIGHTS_LAYER_ARNS
from stacks.reward_tiers_setting import reward_tier_errors

# The suffix ends up in table, queue, topic, function, role and bucket names; S3 is the
# strictest (lowercase) and "payout-reports-<suffix>-" must fit bucket_prefix's 37 characters.
SUFFIX_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LOCAL_ENDPOINT_PATTERN = re.compile(r"^http://(127\.0\.0\.1|localhost):\d{2,5}$")
# An address SNS can send to: one @, no spaces or commas, a dot in the domain, labels not empty.
EMAIL_PATTERN = re.compile(r"^[^@\s,;]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
# A role of any partition, with an optional path (IAM's own character set for names and paths).
ROLE_ARN_PATTERN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})$")
MAX_LIST_ENTRIES = 10  # per list setting: each entry becomes a subscription or a policy principal
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
# The reward lifecycle's bounds, as the functions apply them (lambdas/referrals/lifecycle_settings.py;
# tests/unit/test_lifecycle_settings_agreement.py checks the two sides agree).
MAX_HOLD_DAYS = 365
MAX_BURST_PER_HOUR = 24  # the arrivals a referrer's signup queue remembers
QUALIFICATIONS = ("signup", "event")


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
    ops_alert_emails: tuple[str, ...] = ()  # e-mail subscriptions of the ops-alerts topic
    report_reader_role_arns: tuple[str, ...] = ()  # may download payout reports
    operator_role_arns: tuple[str, ...] = ()  # may read and redrive the DLQs and read the tables
    # The reward lifecycle (docs/lifecycle-design.md#settings), handed to the functions as canonical text.
    reward_hold_days: int = 0  # days from qualification until a reward may be paid
    reward_qualification: str = "signup"  # or "event": the host application reports the qualifying action
    review_shared_email: bool = True  # flag a referee whose e-mail is the referrer's or another user's
    review_burst_per_hour: int | None = None  # flag more referrals than this per referrer per hour; None: off
    # Local demo only: every AWS endpoint at this emulator URL, fake credentials, and the
    # features the emulator cannot host (public layers, WAF) left out.
    local_endpoint: str | None = None

    @property
    def shared_tags(self) -> dict[str, str]:
        return {"Application": "ReferralManagement", "ManagedBy": "CDKTF"}

    @property
    def default_tags(self) -> dict[str, str]:
        return {"Environment": self.environment_suffix, **self.shared_tags}

    @property
    def state_key(self) -> str:
        return f"{self.environment_suffix}/tap-stack.tfstate"

    @property
    def is_local(self) -> bool:
        return self.local_endpoint is not None

    @property
    def reward_lifecycle_environment(self) -> dict[str, str]:
        """The reward function's lifecycle variables, as lifecycle_settings.parse_lifecycle_settings reads them."""
        variables = {
            "REWARD_HOLD_DAYS": str(self.reward_hold_days),
            "REWARD_QUALIFICATION": self.reward_qualification,
            "REVIEW_SHARED_EMAIL": "true" if self.review_shared_email else "false",
        }
        if self.review_burst_per_hour is not None:  # unset is off
            variables["REVIEW_BURST_PER_HOUR"] = str(self.review_burst_per_hour)
        return variables

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
        hold_days = _bounded("REWARD_HOLD_DAYS", env.get("REWARD_HOLD_DAYS", "0"), 0, MAX_HOLD_DAYS, errors)
        burst_text = env.get("REVIEW_BURST_PER_HOUR", "")
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
            ops_alert_emails=_list("OPS_ALERT_EMAILS", env, _email_problem, errors),
            report_reader_role_arns=_list("REPORT_READER_ROLE_ARNS", env, _role_arn_problem, errors),
            operator_role_arns=_list("OPERATOR_ROLE_ARNS", env, _role_arn_problem, errors),
            reward_hold_days=0 if hold_days is None else hold_days,
            reward_qualification=_choice("REWARD_QUALIFICATION", env, QUALIFICATIONS, errors),
            review_shared_email=_boolean("REVIEW_SHARED_EMAIL", env, "true", errors),
            review_burst_per_hour=(
                _bounded("REVIEW_BURST_PER_HOUR", burst_text, 1, MAX_BURST_PER_HOUR, errors, unset="off")
                if burst_text.strip()
                else None
            ),
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


def _list(
    variable: str, env: Mapping[str, str], problem_of: Callable[[str], str | None], errors: list[str]
) -> tuple[str, ...]:
    """A comma-separated list: blanks around entries ignored, every entry valid, none twice."""
    text = env.get(variable, "")
    entries = tuple(entry.strip() for entry in text.split(",") if entry.strip())
    problems = [f"{entry!r} {problem}" for entry in entries if (problem := problem_of(entry))]
    repeated = sorted({entry for entry in entries if [e.lower() for e in entries].count(entry.lower()) > 1})
    if repeated:
        problems.append(f"lists {', '.join(repeated)} more than once")
    if len(entries) > MAX_LIST_ENTRIES:
        problems.append(f"has {len(entries)} entries; at most {MAX_LIST_ENTRIES} are allowed")
    if problems:
        errors.append(f"{variable}={text!r}: " + "; ".join(problems) + " (a comma-separated list)")
        return ()
    return entries


def _email_problem(entry: str) -> str | None:
    return None if EMAIL_PATTERN.match(entry) else "is not an e-mail address such as oncall@example.com"


def _role_arn_problem(entry: str) -> str | None:
    if ROLE_ARN_PATTERN.match(entry):
        return None
    return "is not an IAM role ARN such as arn:aws:iam::123456789012:role/finance-reports"


def role_arn_parts(role_arn: str) -> tuple[str, str]:
    """(account id, role name) of a role ARN that the configuration accepted."""
    match = ROLE_ARN_PATTERN.match(role_arn)
    if match is None:
        raise ValueError(f"{role_arn!r} is not an IAM role ARN")
    return match.group(1), match.group(2)


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


def _bounded(
    variable: str, text: str, minimum: int, maximum: int, errors: list[str], *, unset: str | None = None
) -> int | None:
    """A whole number from minimum to maximum, blanks around it ignored (blank: the minimum); None if not."""
    digits = text.strip() or str(minimum)
    value = int(digits) if digits.isascii() and digits.isdigit() else None
    if value is None or not minimum <= value <= maximum:
        hint = f" (leave it unset: {unset})" if unset else ""
        errors.append(f"{variable}={text!r} must be a whole number from {minimum} to {maximum}{hint}")
        return None
    return value


def _choice(variable: str, env: Mapping[str, str], choices: tuple[str, ...], errors: list[str]) -> str:
    """One of `choices` (the first is the default), case and blanks around it ignored."""
    text = env.get(variable, choices[0])
    value = text.strip().lower() or choices[0]
    if value not in choices:
        errors.append(f"{variable}={text!r} must be {' or '.join(choices)}")
        return choices[0]
    return value


def _retention(text: str, errors: list[str]) -> int:
    days = int(text) if text.strip().isdigit() else None
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
        errors.append(f"LOG_RETENTION_DAYS={text!r} is not a value CloudWatch Logs accepts: one of {allowed}")
        return 365
    return days
